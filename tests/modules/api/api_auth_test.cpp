// Tokens, sessions, rate limits and the error shape of the API module.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "api_errors.h"
#include "rate_limiter.h"
#include "sessions.h"
#include "token_store.h"

using namespace nauto;
using namespace nauto::api;
using nlohmann::json;

namespace {
constexpr std::int64_t kNow = 1'800'000'000'000'000;
constexpr std::int64_t kDayMs = 86'400'000;
}  // namespace

TEST_CASE("a token's secret is shown once, kept as a digest, and verified", "[api]") {
  TokenStore tokens;
  auto created = tokens.create("alice", {"operator"}, 30 * kDayMs, "CI", "root", kNow);
  REQUIRE(created);
  const auto& [record, token] = *created;
  CHECK(token.rfind("nat_" + record.id + "_", 0) == 0);
  CHECK(token.size() == 4 + 16 + 1 + 43);
  CHECK(record.digest.size() == 64);
  CHECK(record.to_json(true).dump().find(token.substr(21)) == std::string::npos);
  CHECK_FALSE(record.to_json(false).contains("digest"));

  auto holder = tokens.verify(token, "192.0.2.7", kNow + 1);
  REQUIRE(holder);
  CHECK(holder->principal == "alice");
  CHECK(holder->roles == std::vector<std::string>{"operator"});
  auto dirty = tokens.take_dirty();  // created and used
  REQUIRE(dirty.size() == 1);
  CHECK(dirty[0].last_address == "192.0.2.7");
  REQUIRE(tokens.verify(token, "192.0.2.7", kNow + 2));
  CHECK(tokens.take_dirty().empty());  // the same use again is not written again

  auto wrong_secret = token.substr(0, token.size() - 1) + (token.back() == 'A' ? "B" : "A");
  CHECK(tokens.verify(wrong_secret, "x", kNow).error().message == "unknown token");
  CHECK(tokens.verify("nat_0000000000000000_abc", "x", kNow).error().message == "unknown token");
  CHECK(tokens.verify("Basic abc", "x", kNow).error().code == Errc::Unauthenticated);
  CHECK(tokens.verify(token, "x", kNow + 31 * kDayMs * 1000).error().message ==
        "token " + record.id + " has expired");

  REQUIRE(tokens.revoke(record.id, "bob", kNow + 5));
  CHECK(tokens.verify(token, "x", kNow + 6).error().message ==
        "token " + record.id + " was revoked");
  CHECK(tokens.revoke("nope", "bob", kNow).error().code == Errc::NotFound);
  CHECK(tokens.list(false, kNow + 6).empty());
  REQUIRE(tokens.list(true, kNow + 6).size() == 1);
  CHECK(tokens.list(true, kNow + 6)[0].state(kNow + 6) == "revoked");
}

TEST_CASE("a token's holder, roles and lifetime are checked at creation", "[api]") {
  TokenStore tokens;
  CHECK(tokens.create("", {"viewer"}, kDayMs, "", "root", kNow).error().where == "principal");
  CHECK(tokens.create("module:api", {"viewer"}, kDayMs, "", "root", kNow).error().where ==
        "principal");
  CHECK(tokens.create("alice", {}, kDayMs, "", "root", kNow).error().where == "roles");
  CHECK(tokens.create("alice", {"viewer"}, 400 * kDayMs, "", "root", kNow).error().where ==
        "expires");
}

TEST_CASE("tokens survive a restart through their records, and ended ones go", "[api]") {
  TokenStore first;
  auto created = first.create("alice", {"viewer"}, kDayMs, "", "root", kNow);
  REQUIRE(created);
  auto old = first.create("bob", {"viewer"}, kDayMs, "", "root", kNow);
  REQUIRE(old);
  REQUIRE(first.revoke(old->first.id, "root", kNow + 10));
  std::vector<std::pair<std::string, json>> rows;
  for (const auto& record : first.take_dirty())
    rows.emplace_back(record.id, record.to_json(true));
  rows.emplace_back("broken", json{{"id", "broken"}});
  TokenStore second;
  const auto problems = second.load(rows);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("token broken: ", 0) == 0);
  CHECK(second.verify(created->second, "x", kNow + 20));
  CHECK_FALSE(second.verify(old->second, "x", kNow + 20));
  CHECK(second.drop_ended_before(kNow + 11) == std::vector<std::string>{old->first.id});
  CHECK(second.size() == 1);
}

