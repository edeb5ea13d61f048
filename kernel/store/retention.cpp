#include "nauto/store/retention.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

#include "nauto/base/clock.h"

namespace nauto::store {

Result<std::string> first_key_kept(const Store& store, const std::string& table,
                                   const Retention& retention, std::string age_cutoff) {
  std::string cutoff = retention.max_age_us > 0 ? std::move(age_cutoff) : std::string();
  if (retention.max_entries == 0 && retention.max_bytes == 0) return cutoff;
  auto size = store.size(table);
  if (!size) return std::move(size).error();
  std::uint64_t drop = 0;
  if (retention.max_entries > 0 && size->entries > retention.max_entries)
    drop = size->entries - retention.max_entries;
  if (retention.max_bytes > 0 && size->bytes > retention.max_bytes && size->entries > 0) {
    // The share of entries over the limit, rounded up: one sweep brings the table under it
    // when entries are of even size, and the next sweep finishes the job when they are not.
    const long double over = static_cast<long double>(size->bytes - retention.max_bytes) /
                             static_cast<long double>(size->bytes);
    const auto share = static_cast<std::uint64_t>(over * size->entries) + 1;
    drop = std::max(drop, std::min(share, size->entries));
  }
  if (drop == 0) return cutoff;
  auto first_kept = store.nth_key(table, drop);
  if (!first_kept) return std::move(first_kept).error();
  if (*first_kept) return std::max(cutoff, std::move(**first_kept));
  // Past the end: every entry goes. A key above all others is any key that extends the last.
  ScanOptions newest;
  newest.reverse = true;
  newest.limit = 1;
  auto last = store.scan(table, newest);
  if (!last) return std::move(last).error();
  return std::max(cutoff, (last->empty() ? std::string() : last->front().first) + '\xff');
}

std::string time_ordered_id_prefix(std::int64_t time_us) {
  if (time_us < 0) time_us = 0;
  const std::time_t seconds = time_us / 1000000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  char id[48];
  std::snprintf(id, sizeof id, "%s.%03d", stamp, static_cast<int>(time_us / 1000 % 1000));
  return id;
}

std::string new_time_ordered_id() {
  thread_local std::mt19937 random{std::random_device{}()};
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-%06x", static_cast<unsigned>(random() & 0xffffff));
  return time_ordered_id_prefix(now_us()) + suffix;
}

Result<std::uint64_t> sweep_records(Store& store, const std::string& records,
                                    const std::string& parts, const Retention& records_kept,
                                    std::uint64_t parts_max_bytes, std::int64_t now_us,
                                    const std::string& keep_from) {
  auto cutoff = first_key_kept(store, records, records_kept,
                               time_ordered_id_prefix(now_us - records_kept.max_age_us));
  if (!cutoff) return std::move(cutoff).error();
  auto parts_cutoff = first_key_kept(store, parts, Retention{0, 0, parts_max_bytes}, "");
  if (!parts_cutoff) return std::move(parts_cutoff).error();
  // A part's key starts with its record's id: the cutoff is that id, so the record and all of
  // its parts are kept together.
  *cutoff = std::max(*cutoff, parts_cutoff->substr(0, parts_cutoff->find('/')));
  if (!keep_from.empty()) *cutoff = std::min(*cutoff, keep_from);
  if (cutoff->empty()) return std::uint64_t{0};
  auto before = store.count(records);
  if (!before) return std::move(before).error();
  WriteBatch batch;
  batch.erase_before(records, *cutoff);
  batch.erase_before(parts, *cutoff);
  if (auto written = store.write_and_wait(std::move(batch)); !written)
    return std::move(written).error();
  auto after = store.count(records);
  if (!after) return std::move(after).error();
  return *before - std::min(*before, *after);
}

}  // namespace nauto::store
