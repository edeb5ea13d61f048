// RedisConnection against a real redis-server (tests/support/redis_server.h): URLs, ACL
// authentication, pipelines, stream helpers, deadlines, and a server that goes away.

#include "redis_connection.h"

#include <catch2/catch.hpp>

#include "nauto/base/clock.h"
#include "support/redis_server.h"

using namespace nauto;
using namespace nauto::devices;

namespace {

RedisEndpoint endpoint_of(const test::RedisServer& server, std::string password = "test-pass") {
  auto endpoint = parse_redis_url(server.url());
  REQUIRE(endpoint);
  endpoint->password = std::move(password);
  return *endpoint;
}

}  // namespace

TEST_CASE("Redis URLs: scheme, user, port, database; never a password") {
  auto plain = parse_redis_url("redis://cache.example.net");
  REQUIRE(plain);
  CHECK(plain->host == "cache.example.net");
  CHECK(plain->port == 6379);
  CHECK_FALSE(plain->tls);
  auto full = parse_redis_url("rediss://nauto@10.0.0.5:6380/2");
  REQUIRE(full);
  CHECK(full->tls);
  CHECK(full->username == "nauto");
  CHECK(full->host == "10.0.0.5");
  CHECK(full->port == 6380);
  CHECK(full->database == 2);
  CHECK(describe(*full) == "rediss://nauto@10.0.0.5:6380/2");
  auto v6 = parse_redis_url("redis://[::1]:7000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(describe(*v6) == "redis://[::1]:7000/0");

  auto secret = parse_redis_url("redis://nauto:hunter2@host");
  REQUIRE_FALSE(secret);
  CHECK_THAT(secret.error().message, Catch::Contains("vault"));
  CHECK(secret.error().message.find("hunter2") == std::string::npos);
  CHECK_FALSE(parse_redis_url("http://host"));
  CHECK_FALSE(parse_redis_url("redis://host:0"));
  CHECK_FALSE(parse_redis_url("redis://host:99999"));
  CHECK_FALSE(parse_redis_url("redis://host/x"));
  CHECK_FALSE(parse_redis_url("redis://"));
}

TEST_CASE("a connection authenticates as an ACL user and pipelines commands in order") {
  test::RedisServer server;
  auto wrong = RedisConnection::open(endpoint_of(server, "not-it"), 5000);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == Errc::Unauthenticated);
  CHECK(wrong.error().message.find("not-it") == std::string::npos);

  auto redis = RedisConnection::open(endpoint_of(server), 5000);
  REQUIRE(redis);
  auto replies = (*redis)->pipeline({{"SET", "nauto:a", "1"},
                                     {"INCR", "nauto:a"},
                                     {"GET", "nauto:a"},
                                     {"GET", "nauto:missing"},
                                     {"LPUSH", "nauto:a", "x"}},
                                    5000);
  REQUIRE(replies);
  REQUIRE(replies->size() == 5);
  CHECK((*replies)[0].text == "OK");
  CHECK((*replies)[1].integer == 2);
  CHECK((*replies)[2].text == "2");
  CHECK((*replies)[3].is_nil());
  CHECK((*replies)[4].is_error());  // WRONGTYPE, in its place
  CHECK_FALSE((*redis)->broken());
  // Keys outside the user's pattern are refused by the server, as Rejected.
  auto outside = (*redis)->command({"SET", "other:key", "1"}, 5000);
  REQUIRE_FALSE(outside);
  CHECK(outside.error().code == Errc::Rejected);

  // Binary-safe values: a payload with NUL bytes and newlines comes back whole.
  const std::string binary("a\0b\r\nc", 6);
  REQUIRE((*redis)->command({"SET", "nauto:bin", binary}, 5000));
  auto back = (*redis)->command({"GET", "nauto:bin"}, 5000);
  REQUIRE(back);
  CHECK(back->text == binary);
}

TEST_CASE("stream helpers: groups, reads, claims") {
  test::RedisServer server;
  auto opened = RedisConnection::open(endpoint_of(server), 5000);
  REQUIRE(opened);
  auto& redis = **opened;
  REQUIRE(ensure_group(redis, "nauto:s", "g", 5000));
  REQUIRE(ensure_group(redis, "nauto:s", "g", 5000));  // again: fine
  REQUIRE(redis.command({"XADD", "nauto:s", "*", "i", "one", "s", "sig1"}, 5000));
  REQUIRE(redis.command({"XADD", "nauto:s", "*", "i", "two"}, 5000));
  auto read = redis.command(
      {"XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS", "nauto:s", ">"}, 5000);
  REQUIRE(read);
  auto entries = read_group_entries(*read);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].field("i") == "one");
  CHECK(entries[0].field("s") == "sig1");
  CHECK(entries[1].field("s").empty());
  // Nothing new: a BLOCK that times out is nil, read as no entries.
  auto none = redis.command(
      {"XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "BLOCK", "50", "STREAMS", "nauto:s", ">"},
      5000);
  REQUIRE(none);
  CHECK(read_group_entries(*none).empty());
  // Another consumer claims what c1 left idle.
  auto claimed =
      redis.command({"XAUTOCLAIM", "nauto:s", "g", "c2", "0", "0-0", "COUNT", "10"}, 5000);
  REQUIRE(claimed);
  REQUIRE(claimed->elements.size() >= 2);
  CHECK(stream_entries(claimed->elements[1]).size() == 2);
}

TEST_CASE("deadlines, refusals and a server that goes away leave the connection broken") {
  test::RedisServer server;
  auto opened = RedisConnection::open(endpoint_of(server), 5000);
  REQUIRE(opened);
  auto& redis = **opened;
  // A blocking read longer than the call's deadline: Timeout, and the connection is spent.
  const auto started = steady_us();
  auto slow = redis.command({"BLPOP", "nauto:nothing", "5"}, 200);
  REQUIRE_FALSE(slow);
  CHECK(slow.error().code == Errc::Timeout);
  CHECK(steady_us() - started < 2'000'000);
  CHECK(redis.broken());
  CHECK_FALSE(redis.command({"PING"}, 1000));

  auto again = RedisConnection::open(endpoint_of(server), 5000);
  REQUIRE(again);
  REQUIRE((*again)->command({"SET", "nauto:kept", "yes"}, 5000));
  server.restart();  // AOF with appendfsync always: what was acknowledged is still there
  CHECK_FALSE((*again)->command({"PING"}, 2000));
  CHECK((*again)->broken());
  auto after = RedisConnection::open(endpoint_of(server), 5000);
  REQUIRE(after);
  auto kept = (*after)->command({"GET", "nauto:kept"}, 5000);
  REQUIRE(kept);
  CHECK(kept->text == "yes");

  server.kill();
  auto refused = RedisConnection::open(endpoint_of(server), 2000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Unreachable);
}
