#include "audit_chain.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "nauto/bus/body.h"

namespace nauto::mod::audit {

using nlohmann::json;

namespace {

constexpr const char* kAnchorKey = "anchor";
constexpr std::size_t kScanPage = 4096;

// msgpack: a binary of `size` bytes, bin 8/16/32 by size.
void put_binary(std::string& out, std::string_view bytes) {
  const auto size = bytes.size();
  if (size <= 0xff) {
    out += static_cast<char>(0xc4);
    out += static_cast<char>(size);
  } else if (size <= 0xffff) {
    out += static_cast<char>(0xc5);
    out += static_cast<char>(size >> 8);
    out += static_cast<char>(size & 0xff);
  } else {
    out += static_cast<char>(0xc6);
    for (int shift = 24; shift >= 0; shift -= 8)
      out += static_cast<char>((size >> shift) & 0xff);
  }
  out += bytes;
}

// Reads one msgpack binary at `at`; advances it.
std::optional<std::string_view> get_binary(std::string_view value, std::size_t& at) {
  if (at >= value.size()) return std::nullopt;
  const auto tag = static_cast<std::uint8_t>(value[at]);
  const std::size_t width = tag == 0xc4 ? 1 : tag == 0xc5 ? 2 : tag == 0xc6 ? 4 : 0;
  if (width == 0 || at + 1 + width > value.size()) return std::nullopt;
  std::size_t size = 0;
  for (std::size_t i = 0; i < width; ++i)
    size = (size << 8) | static_cast<std::uint8_t>(value[at + 1 + i]);
  at += 1 + width;
  if (size > value.size() - at) return std::nullopt;
  auto bytes = value.substr(at, size);
  at += size;
  return bytes;
}

std::string_view bytes_of(const Hash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

Hash hash_of(std::string_view bytes) {
  Hash hash{};
  if (bytes.size() == hash.size()) std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

}  // namespace

std::string seq_key(std::uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8)
    key[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
  return key;
}

std::optional<std::uint64_t> seq_of_key(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  std::uint64_t seq = 0;
  for (char c : key)
    seq = (seq << 8) | static_cast<std::uint8_t>(c);
  return seq;
}

std::string hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

std::string hex(const Hash& hash) {
  return hex(hash.data(), hash.size());
}

std::optional<std::vector<std::uint8_t>> bytes_from_hex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<std::uint8_t>(high * 16 + low));
  }
  return bytes;
}

