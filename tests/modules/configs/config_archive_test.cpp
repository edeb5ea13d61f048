#include "config_archive.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "config_codec.h"
#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::configs;

namespace {

// A store of the archive's tables in a directory of its own, removed afterwards.
struct ArchiveFixture {
  test::TempDir dir{"nauto-configs"};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ConfigArchive> archive;

  ArchiveFixture() {
    store::StoreOptions options;
    options.path = dir.path;
    options.tables = {ConfigArchive::kVersionsTable, ConfigArchive::kBlobsTable,
                      ConfigArchive::kStatusTable};
    auto opened = store::Store::open(options);
    REQUIRE(opened);
    store = std::move(*opened);
    archive = std::make_unique<ConfigArchive>(*store);
  }
  ~ArchiveFixture() {
    archive.reset();
    store.reset();
  }
  RecordOutcome record(const std::string& device, const std::string& text, std::int64_t time_us) {
    auto outcome = archive->record({ConfigSnapshot{device, "cisco_ios", text, time_us, "alice",
                                                   "nightly", "job-" + std::to_string(time_us)}});
    REQUIRE(outcome);
    REQUIRE(outcome->size() == 1);
    return outcome->front();
  }
};

std::string config_with(int generation) {
  std::string text = "hostname r1\n";
  for (int i = 0; i < 200; ++i) {
    text += "interface Gi0/" + std::to_string(i) + "\n description port " + std::to_string(i) +
            (i == 7 ? " gen " + std::to_string(generation) : "") + "\n";
  }
  return text + "end\n";
}

constexpr std::int64_t kDay = 86'400'000'000;
constexpr std::int64_t kDec1 = 1'764'547'200'000'000;  // 2025-12-01T00:00:00Z

}  // namespace

TEST_CASE("a delta frame needs its base and restores the text exactly", "[configs]") {
  ConfigCodec codec;
  const auto a = config_with(1), b = config_with(2);
  auto whole = codec.compress(b, "");
  auto delta = codec.compress(b, a);
  REQUIRE(whole);
  REQUIRE(delta);
  CHECK(delta->size() < whole->size() / 4);
  auto back = codec.decompress(*delta, a, b.size());
  REQUIRE(back);
  CHECK(*back == b);
  CHECK_FALSE(codec.decompress(*delta, a, b.size() + 1));
}

TEST_CASE("a version is stored only when the config changed", "[configs]") {
  ArchiveFixture f;
  auto first = f.record("r1", config_with(1), kDec1);
  CHECK(first.changed);
  CHECK(first.version == 1);
  CHECK(first.added == 402);
  auto same = f.record("r1", config_with(1), kDec1 + kDay);
  CHECK_FALSE(same.changed);
  CHECK(same.version == 1);
  auto second = f.record("r1", config_with(2), kDec1 + 2 * kDay);
  CHECK(second.changed);
  CHECK(second.version == 2);
  CHECK(second.previous == 1);
  CHECK(second.added == 1);
  CHECK(second.removed == 1);

  auto history = f.archive->history("r1", 10);
  REQUIRE(history);
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].version == 2);
  CHECK((*history)[0].by == "alice");
  CHECK((*history)[0].why == "nightly");
  CHECK((*history)[0].job == "job-" + std::to_string(kDec1 + 2 * kDay));
  CHECK((*history)[1].version == 1);
  CHECK(*f.archive->text((*history)[0]) == config_with(2));
  CHECK(*f.archive->text((*history)[1]) == config_with(1));

  auto statuses = f.archive->statuses();
  REQUIRE(statuses);
  REQUIRE(statuses->size() == 1);
  CHECK(statuses->front().version == 2);
  CHECK(statuses->front().checked_us == kDec1 + 2 * kDay);
}

