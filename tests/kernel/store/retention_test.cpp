// Retention over time-ordered tables: the first key kept by age, count and bytes, and records
// swept together with their parts.

#include "nauto/store/retention.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "nauto/base/clock.h"

using namespace nauto;
using namespace nauto::store;

namespace {

struct TempStore {
  std::string path;
  std::unique_ptr<Store> store;
  TempStore() {
    char pattern[] = "/tmp/nauto-retention-XXXXXX";
    path = ::mkdtemp(pattern);
    StoreOptions o;
    o.path = path;
    o.tables = {"log", "records", "parts"};
    auto opened = Store::open(std::move(o));
    REQUIRE(opened);
    store = std::move(*opened);
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(path);
  }
};

std::string key_of(int i) {
  char key[16];
  std::snprintf(key, sizeof key, "k%05d", i);
  return key;
}

}  // namespace

TEST_CASE("the first key kept follows age, count and bytes, whichever keeps least",
          "[store][retention]") {
  TempStore t;
  WriteBatch batch;
  for (int i = 0; i < 1000; ++i)
    batch.put("log", key_of(i), std::string(1000, 'x'));
  REQUIRE(t.store->write_and_wait(std::move(batch)));
  auto size = t.store->size("log");
  REQUIRE(size);
  CHECK(size->entries == 1000);
  CHECK(size->bytes >= 1000 * 1000);
  CHECK(size->bytes < 1000 * 1000 * 2);

  auto kept = [&](const Retention& r, const std::string& age_cutoff) {
    auto key = first_key_kept(*t.store, "log", r, age_cutoff);
    REQUIRE(key);
    return *key;
  };
  CHECK(kept({}, "k00500").empty());               // no limits: everything is kept
  CHECK(kept({1, 0, 0}, "k00500") == "k00500");    // age alone
  CHECK(kept({0, 100, 0}, "") == "k00900");        // the newest 100
  CHECK(kept({1, 100, 0}, "k00950") == "k00950");  // age keeps fewer than the count
  CHECK(kept({0, 5000, 0}, "").empty());           // under the count
  CHECK(kept({0, 0, size->bytes}, "").empty());    // under the bytes
  // Half the bytes: about the older half goes (the estimate rounds up by one entry).
  const auto half = kept({0, 0, size->bytes / 2}, "");
  CHECK(half >= "k00499");
  CHECK(half <= "k00502");
  // Everything over: every key goes, the last included.
  const auto all = kept({0, 0, 1}, "");
  CHECK(all > "k00999");
  CHECK(t.store->nth_key("log", 999)->value() == "k00999");
  CHECK_FALSE(t.store->nth_key("log", 1000)->has_value());
}

TEST_CASE("records and their parts are swept together, never the oldest live one",
          "[store][retention]") {
  TempStore t;
  const std::int64_t day = 86'400'000'000LL;
  const auto now = now_us();
  std::vector<std::string> ids;
  WriteBatch batch;
  for (int i = 0; i < 10; ++i) {
    // Ten records, one a day, the oldest ten days ago; each with 20 parts of 4 KiB.
    const auto id = time_ordered_id_prefix(now - (10 - i) * day) + "-00000" + std::to_string(i);
    ids.push_back(id);
    batch.put("records", id, "record");
    for (int p = 0; p < 20; ++p)
      batch.put("parts", id + "/" + key_of(p), std::string(4096, 'p'));
  }
  REQUIRE(t.store->write_and_wait(std::move(batch)));
  CHECK(time_ordered_id_prefix(now) < new_time_ordered_id());

  // By age: the records older than 7.5 days, and all of their parts.
  auto swept = sweep_records(*t.store, "records", "parts", {day * 15 / 2, 0, 0}, 0, now, "");
  REQUIRE(swept);
  CHECK(*swept == 3);
  CHECK(*t.store->count("records") == 7);
  CHECK(*t.store->count("parts") == 7 * 20);

  // By the parts' bytes: the oldest records go until the parts fit, whole records at a time.
  const auto parts = t.store->size("parts");
  REQUIRE(parts);
  swept = sweep_records(*t.store, "records", "parts", {}, parts->bytes / 2, now, "");
  REQUIRE(swept);
  CHECK(*swept >= 3);
  CHECK(*swept <= 4);
  const auto left = *t.store->count("records");
  CHECK(*t.store->count("parts") == left * 20);  // no part outlives its record, none is cut

  // The oldest live record is never reached, whatever the limits say.
  const auto oldest_left = t.store->nth_key("records", 0)->value();
  swept = sweep_records(*t.store, "records", "parts", {0, 1, 0}, 0, now, oldest_left);
  REQUIRE(swept);
  CHECK(*swept == 0);
  CHECK(*t.store->count("records") == left);
  swept = sweep_records(*t.store, "records", "parts", {0, 1, 0}, 0, now, "");
  REQUIRE(swept);
  CHECK(*swept == left - 1);
  CHECK(*t.store->count("parts") == 20);
}