std::optional<Hash> hash_from_hex(std::string_view text) {
  const auto bytes = bytes_from_hex(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Hash hash{};
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

Hash link_hash(std::string_view prev, std::string_view key, std::string_view record) {
  // One context per thread: verify() hashes a million records.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                               EVP_MD_CTX_free);
  Hash hash{};
  unsigned int size = 0;
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(context.get(), prev.data(), prev.size());
  EVP_DigestUpdate(context.get(), key.data(), key.size());
  EVP_DigestUpdate(context.get(), record.data(), record.size());
  EVP_DigestFinal_ex(context.get(), hash.data(), &size);
  return hash;
}

std::string encode_link(std::uint64_t seq, const Hash& prev, const json& record, Hash& hash) {
  const auto record_bytes = bus::to_body(record);
  hash = link_hash(bytes_of(prev), seq_key(seq), record_bytes);
  std::string value;
  value.reserve(record_bytes.size() + 72);
  value += static_cast<char>(0x93);  // fixarray of 3
  put_binary(value, bytes_of(prev));
  put_binary(value, bytes_of(hash));
  put_binary(value, record_bytes);
  return value;
}

std::optional<Link> decode_link(std::string_view value) {
  if (value.empty() || static_cast<std::uint8_t>(value[0]) != 0x93) return std::nullopt;
  std::size_t at = 1;
  auto prev = get_binary(value, at);
  auto hash = get_binary(value, at);
  auto record = get_binary(value, at);
  if (!prev || !hash || !record || prev->size() != 32 || hash->size() != 32 || at != value.size())
    return std::nullopt;
  return Link{*prev, *hash, *record};
}

std::optional<StoredRecord> read_record(std::string_view value) {
  const auto link = decode_link(value);
  if (!link) return std::nullopt;
  auto record = bus::from_body(link->record);
  if (!record || !record->is_object()) return std::nullopt;
  return StoredRecord{std::move(*record), hash_of(link->hash), hash_of(link->prev)};
}

Result<Anchor> read_anchor(const store::Store& store) {
  auto stored = store.get(kMetaTable, kAnchorKey);
  if (!stored) return std::move(stored).error();
  Anchor anchor;
  if (!*stored) return anchor;
  auto document = bus::from_body(**stored);
  if (!document || !document->is_object())
    return fail(Errc::Malformed, "the audit chain's anchor is unreadable");
  const auto hash = hash_from_hex(document->value("hash", ""));
  if (!hash) return fail(Errc::Malformed, "the audit chain's anchor has no hash");
  anchor.seq = document->value("seq", std::uint64_t{0});
  anchor.hash = *hash;
  return anchor;
}

json to_json(const Anchor& anchor) {
  return json{{"seq", anchor.seq}, {"hash", hex(anchor.hash)}};
}

Result<Anchor> read_tail(const store::Store& store) {
  store::ScanOptions last;
  last.reverse = true;
  last.limit = 1;
  auto found = store.scan(kRecordsTable, last);
  if (!found) return std::move(found).error();
  if (found->empty()) return read_anchor(store);
  const auto& [key, value] = found->front();
  const auto seq = seq_of_key(key);
  const auto link = decode_link(value);
  if (!seq || !link) return fail(Errc::Malformed, "the audit chain's last record is unreadable");
  return Anchor{*seq, hash_of(link->hash)};
}

json Verdict::to_json() const {
  json out = {{"ok", ok}, {"records", records}, {"heads", heads}, {"last_seq", last_seq}};
  if (!ok) {
    out["first_bad"] = first_bad;
    out["problem"] = problem;
  }
  return out;
}

Result<Verdict> verify(const store::Store& store, const HeadCheck& check_head,
                       std::uint64_t until_seq, std::int64_t started_us) {
  auto anchor = read_anchor(store);
  if (!anchor) return std::move(anchor).error();
  Verdict verdict;
  auto bad = [&verdict](std::uint64_t seq, std::string problem) {
    verdict.ok = false;
    verdict.first_bad = seq;
    verdict.problem = std::move(problem);
    return verdict;
  };
  std::uint64_t expected = anchor->seq + 1;
  Hash prev = anchor->hash;
  store::ScanOptions scan;
  scan.limit = kScanPage;
  scan.until = seq_key(until_seq + 1);
  for (;;) {
    auto page = store.scan(kRecordsTable, scan);
    if (!page) return std::move(page).error();
    for (const auto& [key, value] : *page) {
      const auto seq = seq_of_key(key);
      if (!seq) return bad(expected, "a key that is not a sequence number");
      if (*seq < expected)
        return bad(*seq, "record " + std::to_string(*seq) + " is older than the chain's anchor " +
                             std::to_string(anchor->seq) + ": put back after retention");
      if (*seq > expected)
        return bad(expected, "record " + std::to_string(expected) + " is missing (the next is " +
                                 std::to_string(*seq) + ")");
      const auto link = decode_link(value);
      if (!link) return bad(*seq, "the stored record is not a chain link");
      if (link->prev != bytes_of(prev))
        return bad(*seq, "its previous hash is not the hash of record " + std::to_string(*seq - 1) +
                             " (removed, replaced or reordered)");
      if (bytes_of(link_hash(link->prev, key, link->record)) != link->hash)
        return bad(*seq, "its content does not match its hash (edited)");
      prev = hash_of(link->hash);
      ++verdict.records;
      verdict.last_seq = *seq;
      ++expected;
    }
    if (page->size() < scan.limit) break;
    scan.from = seq_key(expected);
  }
  // The signed heads: the chain must still have, at each head's seq, the hash that was signed
  // then, and the signature must be good.
  store::ScanOptions heads;
  heads.limit = kScanPage;
  for (;;) {
    auto page = store.scan(kHeadsTable, heads);
    if (!page) return std::move(page).error();
    for (const auto& [key, value] : *page) {
      const auto seq = seq_of_key(key);
      auto head = bus::from_body(value);
      if (!seq || !head || !head->is_object()) return bad(0, "an unreadable signed head");
      if (*seq <= anchor->seq) continue;  // its record went with retention
      if (head->value("time_us", std::int64_t{0}) > started_us) continue;  // signed since
      const auto at = "record " + std::to_string(*seq);
      const auto hash = hash_from_hex(head->value("hash", ""));
      if (!hash) return bad(*seq, "the head signed at " + at + " has no hash");
      if (*seq > verdict.last_seq)
        return bad(verdict.last_seq + 1, "a head was signed at " + at + " but the chain ends at " +
                                             std::to_string(verdict.last_seq) + " (truncated)");
      auto stored = store.get(kRecordsTable, key);
      if (!stored) return std::move(stored).error();
      const auto link = *stored ? decode_link(**stored) : std::nullopt;
      if (!link || link->hash != bytes_of(*hash))
        return bad(*seq, "the chain's hash at " + at +
                             " is not the one signed then (the chain was rewritten)");
      if (check_head && !check_head(*seq, *hash, head->value("signature", "")))
        return bad(*seq, "the head signed at " + at + " does not carry a valid signature");
      ++verdict.heads;
    }
    if (page->size() < heads.limit) break;
    heads.from = page->back().first + std::string(1, '\0');
  }
  return verdict;
}

}  // namespace nauto::mod::audit