TEST_CASE("versions are found by number, latest, previous and day", "[configs]") {
  ArchiveFixture f;
  for (int g = 1; g <= 3; ++g)
    f.record("r1", config_with(g), kDec1 + g * kDay);  // Dec 2, 3, 4
  auto find = [&](const char* ref) {
    auto parsed = parse_version_ref(ref);
    REQUIRE(parsed);
    return f.archive->find("r1", *parsed);
  };
  CHECK(find("@2")->version == 2);
  CHECK(find("latest")->version == 3);
  CHECK(find("previous")->version == 2);
  CHECK(find("@2025-12-03")->version == 2);
  CHECK(find("2025-12-02T23:59:59Z")->version == 1);
  auto missing = find("@9");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::NotFound);
  CHECK(missing.error().message ==
        "no version 9 of r1: r1 has versions 1 (2025-12-02) to 3 (2025-12-04); `nauto config "
        "history r1` lists them");
  CHECK_FALSE(find("@2025-11-30"));
  CHECK_FALSE(f.archive->find("r9", VersionRef{}));
  CHECK_FALSE(parse_version_ref("yesterday"));
  CHECK_FALSE(parse_version_ref("2025-13-01"));
  CHECK_FALSE(parse_version_ref("@0"));
}

TEST_CASE("long histories stay readable through keyframes and shared blobs", "[configs]") {
  ArchiveFixture f;
  const int versions = ConfigArchive::kKeyframeEvery * 2 + 3;
  for (int g = 1; g <= versions; ++g)
    f.record("r1", config_with(g), kDec1 + g);
  // Back to the first text: no new blob, a new version.
  auto back = f.record("r1", config_with(1), kDec1 + versions + 1);
  CHECK(back.changed);
  CHECK(back.version == static_cast<std::uint32_t>(versions + 1));
  auto blobs = f.store->count(ConfigArchive::kBlobsTable);
  REQUIRE(blobs);
  CHECK(*blobs == static_cast<std::uint64_t>(versions));
  // Another device with the same config shares it.
  f.record("r2", config_with(5), kDec1);
  CHECK(*f.store->count(ConfigArchive::kBlobsTable) == *blobs);
  for (std::uint32_t v = 1; v <= static_cast<std::uint32_t>(versions + 1); ++v) {
    auto version = f.archive->find("r1", VersionRef{VersionRef::Kind::Number, v, 0});
    REQUIRE(version);
    CHECK(*f.archive->text(*version) ==
          config_with(v <= static_cast<std::uint32_t>(versions) ? static_cast<int>(v) : 1));
  }
  // Most blobs are deltas: the table is far smaller than the texts.
  auto size = f.store->size(ConfigArchive::kBlobsTable);
  REQUIRE(size);
  CHECK(size->bytes < config_with(1).size() * versions / 4);
}

TEST_CASE("retention keeps the newest versions and every blob they read", "[configs]") {
  ArchiveFixture f;
  for (int g = 1; g <= 40; ++g)
    f.record("r1", config_with(g), kDec1 + g * kDay);
  f.record("r2", config_with(100), kDec1);  // old, but a device's latest always stays
  auto swept = f.archive->sweep(ArchiveRetention{5, 30 * kDay}, kDec1 + 41 * kDay);
  REQUIRE(swept);
  CHECK(swept->versions_erased == 35);
  auto history = f.archive->history("r1", 100);
  REQUIRE(history->size() == 5);
  CHECK(history->back().version == 36);
  for (const auto& version : *history)
    CHECK(*f.archive->text(version) == config_with(static_cast<int>(version.version)));
  CHECK(*f.archive->text(*f.archive->find("r2", VersionRef{})) == config_with(100));
  // What stays is the kept versions' chains back to their keyframe: fewer than all 41 blobs.
  CHECK(swept->blobs_erased > 0);
  CHECK(*f.store->count(ConfigArchive::kBlobsTable) < 41 - swept->blobs_erased + 1);
  auto again = f.archive->sweep(ArchiveRetention{5, 30 * kDay}, kDec1 + 41 * kDay);
  CHECK(again->versions_erased == 0);
  CHECK(again->blobs_erased == 0);
}

TEST_CASE("a failed backup is noted and keeps the versions", "[configs]") {
  ArchiveFixture f;
  f.record("r1", config_with(1), kDec1);
  REQUIRE(
      f.archive->note_failures({DeviceStatus{"r1", kDec1 + kDay, false, "timeout", "job-9", 0}}));
  auto statuses = f.archive->statuses();
  REQUIRE(statuses->size() == 1);
  CHECK_FALSE(statuses->front().ok);
  CHECK(statuses->front().error == "timeout");
  CHECK(statuses->front().version == 1);
  CHECK(f.archive->devices()->size() == 1);
}
