#include "nauto/bus/codec.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "nauto/bus/body.h"

using namespace nauto;
using namespace nauto::bus;

namespace {
std::string pack_map(const nlohmann::json& m) {
  return to_body(m.is_null() ? nlohmann::json::object() : m);
}
}  // namespace

TEST_CASE("header round trip keeps every field for every kind", "[bus][codec]") {
  for (auto kind : {Kind::Event, Kind::Request, Kind::Reply, Kind::Error}) {
    Header h;
    h.id = "abc123";
    h.kind = kind;
    h.source = "journal";
    h.correlation_id = "req-1";
    h.time_us = 1763790000123456;
    h.deadline_us = 1763790001123456;
    h.principal = "alice";
    h.roles = "viewer,operator";
    h.scope = "site=dc1";
    auto decoded = decode_header(encode_header(h));
    REQUIRE(decoded);
    CHECK(decoded->principal == "alice");
    CHECK(decoded->roles == "viewer,operator");
    CHECK(decoded->scope == "site=dc1");
    // Encoded from a view (as the router re-stamps a header), the same bytes.
    const auto bytes = encode_header(h);
    auto view = decode_header_view(bytes);
    REQUIRE(view);
    CHECK(encode_header(*view) == bytes);
    CHECK(decoded->id == h.id);
    CHECK(decoded->kind == kind);
    CHECK(decoded->source == h.source);
    CHECK(decoded->correlation_id == h.correlation_id);
    CHECK(decoded->time_us == h.time_us);
    CHECK(decoded->deadline_us == h.deadline_us);
  }
}

TEST_CASE("envelope frames round trip, body untouched", "[bus][codec]") {
  auto e = make_request("journal.query", "cli", to_body({{"topic", "device."}, {"limit", 5}}), 250);
  auto frames = encode_frames(e);
  REQUIRE(frames.size() == 3);
  auto back = decode_frames(frames);
  REQUIRE(back);
  CHECK(back->topic == "journal.query");
  CHECK(back->header.kind == Kind::Request);
  CHECK(back->header.correlation_id == e.header.id);
  CHECK(back->header.deadline_us - back->header.time_us == 250000);
  auto body = from_body(back->body);
  REQUIRE(body);
  CHECK((*body)["limit"] == 5);
}

TEST_CASE("decoders ignore unknown header keys", "[bus][codec]") {
  const auto bytes =
      pack_map({{"v", 1}, {"id", "x"}, {"kind", 0}, {"trace", "future field"}, {"prio", 7}});
  auto h = decode_header(bytes);
  REQUIRE(h);
  CHECK(h->id == "x");
}

