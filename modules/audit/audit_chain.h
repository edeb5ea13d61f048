#pragma once
// The audit trail as a hash chain in the store's `audit` table (issue 30).
//
// Each record is kept under its sequence number (8 bytes, big-endian, from 1) as a msgpack
// array of three binaries: [prev, hash, record], where `record` is the msgpack map of the
// record's fields and
//     hash = SHA-256(prev || key || record),   prev = the previous record's hash
// (32 zero bytes before the first record, or the anchor's hash after retention removed the
// oldest: `audit_meta` keeps {seq, hash} of the last record removed). Any edited, removed,
// inserted or reordered record breaks the chain at or after it; verify() walks it from the
// anchor and names the first record that does not fit. A tamperer who rewrites every hash
// after an edit is caught by the signed heads (audit_signer.h): the hash the chain had at a
// signed seq no longer matches.
//
// Thread: any; the functions read the store and compute, they hold no state.

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/store/store.h"

namespace nauto::mod::audit {

inline constexpr const char* kRecordsTable = "audit";
inline constexpr const char* kHeadsTable = "audit_heads";
inline constexpr const char* kMetaTable = "audit_meta";

using Hash = std::array<std::uint8_t, 32>;

std::string seq_key(std::uint64_t seq);
std::optional<std::uint64_t> seq_of_key(std::string_view key);
std::string hex(const std::uint8_t* bytes, std::size_t size);
std::string hex(const Hash& hash);
/// Lower-case hex digits back into bytes; nullopt for an odd length or a non-digit.
std::optional<std::vector<std::uint8_t>> bytes_from_hex(std::string_view text);
std::optional<Hash> hash_from_hex(std::string_view text);

/// The stored value of record `seq` after `prev`; `hash` receives its hash.
std::string encode_link(std::uint64_t seq, const Hash& prev, const nlohmann::json& record,
                        Hash& hash);

/// A stored value split into its parts (views into `value`); nullopt when it is not the
/// three-binary array.
struct Link {
  std::string_view prev;
  std::string_view hash;
  std::string_view record;  ///< msgpack map bytes
};
std::optional<Link> decode_link(std::string_view value);

/// A stored value read whole: the record's fields, its hash and the previous one's; nullopt
/// when it is not a link or its record is not a msgpack map.
struct StoredRecord {
  nlohmann::json record;
  Hash hash{};
  Hash prev{};
};
std::optional<StoredRecord> read_record(std::string_view value);

/// The hash a record should have.
Hash link_hash(std::string_view prev, std::string_view key, std::string_view record);

/// Where the chain starts: the last record retention removed ({0, zeros} when none was).
struct Anchor {
  std::uint64_t seq = 0;
  Hash hash{};
};
Result<Anchor> read_anchor(const store::Store& store);
nlohmann::json to_json(const Anchor& anchor);

/// The end of the chain: its last seq and hash (the anchor's when the chain is empty).
Result<Anchor> read_tail(const store::Store& store);

struct Verdict {
  bool ok = true;
  std::uint64_t records = 0;    ///< records checked
  std::uint64_t heads = 0;      ///< signed heads checked
  std::uint64_t first_bad = 0;  ///< the first record that does not fit (0: none)
  std::string problem;          ///< what is wrong with it
  std::uint64_t last_seq = 0;
  nlohmann::json to_json() const;
};

/// Checks a signed head: whether `signature` signs (seq, hash). Supplied by the signer.
using HeadCheck = std::function<bool(std::uint64_t seq, const Hash& hash, std::string_view sig)>;

/// Walks the chain from the anchor, then the signed heads (each must match the chain's hash at
/// its seq, and be signed, when `check_head` is given). Records appended while it runs are
/// left for the next verify: it stops after `until_seq` (the tail when it began) and ignores
/// heads signed after `started_us`.
Result<Verdict> verify(const store::Store& store, const HeadCheck& check_head,
                       std::uint64_t until_seq, std::int64_t started_us);

}  // namespace nauto::mod::audit
