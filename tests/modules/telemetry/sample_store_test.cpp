// SampleStore on a real store in a temporary directory: chunks, rollups, restarts, retention.
#include "sample_store.h"

#include <catch2/catch.hpp>

#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::telemetry;

namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
// A round time, so chunk boundaries are where the test expects them.
constexpr std::int64_t kT0 = 1'700'000'000'000 / kDay * kDay;

std::unique_ptr<store::Store> open_store(const std::string& path) {
  store::StoreOptions options;
  options.path = path;
  options.tables = SampleStore::tables();
  auto opened = store::Store::open(options);
  REQUIRE(opened);
  return std::move(opened.value());
}

SeriesKey cpu(const std::string& device) {
  return {"cpu_load_percent", device, {{"cpu", "1"}}};
}

std::vector<SeriesData> query(const SampleStore& s, const std::string& device, std::int64_t from,
                              std::int64_t until, const std::string& resolution, std::int64_t now) {
  SampleQuery q;
  q.metric = "cpu_load_percent";
  q.device = device;
  q.from_ms = from;
  q.until_ms = until;
  q.resolution = resolution;
  q.now_ms = now;
  return *s.query(q);
}

}  // namespace

TEST_CASE("samples are kept raw and in 5-minute rollups, across chunks", "[telemetry][samples]") {
  test::TempDir dir;
  auto db = open_store(dir.path);
  SampleStore samples(*db, {});
  REQUIRE(samples.load());
  // One sample a minute for 30 minutes: three raw chunks of 10 minutes; values 0..29.
  for (int i = 0; i < 30; ++i) {
    samples.add(cpu("r1"), kT0 + i * kMinute, i);
    samples.add(cpu("r2"), kT0 + i * kMinute, 100 - i);
    samples.flush_closed(kT0 + i * kMinute + 1);
  }
  REQUIRE(samples.stats().series == 2);
  // Chunks are written without waiting; in use the next closes ten minutes later.
  REQUIRE(db->write_and_wait({}));
  auto raw = query(samples, "r1", kT0, 0, "raw", kT0 + 30 * kMinute);
  REQUIRE(raw.size() == 1);
  REQUIRE(raw[0].points.size() == 30);
  CHECK(raw[0].points.front().value == 0);
  CHECK(raw[0].points.back().value == 29);
  CHECK(raw[0].key.labels.at("cpu") == "1");
  // A window in the middle: minutes 12..17
  auto window = query(samples, "r1", kT0 + 12 * kMinute, kT0 + 17 * kMinute, "raw", kT0 + kHour);
  REQUIRE(window[0].points.size() == 6);
  CHECK(window[0].points.front().value == 12);
  // Every device when none is named
  CHECK(query(samples, "", kT0, 0, "raw", kT0 + kHour).size() == 2);

  auto rollup = query(samples, "r1", kT0, 0, "rollup", kT0 + kHour);
  REQUIRE(rollup[0].buckets.size() == 6);
  const auto& b = rollup[0].buckets[1];  // minutes 5..9
  CHECK(b.start_ms == kT0 + 5 * kMinute);
  CHECK(b.count == 5);
  CHECK(b.min == 5);
  CHECK(b.max == 9);
  CHECK(b.average() == 7);
  CHECK(b.last == 9);

  // A range older than the raw window is answered from the rollups.
  auto automatic = query(samples, "r1", kT0, 0, "", kT0 + 2 * kDay);
  CHECK(automatic[0].points.empty());
  CHECK(automatic[0].buckets.size() == 6);
}

