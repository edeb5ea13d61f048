#pragma once
// SampleStore: recent samples of every series (a metric of a device, with labels) in the store,
// raw and downsampled, with retention.
//
// Layout (store tables):
//   telemetry_series  series text -> {id, metric, device, labels, last_ms}
//   telemetry_raw     id (8 bytes) + chunk start (8 bytes, ms) -> msgpack [t, v, t, v, ...]
//                     (t in ms after the chunk start); a chunk is `raw_chunk` long (10 min)
//   telemetry_rollup  id + chunk start -> msgpack [t, min, max, sum, count, last, ...], one
//                     entry per `rollup_step` (5 min) bucket; a chunk is `rollup_chunk` (2 h)
// Each chunk is written once, when it closes (without waiting; queries read the chunk closed
// last from memory until the next closes, `raw_chunk` later, long after its commit) (and every open
// one at flush_all(), the module's stop), so a sample costs one store write in a batch of a chunk's
// worth, not one each. The open chunks live in memory and queries see them; a crash (kill -9) loses
// what they held — at most `raw_chunk` of raw samples. The first sample of a series after a restart
// reads its open chunks back (as flush_all() left them), or rebuilds the rollup chunk from the raw
// chunks stored when a crash left none. Retention (apply_retention, once a raw chunk, at least
// hourly): raw chunks older than `raw_keep` (24 h), rollup chunks older than `rollup_keep`
// (30 d), and series silent for `rollup_keep` go. Thread: one, the module's. Writes go through
// the store's group commit without waiting.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/store/store.h"
#include "snmp_metrics.h"

namespace nauto::telemetry {

struct SampleRetention {
  std::int64_t raw_keep_ms = 24LL * 3600 * 1000;
  std::int64_t raw_chunk_ms = 10LL * 60 * 1000;
  std::int64_t rollup_step_ms = 5LL * 60 * 1000;
  std::int64_t rollup_chunk_ms = 2LL * 3600 * 1000;
  std::int64_t rollup_keep_ms = 30LL * 24 * 3600 * 1000;
};

/// Errc::InvalidConfig when chunks and steps do not nest (a raw chunk must be a whole number of
/// rollup steps, a rollup chunk a whole number of raw chunks).
Result<void> validate_retention(const SampleRetention& retention);

struct SeriesKey {
  std::string metric;
  std::string device;
  Labels labels;
  /// "metric\x1fdevice\x1fk=v\x1ek=v": sorts by metric, then device.
  std::string text() const;
};

struct Point {
  std::int64_t time_ms = 0;
  double value = 0;
};

struct Bucket {
  std::int64_t start_ms = 0;
  double min = 0, max = 0, sum = 0, last = 0;
  std::uint32_t count = 0;
  double average() const { return count ? sum / count : 0; }
};

struct SeriesData {
  SeriesKey key;
  std::vector<Point> points;    ///< raw resolution
  std::vector<Bucket> buckets;  ///< rollup resolution
};

struct SampleQuery {
  std::string metric;
  std::string device;  ///< "" for every device
  Labels labels;       ///< each must match
  std::int64_t from_ms = 0;
  std::int64_t until_ms = 0;
  /// "raw", "rollup", or "" to choose: raw when the range starts within raw_keep.
  std::string resolution;
  std::int64_t now_ms = 0;  ///< 0: the clock
};

struct SampleStoreStats {
  std::uint64_t series = 0;
  std::uint64_t samples = 0;         ///< added since start
  std::uint64_t chunks_written = 0;  ///< raw and rollup
  std::uint64_t write_failures = 0;
  std::uint64_t chunks_expired = 0;
  std::uint64_t series_expired = 0;
};

class SampleStore {
 public:
  static const std::vector<std::string>& tables();

  SampleStore(store::Store& store, SampleRetention retention);
  ~SampleStore();
  /// Reads the series table (ids and names). Errc from the store.
  Result<void> load();
  /// Adds a sample; `time_ms` must not go back for a series (an older one is dropped).
  void add(const SeriesKey& key, std::int64_t time_ms, double value);
  /// Writes every chunk that closed before `now_ms`.
  void flush_closed(std::int64_t now_ms);
  /// Writes every open chunk too and waits for the commit (the module's stop).
  Result<void> flush_all();
  Result<void> apply_retention(std::int64_t now_ms);
  Result<std::vector<SeriesData>> query(const SampleQuery& query) const;
  /// The latest sample of every series of `metric` (or of every metric when empty).
  std::vector<std::pair<SeriesKey, Point>> latest(const std::string& metric = "") const;
  SampleStoreStats stats() const;
  const SampleRetention& retention() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nauto::telemetry
