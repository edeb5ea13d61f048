#include "token_store.h"

#include <algorithm>

#include "nauto/base/digest.h"

namespace nauto::api {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "nat_";
constexpr std::size_t kIdHexDigits = 16;

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  return out;
}

bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

}  // namespace

std::string TokenRecord::state(std::int64_t now_us) const {
  if (revoked_us != 0) return "revoked";
  if (expires_us <= now_us) return "expired";
  return "active";
}

json TokenRecord::to_json(bool with_digest) const {
  json out = {{"id", id},
              {"principal", principal},
              {"roles", roles},
              {"note", note},
              {"created_by", created_by},
              {"created_us", created_us},
              {"expires_us", expires_us},
              {"last_used_us", last_used_us},
              {"last_address", last_address},
              {"revoked_us", revoked_us},
              {"revoked_by", revoked_by}};
  if (with_digest) out["digest"] = digest;
  return out;
}

Result<TokenRecord> TokenRecord::from_json(const json& record) {
  try {
    TokenRecord out;
    out.id = record.at("id").get<std::string>();
    out.principal = record.at("principal").get<std::string>();
    out.roles = record.at("roles").get<std::vector<std::string>>();
    out.note = record.value("note", "");
    out.digest = record.at("digest").get<std::string>();
    out.created_by = record.value("created_by", "");
    out.created_us = record.value("created_us", std::int64_t{0});
    out.expires_us = record.at("expires_us").get<std::int64_t>();
    out.last_used_us = record.value("last_used_us", std::int64_t{0});
    out.last_address = record.value("last_address", "");
    out.revoked_us = record.value("revoked_us", std::int64_t{0});
    out.revoked_by = record.value("revoked_by", "");
    return out;
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("a token record does not read: ") + e.what());
  }
}

std::vector<std::string> TokenStore::load(const std::vector<std::pair<std::string, json>>& rows) {
  std::vector<std::string> problems;
  for (const auto& [key, stored] : rows) {
    auto record = TokenRecord::from_json(stored);
    if (!record || record->id != key) {
      problems.push_back("token " + key + ": " +
                         (record ? std::string("its id differs") : record.error().message));
      continue;
    }
    tokens_[key] = std::move(*record);
  }
  return problems;
}

Result<std::pair<TokenRecord, std::string>> TokenStore::create(
    const std::string& principal, const std::vector<std::string>& roles, std::int64_t lifetime_ms,
    const std::string& note, const std::string& by, std::int64_t now_us) {
  if (!plain_name(principal))
    return fail(Errc::InvalidArgument,
                "principal '" + principal.substr(0, 80) +
                    "' must be 1 to 64 letters, digits, '.', '_', '-' or '@'",
                "principal");
  if (roles.empty())
    return fail(Errc::InvalidArgument, "give the token at least one role", "roles");
  if (lifetime_ms <= 0 || lifetime_ms > kMaxLifetimeMs)
    return fail(Errc::InvalidArgument, "expires must be more than 0 and at most 366d", "expires");
  if (note.size() > 200)
    return fail(Errc::InvalidArgument, "note is at most 200 characters", "note");
  TokenRecord record;
  for (int attempt = 0; attempt < 4 && record.id.empty(); ++attempt) {
    auto id = random_hex(kIdHexDigits / 2);
    if (!id) return std::move(id).error();
    if (!tokens_.contains(*id)) record.id = *id;
  }
  if (record.id.empty()) return fail(Errc::Bug, "no free token id after 4 tries");
  auto secret_bytes = random_bytes(32);
  if (!secret_bytes) return std::move(secret_bytes).error();
  const auto secret = base64url(*secret_bytes);
  record.principal = principal;
  record.roles = roles;
  record.note = note;
  record.digest = sha256_hex(secret);
  record.created_by = by;
  record.created_us = now_us;
  record.expires_us = now_us + lifetime_ms * 1000;
  tokens_[record.id] = record;
  dirty_.insert(record.id);
  std::string token = std::string(kPrefix) + record.id + "_" + secret;
  return std::pair{std::move(record), std::move(token)};
}

Result<TokenHolder> TokenStore::verify(std::string_view token, const std::string& address,
                                       std::int64_t now_us) {
  auto refused = [](const std::string& why) { return fail(Errc::Unauthenticated, why); };
  if (!token.starts_with(kPrefix) || token.size() < kPrefix.size() + kIdHexDigits + 2 ||
      token[kPrefix.size() + kIdHexDigits] != '_')
    return refused("the token is not an API token (nat_<id>_<secret>)");
  const std::string id(token.substr(kPrefix.size(), kIdHexDigits));
  const auto secret = token.substr(kPrefix.size() + kIdHexDigits + 1);
  auto found = tokens_.find(id);
  // The digest is compared even when the id is unknown, so timing tells nothing of which ids
  // exist.
  const auto digest = sha256_hex(secret);
  const std::string none(64, '0');
  const bool matches =
      equal_in_constant_time(digest, found != tokens_.end() ? found->second.digest : none);
  if (found == tokens_.end() || !matches) return refused("unknown token");
  auto& record = found->second;
  if (record.revoked_us != 0) return refused("token " + id + " was revoked");
  if (record.expires_us <= now_us) return refused("token " + id + " has expired");
  // Remembered at most once a minute per token (and per address change), so a busy client
  // does not write on every request.
  if (now_us - record.last_used_us > 60'000'000 || record.last_address != address) {
    record.last_used_us = now_us;
    record.last_address = address;
    dirty_.insert(id);
  }
  return TokenHolder{id, record.principal, record.roles};
}

Result<TokenHolder> TokenStore::holder(const std::string& id, std::int64_t now_us) const {
  auto found = tokens_.find(id);
  if (found == tokens_.end() || found->second.state(now_us) != "active")
    return fail(Errc::Unauthenticated, "the token has ended");
  return TokenHolder{id, found->second.principal, found->second.roles};
}

Result<TokenRecord> TokenStore::revoke(const std::string& id, const std::string& by,
                                       std::int64_t now_us) {
  auto found = tokens_.find(id);
  if (found == tokens_.end())
    return fail(Errc::NotFound, "no token " + id.substr(0, 40) + " (`nauto token list --all`)",
                "id");
  if (found->second.revoked_us == 0) {
    found->second.revoked_us = now_us;
    found->second.revoked_by = by;
    dirty_.insert(id);
  }
  return found->second;
}

std::vector<TokenRecord> TokenStore::list(bool all, std::int64_t now_us) const {
  std::vector<TokenRecord> out;
  for (const auto& [id, record] : tokens_)
    if (all || record.state(now_us) == "active") out.push_back(record);
  std::sort(out.begin(), out.end(), [](const TokenRecord& a, const TokenRecord& b) {
    return a.created_us != b.created_us ? a.created_us > b.created_us : a.id < b.id;
  });
  return out;
}

std::vector<TokenRecord> TokenStore::take_dirty() {
  std::vector<TokenRecord> out;
  for (const auto& id : dirty_)
    if (auto found = tokens_.find(id); found != tokens_.end()) out.push_back(found->second);
  dirty_.clear();
  return out;
}

std::vector<std::string> TokenStore::drop_ended_before(std::int64_t before_us) {
  std::vector<std::string> dropped;
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    const auto& record = it->second;
    const auto ended = record.revoked_us != 0 ? record.revoked_us : record.expires_us;
    if (ended < before_us) {
      dropped.push_back(it->first);
      dirty_.erase(it->first);
      it = tokens_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace nauto::api