TEST_CASE("a restart keeps the open chunks (a clean stop) or rebuilds the rollup (a crash)",
          "[telemetry][samples]") {
  test::TempDir dir;
  {
    auto db = open_store(dir.path);
    SampleStore samples(*db, {});
    REQUIRE(samples.load());
    for (int i = 0; i < 15; ++i)
      samples.add(cpu("r1"), kT0 + i * kMinute, i);
    REQUIRE(samples.flush_all());  // the module's stop
  }
  {
    auto db = open_store(dir.path);
    SampleStore samples(*db, {});
    REQUIRE(samples.load());
    CHECK(samples.stats().series == 1);
    // Before any new sample: the stored chunks answer.
    CHECK(query(samples, "r1", kT0, 0, "raw", kT0 + kHour)[0].points.size() == 15);
    for (int i = 15; i < 20; ++i)
      samples.add(cpu("r1"), kT0 + i * kMinute, i);
    auto raw = query(samples, "r1", kT0, 0, "raw", kT0 + kHour);
    REQUIRE(raw[0].points.size() == 20);
    auto rollup = query(samples, "r1", kT0, 0, "rollup", kT0 + kHour);
    REQUIRE(rollup[0].buckets.size() == 4);
    CHECK(rollup[0].buckets[2].count == 5);
    CHECK(rollup[0].buckets[2].min == 10);
    // A crash now: only closed chunks are stored (minutes 0..9 and 10..19 once 20 arrives).
    samples.add(cpu("r1"), kT0 + 20 * kMinute, 20);
    samples.flush_closed(kT0 + 20 * kMinute + 1);
    REQUIRE(db->write_and_wait({}));
  }
  {
    auto db = open_store(dir.path);
    SampleStore samples(*db, {});
    REQUIRE(samples.load());
    samples.add(cpu("r1"), kT0 + 25 * kMinute, 25);
    auto raw = query(samples, "r1", kT0, 0, "raw", kT0 + kHour);
    CHECK(raw[0].points.size() == 21);  // minute 20 was in the open chunk the crash lost
    auto rollup = query(samples, "r1", kT0, 0, "rollup", kT0 + kHour);
    REQUIRE(rollup[0].buckets.size() == 5);  // rebuilt: 0-4, 5-9, 10-14, 15-19, and 25
    CHECK(rollup[0].buckets[3].average() == 17);
  }
}

TEST_CASE("retention drops raw chunks after a day, rollups and silent series after 30 days",
          "[telemetry][samples]") {
  test::TempDir dir;
  auto db = open_store(dir.path);
  SampleStore samples(*db, {});
  REQUIRE(samples.load());
  for (int i = 0; i < 20; ++i)
    samples.add(cpu("old"), kT0 + i * kMinute, i);
  samples.add(cpu("old"), kT0 + 3 * kHour, 1);  // closes the first chunks
  samples.flush_closed(kT0 + 3 * kHour + 1);
  REQUIRE(db->write_and_wait({}));

  REQUIRE(samples.apply_retention(kT0 + 3 * kHour));
  CHECK(samples.stats().chunks_expired == 0);
  REQUIRE(samples.apply_retention(kT0 + kDay + 2 * kHour));
  REQUIRE(db->write_and_wait({}));
  CHECK(query(samples, "old", kT0, kT0 + kHour, "raw", kT0 + kDay).empty());
  // The raw chunks of minutes 0..19 are gone from the store; the rollups remain.
  auto db_raw = db->count("telemetry_raw");
  CHECK(*db_raw == 0);
  CHECK(*db->count("telemetry_rollup") == 1);
  samples.flush_closed(kT0 + 40 * kDay);
  REQUIRE(samples.apply_retention(kT0 + 40 * kDay));
  REQUIRE(db->write_and_wait({}));
  CHECK(samples.stats().series == 0);
  CHECK(*db->count("telemetry_series") == 0);
  CHECK(*db->count("telemetry_rollup") == 0);
  CHECK(*db->count("telemetry_raw") == 0);
}

TEST_CASE("retention settings must nest", "[telemetry][samples]") {
  SampleRetention r;
  CHECK(validate_retention(r));
  r.raw_chunk_ms = 7 * kMinute;
  CHECK(validate_retention(r).error().where == "retention.raw_chunk");
}
