#include "sample_store.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "nauto/base/clock.h"

namespace nauto::telemetry {

using json = nlohmann::json;

namespace {

constexpr const char* kSeriesTable = "telemetry_series";
constexpr const char* kRawTable = "telemetry_raw";
constexpr const char* kRollupTable = "telemetry_rollup";
constexpr char kFieldSep = '\x1f';
constexpr char kLabelSep = '\x1e';

std::string chunk_key(std::uint64_t id, std::int64_t start_ms) {
  std::string key(16, '\0');
  auto put = [&](std::size_t at, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
      key[at + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
  };
  put(0, id);
  put(8, static_cast<std::uint64_t>(std::max<std::int64_t>(start_ms, 0)));
  return key;
}

std::int64_t chunk_start_of_key(const std::string& key) {
  std::uint64_t v = 0;
  for (std::size_t i = 8; i < 16 && i < key.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(key[i]);
  return static_cast<std::int64_t>(v);
}

std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  return t - ((t % step) + step) % step;
}

std::string encode_points(std::int64_t start, const std::vector<Point>& points) {
  json a = json::array();
  for (const auto& p : points) {
    a.push_back(p.time_ms - start);
    a.push_back(p.value);
  }
  std::string out;
  json::to_msgpack(a, out);
  return out;
}

std::vector<Point> decode_points(std::int64_t start, const std::string& bytes) {
  std::vector<Point> out;
  auto a = json::from_msgpack(bytes, true, false);
  if (!a.is_array()) return out;
  for (std::size_t i = 0; i + 1 < a.size(); i += 2) {
    if (a[i].is_number() && a[i + 1].is_number())
      out.push_back({start + a[i].get<std::int64_t>(), a[i + 1].get<double>()});
  }
  return out;
}

std::string encode_buckets(std::int64_t start, const std::vector<Bucket>& buckets) {
  json a = json::array();
  for (const auto& b : buckets) {
    a.push_back(b.start_ms - start);
    a.push_back(b.min);
    a.push_back(b.max);
    a.push_back(b.sum);
    a.push_back(b.count);
    a.push_back(b.last);
  }
  std::string out;
  json::to_msgpack(a, out);
  return out;
}

std::vector<Bucket> decode_buckets(std::int64_t start, const std::string& bytes) {
  std::vector<Bucket> out;
  auto a = json::from_msgpack(bytes, true, false);
  if (!a.is_array()) return out;
  for (std::size_t i = 0; i + 5 < a.size(); i += 6) {
    bool numbers = true;
    for (std::size_t k = 0; k < 6; ++k)
      numbers = numbers && a[i + k].is_number();
    if (!numbers) continue;
    Bucket b;
    b.start_ms = start + a[i].get<std::int64_t>();
    b.min = a[i + 1].get<double>();
    b.max = a[i + 2].get<double>();
    b.sum = a[i + 3].get<double>();
    b.count = a[i + 4].get<std::uint32_t>();
    b.last = a[i + 5].get<double>();
    out.push_back(b);
  }
  return out;
}

void fold(std::vector<Bucket>& buckets, std::int64_t step, const Point& p) {
  const auto start = floor_to(p.time_ms, step);
  if (buckets.empty() || buckets.back().start_ms != start) {
    if (!buckets.empty() && buckets.back().start_ms > start) return;  // older than what we have
    buckets.push_back({start, p.value, p.value, 0, p.value, 0});
  }
  auto& b = buckets.back();
  b.min = std::min(b.min, p.value);
  b.max = std::max(b.max, p.value);
  b.sum += p.value;
  b.last = p.value;
  ++b.count;
}

bool labels_match(const Labels& want, const Labels& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

std::string SeriesKey::text() const {
  std::string out = metric;
  out += kFieldSep;
  out += device;
  out += kFieldSep;
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += kLabelSep;
    first = false;
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Result<void> validate_retention(const SampleRetention& r) {
  if (r.rollup_step_ms <= 0 || r.raw_chunk_ms <= 0 || r.rollup_chunk_ms <= 0)
    return fail(Errc::InvalidConfig, "steps and chunks must be positive", "retention");
  if (r.raw_chunk_ms % r.rollup_step_ms != 0)
    return fail(Errc::InvalidConfig, "the raw chunk must be a whole number of rollup steps",
                "retention.raw_chunk");
  if (r.rollup_chunk_ms % r.raw_chunk_ms != 0)
    return fail(Errc::InvalidConfig, "the rollup chunk must be a whole number of raw chunks",
                "retention.rollup_chunk");
  if (r.raw_keep_ms < r.rollup_chunk_ms || r.rollup_keep_ms < r.rollup_chunk_ms)
    return fail(Errc::InvalidConfig,
                "must be at least a rollup chunk (the open one is rebuilt from raw samples)",
                "retention.keep");
  return ok();
}

/// One series: its id and its open chunks.
struct SeriesState {
  SeriesKey key;
  std::uint64_t id = 0;
  std::int64_t last_ms = 0;
  bool known_in_store = false;  // its row in telemetry_series is written
  std::int64_t raw_start = -1;  // the open raw chunk, -1 when none
  std::vector<Point> raw;
  std::int64_t rollup_start = -1;
  std::vector<Bucket> rollup;
  // The chunks closed last, kept until the next close: their writes may not be committed yet.
  std::int64_t closed_raw_start = -1;
  std::vector<Point> closed_raw;
  std::int64_t closed_rollup_start = -1;
  std::vector<Bucket> closed_rollup;
  Point last;
};

struct SampleStore::Impl {
  store::Store& store;
  SampleRetention retention;
  std::map<std::string, SeriesState> series;  // by SeriesKey::text()
  std::uint64_t next_id = 1;
  SampleStoreStats stats;
  std::shared_ptr<std::atomic<std::uint64_t>> write_failures =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  store::WriteBatch pending;

  Impl(store::Store& s, SampleRetention r) : store(s), retention(r) {}

  void submit() {
    if (pending.empty()) return;
    auto failures = write_failures;
    store.write(std::move(pending), [failures](Result<void> written) {
      if (!written) failures->fetch_add(1);  // telemetry: counted, never fatal
    });
    pending = {};
  }

  void write_series_row(SeriesState& s) {
    json row = {{"id", s.id},
                {"metric", s.key.metric},
                {"device", s.key.device},
                {"labels", s.key.labels},
                {"last_ms", s.last_ms}};
    std::string bytes;
    json::to_msgpack(row, bytes);
    pending.put(kSeriesTable, s.key.text(), std::move(bytes));
    s.known_in_store = true;
  }

  void close_raw(SeriesState& s) {
    if (s.raw_start < 0 || s.raw.empty()) return;
    pending.put(kRawTable, chunk_key(s.id, s.raw_start), encode_points(s.raw_start, s.raw));
    ++stats.chunks_written;
    s.closed_raw = std::move(s.raw);
    s.closed_raw_start = s.raw_start;
    s.raw.clear();
    s.raw_start = -1;
  }
  void close_rollup(SeriesState& s) {
    if (s.rollup_start < 0 || s.rollup.empty()) return;
    pending.put(kRollupTable, chunk_key(s.id, s.rollup_start),
                encode_buckets(s.rollup_start, s.rollup));
    ++stats.chunks_written;
    s.closed_rollup = std::move(s.rollup);
    s.closed_rollup_start = s.rollup_start;
    s.rollup.clear();
    s.rollup_start = -1;
  }

  /// The first sample of a stored series since the module started: its open raw chunk as the
  /// last stop wrote it, and its open rollup chunk rebuilt from the raw chunks stored (the
  /// truth: a crash leaves the stored rollup chunk behind them).
  void reopen(SeriesState& s, std::int64_t raw_start, std::int64_t rollup_start) {
    if (auto raw = store.get(kRawTable, chunk_key(s.id, raw_start)); raw && *raw)
      s.raw = decode_points(raw_start, **raw);
    store::ScanOptions scan;
    scan.from = chunk_key(s.id, rollup_start);
    scan.until = chunk_key(s.id, raw_start + 1);
    scan.limit = static_cast<std::size_t>(retention.rollup_chunk_ms / retention.raw_chunk_ms) + 1;
    auto chunks = store.scan(kRawTable, scan);
    if (!chunks) return;
    for (const auto& [key, value] : *chunks) {
      for (const auto& p : decode_points(chunk_start_of_key(key), value))
        fold(s.rollup, retention.rollup_step_ms, p);
    }
  }

  std::vector<const SeriesState*> matching(const SampleQuery& q) const {
    std::vector<const SeriesState*> out;
    const std::string prefix =
        q.metric + kFieldSep + (q.device.empty() ? "" : q.device + kFieldSep);
    for (auto it = series.lower_bound(prefix); it != series.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (labels_match(q.labels, it->second.key.labels)) out.push_back(&it->second);
    }
    return out;
  }
};

const std::vector<std::string>& SampleStore::tables() {
  static const std::vector<std::string> t = {kSeriesTable, kRawTable, kRollupTable};
  return t;
}

SampleStore::SampleStore(store::Store& store, SampleRetention retention)
    : impl_(std::make_unique<Impl>(store, retention)) {}

SampleStore::~SampleStore() = default;

const SampleRetention& SampleStore::retention() const {
  return impl_->retention;
}

Result<void> SampleStore::load() {
  store::ScanOptions scan;
  scan.limit = 100000;
  for (;;) {
    auto rows = impl_->store.scan(kSeriesTable, scan);
    if (!rows) return std::move(rows).error();
    for (const auto& [key, value] : *rows) {
      auto row = json::from_msgpack(value, true, false);
      if (!row.is_object() || !row.contains("id")) continue;
      SeriesState s;
      s.key.metric = row.value("metric", "");
      s.key.device = row.value("device", "");
      if (row.contains("labels") && row["labels"].is_object()) {
        for (const auto& [k, v] : row["labels"].items())
          if (v.is_string()) s.key.labels[k] = v.get<std::string>();
      }
      s.id = row.value("id", std::uint64_t{0});
      s.last_ms = row.value("last_ms", std::int64_t{0});
      s.known_in_store = true;
      impl_->next_id = std::max(impl_->next_id, s.id + 1);
      impl_->series[key] = std::move(s);
    }
    if (rows->size() < scan.limit) break;
    scan.from = rows->back().first + '\0';
  }
  impl_->stats.series = impl_->series.size();
  return ok();
}

void SampleStore::add(const SeriesKey& key, std::int64_t time_ms, double value) {
  if (!std::isfinite(value)) return;
  auto& r = impl_->retention;
  auto [it, inserted] = impl_->series.try_emplace(key.text());
  SeriesState& s = it->second;
  if (inserted) {
    s.key = key;
    s.id = impl_->next_id++;
    ++impl_->stats.series;
  }
  if (time_ms <= s.last_ms && s.last_ms != 0) return;
  const bool first_since_start = s.last.time_ms == 0;
  const auto raw_start = floor_to(time_ms, r.raw_chunk_ms);
  const auto rollup_start = floor_to(time_ms, r.rollup_chunk_ms);
  if (s.raw_start != raw_start) impl_->close_raw(s);
  if (s.rollup_start != rollup_start) impl_->close_rollup(s);
  if (first_since_start && s.known_in_store) impl_->reopen(s, raw_start, rollup_start);
  s.raw_start = raw_start;
  s.rollup_start = rollup_start;
  s.raw.push_back({time_ms, value});
  fold(s.rollup, r.rollup_step_ms, {time_ms, value});
  s.last_ms = time_ms;
  s.last = {time_ms, value};
  ++impl_->stats.samples;
  // The series row: when new, and again when the series comes back after a restart (last_ms,
  // which retention reads).
  if (!s.known_in_store || first_since_start) impl_->write_series_row(s);
}

void SampleStore::flush_closed(std::int64_t now_ms) {
  auto& r = impl_->retention;
  const auto raw_open = floor_to(now_ms, r.raw_chunk_ms);
  const auto rollup_open = floor_to(now_ms, r.rollup_chunk_ms);
  for (auto& [text, s] : impl_->series) {
    if (s.raw_start >= 0 && s.raw_start < raw_open) impl_->close_raw(s);
    if (s.rollup_start >= 0 && s.rollup_start < rollup_open) impl_->close_rollup(s);
  }
  impl_->submit();
}

Result<void> SampleStore::flush_all() {
  for (auto& [text, s] : impl_->series) {
    // Written but kept open: samples may still come into these chunks after a restart, and
    // the next write of the chunk replaces this one with all of them.
    if (s.raw_start >= 0 && !s.raw.empty())
      impl_->pending.put(kRawTable, chunk_key(s.id, s.raw_start),
                         encode_points(s.raw_start, s.raw));
    if (s.rollup_start >= 0 && !s.rollup.empty())
      impl_->pending.put(kRollupTable, chunk_key(s.id, s.rollup_start),
                         encode_buckets(s.rollup_start, s.rollup));
    if (!s.known_in_store) impl_->write_series_row(s);
  }
  if (impl_->pending.empty()) return ok();
  auto batch = std::move(impl_->pending);
  impl_->pending = {};
  return impl_->store.write_and_wait(std::move(batch));
}

Result<void> SampleStore::apply_retention(std::int64_t now_ms) {
  auto& r = impl_->retention;
  const auto raw_cutoff = now_ms - r.raw_keep_ms;
  const auto rollup_cutoff = now_ms - r.rollup_keep_ms;
  // Every chunk written so far committed first, so the scans below see it.
  auto barrier = std::move(impl_->pending);
  impl_->pending = {};
  if (auto written = impl_->store.write_and_wait(std::move(barrier)); !written) return written;
  for (auto it = impl_->series.begin(); it != impl_->series.end();) {
    SeriesState& s = it->second;
    if (s.closed_raw_start >= 0 && s.closed_raw_start + r.raw_chunk_ms <= raw_cutoff) {
      s.closed_raw.clear();
      s.closed_raw_start = -1;
    }
    if (s.closed_rollup_start >= 0 && s.closed_rollup_start + r.rollup_chunk_ms <= rollup_cutoff) {
      s.closed_rollup.clear();
      s.closed_rollup_start = -1;
    }
    for (const auto& [table, cutoff] :
         {std::pair{kRawTable, raw_cutoff}, std::pair{kRollupTable, rollup_cutoff}}) {
      store::ScanOptions scan;
      scan.from = chunk_key(s.id, 0);
      // A chunk goes once all of it is older than the cutoff.
      const auto chunk = std::string(table) == kRawTable ? r.raw_chunk_ms : r.rollup_chunk_ms;
      scan.until = chunk_key(s.id, cutoff - chunk + 1);
      scan.limit = 10000;
      auto old = impl_->store.scan(table, scan);
      if (!old) return std::move(old).error();
      for (const auto& [key, value] : *old) {
        impl_->pending.erase(table, key);
        ++impl_->stats.chunks_expired;
      }
    }
    if (s.last_ms < rollup_cutoff && s.raw.empty() && s.rollup.empty()) {
      impl_->pending.erase(kSeriesTable, it->first);
      ++impl_->stats.series_expired;
      it = impl_->series.erase(it);
      continue;
    }
    ++it;
  }
  impl_->stats.series = impl_->series.size();
  impl_->submit();
  return ok();
}

Result<std::vector<SeriesData>> SampleStore::query(const SampleQuery& q) const {
  auto& r = impl_->retention;
  const auto now = q.now_ms ? q.now_ms : now_us() / 1000;
  const auto until = q.until_ms > 0 ? q.until_ms : std::numeric_limits<std::int64_t>::max() / 4;
  const bool raw =
      q.resolution == "raw" || (q.resolution.empty() && q.from_ms >= now - r.raw_keep_ms);
  std::vector<SeriesData> out;
  for (const auto* s : impl_->matching(q)) {
    SeriesData data;
    data.key = s->key;
    const char* table = raw ? kRawTable : kRollupTable;
    const auto chunk = raw ? r.raw_chunk_ms : r.rollup_chunk_ms;
    if (s->known_in_store) {
      store::ScanOptions scan;
      scan.from = chunk_key(s->id, floor_to(q.from_ms, chunk));
      scan.until = chunk_key(s->id, until + 1);
      scan.limit = 100000;
      auto chunks = impl_->store.scan(table, scan);
      if (!chunks) return std::move(chunks).error();
      for (const auto& [key, value] : *chunks) {
        const auto start = chunk_start_of_key(key);
        // The chunks in memory are newer than their stored copies (or not stored yet).
        if (raw && (start == s->raw_start || start == s->closed_raw_start)) continue;
        if (!raw && (start == s->rollup_start || start == s->closed_rollup_start)) continue;
        if (raw) {
          for (const auto& p : decode_points(start, value))
            if (p.time_ms >= q.from_ms && p.time_ms <= until) data.points.push_back(p);
        } else {
          for (const auto& b : decode_buckets(start, value))
            if (b.start_ms + r.rollup_step_ms > q.from_ms && b.start_ms <= until)
              data.buckets.push_back(b);
        }
      }
    }
    for (const auto* points : {&s->closed_raw, &s->raw}) {
      if (!raw) break;
      for (const auto& p : *points)
        if (p.time_ms >= q.from_ms && p.time_ms <= until) data.points.push_back(p);
    }
    for (const auto* buckets : {&s->closed_rollup, &s->rollup}) {
      if (raw) break;
      for (const auto& b : *buckets)
        if (b.start_ms + r.rollup_step_ms > q.from_ms && b.start_ms <= until)
          data.buckets.push_back(b);
    }
    auto by_time = [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; };
    std::sort(data.points.begin(), data.points.end(), by_time);
    std::sort(data.buckets.begin(), data.buckets.end(),
              [](const Bucket& a, const Bucket& b) { return a.start_ms < b.start_ms; });
    if (!data.points.empty() || !data.buckets.empty()) out.push_back(std::move(data));
  }
  return out;
}

std::vector<std::pair<SeriesKey, Point>> SampleStore::latest(const std::string& metric) const {
  std::vector<std::pair<SeriesKey, Point>> out;
  for (const auto& [text, s] : impl_->series) {
    if (!metric.empty() && s.key.metric != metric) continue;
    if (s.last.time_ms) out.emplace_back(s.key, s.last);
  }
  return out;
}

SampleStoreStats SampleStore::stats() const {
  auto out = impl_->stats;
  out.write_failures = impl_->write_failures->load();
  return out;
}

}  // namespace nauto::telemetry
