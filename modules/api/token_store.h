#pragma once
// TokenStore: the API's tokens (issue 31). A token is `nat_<id>_<secret>`: the id (16 hex
// digits) names it in lists and revocation; the secret (32 random bytes, base64url) is shown
// once, at creation, and kept only as its SHA-256, compared in constant time. A token acts as
// its principal with its roles until it expires or is revoked; each use is remembered (when,
// from where) and written back in batches, not per request.
//
// The module persists what changes (dirty()) in its store table `api_tokens`, id -> record;
// records of tokens expired or revoked more than `keep_ended` ago are dropped (retention).
//
// Thread: the module's only.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::api {

struct TokenRecord {
  std::string id;
  std::string principal;
  std::vector<std::string> roles;
  std::string note;
  std::string digest;  ///< SHA-256 of the secret, hex
  std::string created_by;
  std::int64_t created_us = 0;
  std::int64_t expires_us = 0;
  std::int64_t last_used_us = 0;
  std::string last_address;
  std::int64_t revoked_us = 0;
  std::string revoked_by;

  /// active, expired or revoked at `now_us`.
  std::string state(std::int64_t now_us) const;
  /// For the store (with the digest) or for a list (without).
  nlohmann::json to_json(bool with_digest) const;
  static Result<TokenRecord> from_json(const nlohmann::json& record);
};

/// A token that verified: who it acts as.
struct TokenHolder {
  std::string id;
  std::string principal;
  std::vector<std::string> roles;
};

class TokenStore {
 public:
  static constexpr std::int64_t kMaxLifetimeMs = 366LL * 86'400'000;

  /// Records read back from the store (id, decoded record); a record that does not read is
  /// skipped and named in the answer.
  std::vector<std::string> load(const std::vector<std::pair<std::string, nlohmann::json>>& rows);

  /// A new token; the whole token (with its secret) is the second of the pair, never kept.
  /// invalid_argument for a principal that is not a plain name or a lifetime out of range.
  Result<std::pair<TokenRecord, std::string>> create(const std::string& principal,
                                                     const std::vector<std::string>& roles,
                                                     std::int64_t lifetime_ms,
                                                     const std::string& note, const std::string& by,
                                                     std::int64_t now_us);
  /// The holder of `token` if it is known, active and its secret matches; unauthenticated
  /// otherwise, with a message that does not say which part failed beyond what the caller
  /// already knows (an expired or revoked token says so: its id is not a secret).
  Result<TokenHolder> verify(std::string_view token, const std::string& address,
                             std::int64_t now_us);
  /// The holder of the token with this id (a browser session's), unauthenticated once it is no
  /// longer active (expired, revoked or gone).
  Result<TokenHolder> holder(const std::string& id, std::int64_t now_us) const;
  /// not_found for an unknown id; a revoked token stays revoked (its first revocation is kept).
  Result<TokenRecord> revoke(const std::string& id, const std::string& by, std::int64_t now_us);
  /// Newest first; only active ones unless `all`.
  std::vector<TokenRecord> list(bool all, std::int64_t now_us) const;

  /// Records changed since the last call (created, revoked, used), for writing.
  std::vector<TokenRecord> take_dirty();
  /// Drops records that ended (expired or revoked) before `before_us`; returns their ids.
  std::vector<std::string> drop_ended_before(std::int64_t before_us);
  std::size_t size() const { return tokens_.size(); }

 private:
  std::map<std::string, TokenRecord> tokens_;
  std::set<std::string> dirty_;
};

}  // namespace nauto::api
