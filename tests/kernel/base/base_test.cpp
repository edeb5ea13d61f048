#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

#include "nauto/base/ids.h"
#include "nauto/base/log.h"
#include "nauto/base/result.h"

using namespace nauto;

namespace {
Result<int> half(int n) {
  if (n % 2) return fail(Errc::InvalidArgument, "odd number", "half");
  return n / 2;
}
}  // namespace

TEST_CASE("Result holds a value or an error", "[base]") {
  auto good = half(8);
  REQUIRE(good);
  CHECK(*good == 4);
  CHECK(good.value_or(-1) == 4);
  auto bad = half(3);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::InvalidArgument);
  CHECK(bad.error().describe() == "half: odd number");
  CHECK(bad.value_or(-1) == -1);
  Result<void> done = ok();
  CHECK(done);
  Result<void> failed = fail(Errc::Timeout, "late");
  CHECK_FALSE(failed);
  CHECK(failed.error().describe() == "late");
}

TEST_CASE("error codes have stable names both ways", "[base]") {
  for (auto code :
       {Errc::InvalidArgument, Errc::InvalidConfig, Errc::Malformed, Errc::NotFound,
        Errc::Unavailable, Errc::Timeout, Errc::Overloaded, Errc::ResourceExhausted, Errc::System,
        Errc::Library, Errc::Unsupported, Errc::Cancelled, Errc::Unreachable, Errc::Unauthenticated,
        Errc::Untrusted, Errc::Rejected, Errc::Bug}) {
    CHECK(errc_from_name(errc_name(code)) == code);
  }
  CHECK(errc_name(Errc::Timeout) == "timeout");
  CHECK(errc_from_name("no such code") == Errc::Bug);
}

TEST_CASE("ids are unique across threads", "[base]") {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 5000; ++i)
        ids.push_back(new_id());
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread)
    all.insert(ids.begin(), ids.end());
  CHECK(all.size() == 20000);
  for (const auto& id : all) {
    REQUIRE(id.size() == 24);
    REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  // One thread's ids share its 16-digit prefix and count up in the last 8 digits.
  const auto& first = per_thread[0];
  CHECK(first[0].substr(0, 16) == first[4999].substr(0, 16));
  CHECK(std::stoul(first[1].substr(16), nullptr, 16) ==
        std::stoul(first[0].substr(16), nullptr, 16) + 1);
}

TEST_CASE("log levels are checked by name", "[base]") {
  CHECK(*parse_log_level("debug") == spdlog::level::debug);
  auto bad = parse_log_level("loud");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("expected one of trace, debug") != std::string::npos);
  LogOptions unwritable;
  unwritable.file = "/dev/null/nauto.log";  // a file as parent: never creatable
  auto refused = log_setup(unwritable);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::System);
}
