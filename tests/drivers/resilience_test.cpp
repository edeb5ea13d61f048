#include <catch2/catch.hpp>

#include "nauto/base/clock.h"
#include "nauto/drivers/circuit_breaker.h"
#include "nauto/drivers/http_client.h"
#include "nauto/drivers/retry.h"

using namespace nauto;
using namespace nauto::drivers;

TEST_CASE("retry: transient faults retried with growing jittered waits, others not",
          "[drivers][retry]") {
  RetryPolicy policy{4, 10, 1000};
  int calls = 0;
  auto flaky = with_retry<int>(policy, Deadline::after_ms(5000), [&]() -> Result<int> {
    return ++calls < 3 ? Result<int>(fail(Errc::Unreachable, "refused")) : Result<int>(42);
  });
  REQUIRE(flaky);
  CHECK(*flaky == 42);
  CHECK(calls == 3);
  calls = 0;
  auto auth = with_retry<int>(policy, Deadline::after_ms(5000), [&]() -> Result<int> {
    ++calls;
    return fail(Errc::Unauthenticated, "no");
  });
  CHECK_FALSE(auth);
  CHECK(calls == 1);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    auto delay = backoff_delay_ms(policy, attempt);
    CHECK(delay >= 0);
    CHECK(delay <= std::min<std::int64_t>(1000, 10LL << (attempt - 1)));
  }
  calls = 0;
  auto started = steady_us();
  auto bounded =
      with_retry<int>(RetryPolicy{100, 200, 200}, Deadline::after_ms(300), [&]() -> Result<int> {
        ++calls;
        return fail(Errc::Timeout, "slow");
      });
  CHECK_FALSE(bounded);
  CHECK((steady_us() - started) / 1000 < 600);  // never waits past the deadline
}

TEST_CASE("circuit breaker opens after repeated failures and half-opens after cooldown",
          "[drivers][breaker]") {
  CircuitBreaker breaker(2, 100);
  CHECK(breaker.allow("r1"));
  breaker.record_failure(fail(Errc::Rejected, "bad command"));  // the device is fine
  breaker.record_failure(fail(Errc::Unreachable, "refused"));
  CHECK(breaker.allow("r1"));
  breaker.record_failure(fail(Errc::Unreachable, "refused"));
  auto open = breaker.allow("r1");
  REQUIRE_FALSE(open);
  CHECK(open.error().code == Errc::Unavailable);
  CHECK(open.error().message.find("refused") != std::string::npos);
  sleep_ms(150);
  CHECK(breaker.allow("r1"));        // one trial
  CHECK_FALSE(breaker.allow("r1"));  // the others still fail fast
  breaker.record_success();
  CHECK(breaker.allow("r1"));
}

TEST_CASE("Link headers: the next page is found among other relations", "[drivers][http]") {
  CHECK(http::next_link(R"(<https://x/a?p=1>; rel=first, <https://x/a?p=3>; rel=next)") ==
        "https://x/a?p=3");
  CHECK(http::next_link(R"(<https://x/a?p=3>; rel="next")") == "https://x/a?p=3");
  CHECK(http::next_link(R"(<https://x/a?p=1>; rel=prev)").empty());
}
