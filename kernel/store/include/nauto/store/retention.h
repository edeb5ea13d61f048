#pragma once
// Retention for the store's time-ordered tables (the journal, runs and run steps, jobs and job
// results): their keys sort oldest first, so a sweep is one erase_before() per table and what it
// keeps is everything from one key on.
//
// Each table is kept by age, by entry count and by bytes; any limit left at 0 does not apply.
// Thread-safe (the store's reads are).

#include <cstdint>
#include <string>

#include "nauto/store/store.h"

namespace nauto::store {

struct Retention {
  std::int64_t max_age_us = 0;    ///< entries older than this go; 0: no age limit
  std::uint64_t max_entries = 0;  ///< beyond this many, the oldest go; 0: no limit
  std::uint64_t max_bytes = 0;    ///< beyond this many bytes of pages, the oldest go; 0: none
};

/// The first key a sweep of `table` keeps: the largest of `age_cutoff` (the first key young
/// enough; "" when there is no age limit), the key after the oldest entries beyond max_entries,
/// and the key after the oldest share of entries that brings the table under max_bytes
/// (estimated from the average entry: bytes are pages, not exact). "" keeps everything.
Result<std::string> first_key_kept(const Store& store, const std::string& table,
                                   const Retention& retention, std::string age_cutoff);

/// A fresh id that sorts by creation time, e.g. 20261122T101500.123-3f2a1c (runs, jobs).
std::string new_time_ordered_id();
/// Every id made before `time_us` sorts below this prefix; every id made at or after it not.
std::string time_ordered_id_prefix(std::int64_t time_us);

/// Retention for a record table keyed by time-ordered ids (`records`: id -> record) and the
/// table of its parts (`parts`: "<id>/..." -> part), swept together so no part outlives its
/// record: records by `records_kept` (age, count, bytes), parts by `parts_max_bytes`, never
/// reaching `keep_from` (the oldest id still in use; "" when none is). Records go whole: the
/// record whose parts straddle the byte limit is kept with all of them, so the newest record
/// stays even when its parts alone are over it. Durable when it returns. Returns how many
/// records went.
Result<std::uint64_t> sweep_records(Store& store, const std::string& records,
                                    const std::string& parts, const Retention& records_kept,
                                    std::uint64_t parts_max_bytes, std::int64_t now_us,
                                    const std::string& keep_from);

}  // namespace nauto::store
