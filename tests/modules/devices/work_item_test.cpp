// Work items and results: signed by the control node, MAC'd by workers; anything altered or
// signed by another key is refused.

#include "work_item.h"

#include <catch2/catch.hpp>

#include "nauto/base/digest.h"
#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::devices;
using nlohmann::json;

namespace {

WorkItem sample_item() {
  WorkItem item;
  item.job = "j-1";
  item.device = "r1";
  item.pool = "emea";
  item.spec.kind = JobKind::Push;
  item.spec.config = "ntp server 10.0.0.1";
  item.spec.device_timeout_ms = 30'000;
  item.host = json{{"name", "r1"},
                   {"host", "10.1.0.1"},
                   {"platform", "cisco_ios"},
                   {"credential", "core-aaa"},
                   {"vars", {{"pool", "emea"}}}};
  item.deadline_us = 2'000'000'000'000'000;
  item.issued_us = 1'000;
  return item;
}

}  // namespace

TEST_CASE("an item signed by the control node opens with its public key, and only then") {
  test::TempDir dir;
  auto key = SigningKey::open_or_create(dir.path + "/control.key", "the test key");
  auto other = SigningKey::open_or_create(dir.path + "/other.key", "the test key");
  REQUIRE(key);
  REQUIRE(other);
  const auto signed_item = sign_item(sample_item(), *key);
  CHECK(signed_item.payload.find("core-aaa") != std::string::npos);  // a name, not a secret

  auto opened = open_item(signed_item, key->public_key());
  REQUIRE(opened);
  CHECK(opened->job == "j-1");
  CHECK(opened->device == "r1");
  CHECK(opened->pool == "emea");
  CHECK(opened->spec.kind == JobKind::Push);
  CHECK(opened->spec.config == "ntp server 10.0.0.1");
  CHECK(opened->spec.device_timeout_ms == 30'000);
  CHECK_FALSE(opened->read_only());
  CHECK(opened->host.value("host", "") == "10.1.0.1");
  CHECK(opened->deadline_us == 2'000'000'000'000'000);

  auto forged = signed_item;
  forged.payload.replace(forged.payload.find("10.0.0.1"), 8, "10.6.6.6");
  auto refused = open_item(forged, key->public_key());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Untrusted);
  CHECK_THAT(refused.error().message, Catch::Contains("forged or altered"));

  auto by_other = sign_item(sample_item(), *other);
  CHECK_FALSE(open_item(by_other, key->public_key()));
  CHECK_FALSE(open_item({signed_item.payload, ""}, key->public_key()));

  // Signed garbage is still refused for what it is.
  const SignedItem nonsense{"[1,2]", key->sign("[1,2]")};
  auto malformed = open_item(nonsense, key->public_key());
  REQUIRE_FALSE(malformed);
  CHECK(malformed.error().code == Errc::Malformed);
  const SignedItem future{R"({"v":9})", key->sign(R"({"v":9})")};
  auto newer = open_item(future, key->public_key());
  REQUIRE_FALSE(newer);
  CHECK(newer.error().code == Errc::Unsupported);
}

TEST_CASE("read-only items: everything but a push that is not a dry run") {
  auto item = sample_item();
  CHECK_FALSE(item.read_only());
  item.spec.dry_run = true;
  CHECK(item.read_only());
  item.spec.dry_run = false;
  for (auto kind : {JobKind::Commands, JobKind::GetConfig, JobKind::Facts}) {
    item.spec.kind = kind;
    CHECK(item.read_only());
  }
}

TEST_CASE("a result is vouched for by its worker's key and no other") {
  test::TempDir dir;
  auto key = SigningKey::open_or_create(dir.path + "/control.key", "the test key");
  REQUIRE(key);
  WorkResult result;
  result.job = "j-1";
  result.device = "r1";
  result.pool = "emea";
  result.worker = "worker-a";
  result.entry = "1700000000000-0";
  result.outcome.device = "r1";
  result.outcome.status = DeviceStatus::Timeout;
  result.outcome.error_code = "timeout";
  result.outcome.error = "no prompt";
  result.outcome.output = json::array({json{{"command", "show clock"}, {"text", "12:00"}}});
  result.outcome.attempts = 2;
  const auto worker_key = worker_result_key(*key, "worker-a");
  CHECK(worker_key != worker_result_key(*key, "worker-b"));

  const auto sealed = seal_result(result, worker_key);
  auto opened = open_result(sealed, *key);
  REQUIRE(opened);
  CHECK(opened->worker == "worker-a");
  CHECK(opened->entry == "1700000000000-0");
  CHECK(opened->outcome.status == DeviceStatus::Timeout);
  CHECK(opened->outcome.error == "no prompt");
  CHECK(opened->outcome.attempts == 2);
  CHECK(opened->outcome.output[0]["text"] == "12:00");

  // worker-b cannot speak for worker-a, and an edited result does not verify.
  auto impostor = result;
  const auto sealed_by_b = seal_result(impostor, worker_result_key(*key, "worker-b"));
  auto refused = open_result(sealed_by_b, *key);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Untrusted);
  auto edited = sealed;
  edited.payload.replace(edited.payload.find("timeout"), 7, "ok\",\"x");
  CHECK_FALSE(open_result(edited, *key));
}

TEST_CASE("numbers that are not whole numbers are refused, not converted (fuzz_work_item)") {
  test::TempDir dir;
  auto key = SigningKey::open_or_create(dir.path + "/control.key", "the test key");
  REQUIRE(key);
  // The crash fuzz_work_item found: a float too large for an integer, where one is read.
  auto item = json::parse(sign_item(sample_item(), *key).payload);
  item["deadline_us"] = 1.79658e+22;
  const auto payload = item.dump();
  auto refused = open_item({payload, key->sign(payload)}, key->public_key());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Malformed);
  auto spec_item = json::parse(sign_item(sample_item(), *key).payload);
  spec_item["spec"]["attempts"] = 1e300;
  const auto spec_payload = spec_item.dump();
  CHECK_FALSE(open_item({spec_payload, key->sign(spec_payload)}, key->public_key()));

  const auto result = json{{"v", 1},
                           {"job", "j"},
                           {"device", "r1"},
                           {"worker", "w"},
                           {"outcome", {{"status", "ok"}, {"attempts", -1e40}}}}
                          .dump();
  auto bad = open_result({result, hmac_sha256_hex(worker_result_key(*key, "w"), result)}, *key);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::Malformed);
}

TEST_CASE("fields of the wrong type are a malformed item or result, never an exception") {
  test::TempDir dir;
  auto key = SigningKey::open_or_create(dir.path + "/control.key", "the test key");
  REQUIRE(key);
  auto item = json::parse(sign_item(sample_item(), *key).payload);
  item["host"]["name"] = 7;
  const auto payload = item.dump();
  auto refused = open_item({payload, key->sign(payload)}, key->public_key());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Malformed);
  const auto result = json{{"v", 1}, {"job", "j"}, {"device", "r1"}, {"worker", 5}}.dump();
  CHECK_FALSE(open_result({result, ""}, *key));
}