TEST_CASE("a rate limiter passes a burst, then one request per period", "[api]") {
  RateLimiter limiter(2, 3);  // 2/s, bursts of 3
  for (int i = 0; i < 3; ++i)
    CHECK(limiter.admit("a", kNow) == 0);
  CHECK(limiter.admit("a", kNow) == 1);  // the next in half a second: Retry-After 1
  CHECK(limiter.admit("b", kNow) == 0);  // another key has its own bucket
  CHECK(limiter.admit("a", kNow + 500'000) == 0);
  CHECK(limiter.admit("a", kNow + 500'000) == 1);
  CHECK(limiter.refused() == 2);
  RateLimiter slow(1, 1);
  CHECK(slow.admit("a", kNow) == 0);
  CHECK(slow.admit("a", kNow) == 1);
  RateLimiter small(1, 1, 2);  // keys beyond 2: full buckets are forgotten
  for (int i = 0; i < 10; ++i)
    small.admit("k" + std::to_string(i), kNow + i * 2'000'000);
  CHECK(small.keys() <= 3);
}

TEST_CASE("a session lasts its idle and absolute timeouts and ends with its token", "[api]") {
  SessionTable sessions(60'000'000, 600'000'000, 2);
  auto first = sessions.open("t1", kNow);
  REQUIRE(first);
  CHECK(first->first.size() == 64);
  CHECK(first->second.csrf.size() == 64);
  CHECK(first->second.csrf != first->first);
  REQUIRE(sessions.use(first->first, kNow + 50'000'000));
  CHECK_FALSE(sessions.use(first->first, kNow + 200'000'000));  // idle over a minute
  auto second = sessions.open("t2", kNow);
  REQUIRE(second);
  for (std::int64_t t = 50'000'000; t < 600'000'000; t += 50'000'000)
    REQUIRE(sessions.use(second->first, kNow + t));
  CHECK_FALSE(sessions.use(second->first, kNow + 600'000'001));  // ten minutes in all
  auto third = sessions.open("t3", kNow);
  REQUIRE(third);
  sessions.close_token("t3");
  CHECK_FALSE(sessions.use(third->first, kNow));
  CHECK_FALSE(sessions.use("unknown", kNow));
  // At most two: the least recently used makes room.
  auto a = sessions.open("ta", kNow);
  auto b = sessions.open("tb", kNow + 1);
  auto c = sessions.open("tc", kNow + 2);
  REQUIRE((a && b && c));
  CHECK(sessions.size() == 2);
  CHECK_FALSE(sessions.use(a->first, kNow + 3));
}

TEST_CASE("every bus error code has its HTTP status and one JSON shape", "[api]") {
  CHECK(http_status(Errc::InvalidArgument) == 400);
  CHECK(http_status(Errc::PermissionDenied) == 403);
  CHECK(http_status(Errc::NotFound) == 404);
  CHECK(http_status(Errc::Conflict) == 409);
  CHECK(http_status(Errc::Rejected) == 422);
  CHECK(http_status(Errc::Overloaded) == 429);
  CHECK(http_status(Errc::Unauthenticated) == 502);  // a device refused us, not the caller
  CHECK(http_status(Errc::Unavailable) == 503);
  CHECK(http_status(Errc::Timeout) == 504);
  auto response = error_response(Error{Errc::Overloaded, "busy", "job.run"});
  CHECK(response.status == 429);
  CHECK(response.headers == std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}});
  CHECK(json::parse(response.body) ==
        json{{"error", {{"code", "overloaded"}, {"message", "busy"}, {"where", "job.run"}}}});
  auto refused = unauthenticated("unknown token");
  CHECK(refused.status == 401);
  CHECK(refused.headers[0].first == "WWW-Authenticate");
}