TEST_CASE("malformed headers are errors that say what is wrong", "[bus][codec]") {
  struct Case {
    std::string bytes;
    std::string says;
  };
  std::vector<Case> cases = {
      {"", "empty"},
      {"\xc1", "not valid msgpack"},
      {pack_map(nlohmann::json::object()), "no version"},
      {pack_map({{"v", 1}, {"kind", 0}}), "no 'id'"},
      {pack_map({{"v", 1}, {"id", "x"}}), "no 'kind'"},
      {pack_map({{"v", 2}, {"id", "x"}, {"kind", 0}}), "version 2"},
      {pack_map({{"v", 1}, {"id", 5}, {"kind", 0}}), "'id' must be a string"},
      {pack_map({{"v", 1}, {"id", "x"}, {"kind", 9}}), "kind must be"},
      {pack_map({{"v", 1}, {"id", "x"}, {"kind", 2}}), "correlation"},
      {pack_map({{"v", 1}, {"id", "x"}, {"kind", 0}, {"ts", "now"}}), "'ts' must be an integer"},
      {std::string(5000, 'a'), "larger than 4096"},
  };
  msgpack::sbuffer array_buffer;
  msgpack::pack(array_buffer, std::vector<int>{1, 2, 3});
  cases.push_back({std::string(array_buffer.data(), array_buffer.size()), "must be a msgpack map"});
  for (const auto& c : cases) {
    auto h = decode_header(c.bytes);
    REQUIRE_FALSE(h);
    CHECK(h.error().code == Errc::Malformed);
    INFO(h.error().message);
    CHECK(h.error().message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("wrong frame counts and empty topics are rejected", "[bus][codec]") {
  std::vector<zmq::message_t> two;
  two.emplace_back("a", 1);
  two.emplace_back("b", 1);
  auto r = decode_frames(two);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("expected 3 frames") != std::string::npos);

  auto frames = encode_frames(make_event("x", "s", ""));
  frames[0] = zmq::message_t();
  auto empty_topic = decode_frames(frames);
  REQUIRE_FALSE(empty_topic);
  CHECK(empty_topic.error().code == Errc::Malformed);
}

TEST_CASE("random bytes never crash the decoder", "[bus][codec]") {
  std::mt19937 rng(42);
  const auto valid = encode_header(make_event("t", "s", "").header);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    // Mutate a valid header (more interesting than pure noise), sometimes truncate it.
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    auto h = decode_header(bytes);
    if (h) ++accepted;
  }
  CHECK(accepted < 20000);  // most mutations must be caught; none may crash
}

TEST_CASE("error replies carry code, message and where", "[bus][codec]") {
  auto request = make_request("device.run", "runbook", "", 100);
  auto reply = make_error_reply(request, "router", fail(Errc::Timeout, "too slow", "device.run"));
  CHECK(reply.header.kind == Kind::Error);
  CHECK(reply.header.correlation_id == request.header.id);
  auto error = error_from_body(reply.body);
  CHECK(error.code == Errc::Timeout);
  CHECK(error.message == "too slow");
  CHECK(error.where == "device.run");
  CHECK(error_from_body("\xc1").code == Errc::Malformed);
}

TEST_CASE("bodies that are not msgpack are reported, not thrown", "[bus][codec]") {
  auto body = from_body("\xc1\xc1");
  REQUIRE_FALSE(body);
  CHECK(body.error().code == Errc::Malformed);
  auto empty = from_body("");
  REQUIRE(empty);
  CHECK(empty->is_null());
}

TEST_CASE("bodies are depth-checked before they are parsed", "[bus][body]") {
  // 100,000 nested one-element arrays: nlohmann's parser would recurse once a level and
  // overflow the stack; the bounded walk refuses them first.
  const std::string deep = std::string(100'000, '\x91') + '\xc0';
  auto decoded = nauto::bus::from_body(deep);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == nauto::Errc::Malformed);
  CHECK(decoded.error().message.find("nests deeper than 100") != std::string::npos);
  // Up to the limit they pass.
  const std::string fine = std::string(99, '\x91') + '\xc0';
  CHECK(nauto::bus::from_body(fine));
  // A count that promises more items than bytes, trailing bytes, a cut string, a bad type.
  for (const std::string& bad :
       {std::string("\xdd\xff\xff\xff\xff\xc0", 6), std::string("\xc0\xc0", 2),
        std::string("\xa5"
                    "ab",
                    3),
        std::string("\xc1", 1)}) {
    CHECK_FALSE(nauto::bus::from_body(bad));
  }
  CHECK(*nauto::bus::from_body(nauto::bus::to_body({{"a", {1, 2, {{"b", nullptr}}}}})) ==
        nlohmann::json{{"a", {1, 2, {{"b", nullptr}}}}});
}

// Found by fuzzing (tests/fuzz/corpus/envelope/regression-*): an error reply whose message is
// not a string made json::value() throw in every caller of error_from_body.
TEST_CASE("an error body with fields of the wrong type is read, not thrown", "[bus][fuzz]") {
  const auto body = nauto::bus::to_body({{"code", "not_found"}, {"message", {1, 2}}, {"where", 7}});
  nauto::Error error;
  REQUIRE_NOTHROW(error = nauto::bus::error_from_body(body));
  CHECK(error.code == nauto::Errc::NotFound);
  CHECK(error.message.empty());
  CHECK(error.where.empty());
}
