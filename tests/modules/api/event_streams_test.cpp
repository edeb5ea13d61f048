// Event streams: topic patterns, live events held while the journal is asked and sent once
// after the replay, a resume point the journal no longer has, gaps, and clients that go away.

#include "event_streams.h"

#include <catch2/catch.hpp>

#include "nauto/bus/body.h"

using namespace nauto;
using namespace nauto::api;
using nlohmann::json;

namespace {

struct Sink {
  std::map<std::uint64_t, std::string> received;
  std::set<std::uint64_t> gone;
  EventStreams::Sender sender() {
    return [this](std::uint64_t id, std::string bytes) {
      if (gone.contains(id)) return false;
      received[id] += bytes;
      return true;
    };
  }
};

bus::Envelope event(const std::string& topic, const std::string& id, std::int64_t ts) {
  auto envelope = bus::make_event(topic, "runbooks", bus::to_body(json{{"n", id}}));
  envelope.header.id = id;
  envelope.header.time_us = ts;
  return envelope;
}

json stored(const std::string& topic, const std::string& id, std::int64_t ts) {
  return {{"topic", topic}, {"id", id}, {"src", "runbooks"}, {"ts", ts}, {"body", {{"n", id}}}};
}

// The ids of the data events in a stream's bytes, in order.
std::vector<std::string> ids(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = bytes.find("id: ", at)) != std::string::npos) {
    const auto end = bytes.find('\n', at);
    out.push_back(bytes.substr(at + 4, end - at - 4));
    at = end;
  }
  return out;
}

HttpRequest stream_request(std::vector<std::pair<std::string, std::string>> query,
                           std::string last_event_id = "") {
  HttpRequest request;
  request.method = "GET";
  request.path = "/api/v1/events/stream";
  request.query = std::move(query);
  if (!last_event_id.empty()) request.headers.emplace_back("last-event-id", last_event_id);
  return request;
}

}  // namespace

TEST_CASE("a stream reads its topics and resume point from the request", "[api]") {
  auto plain = EventStreams::read_request(stream_request({{"topic", "run.*,job.>"}}));
  REQUIRE(plain);
  CHECK(plain->patterns == std::vector<std::string>{"run.*", "job.>"});
  CHECK(plain->last_event_id.empty());
  auto all = EventStreams::read_request(stream_request({}));
  REQUIRE(all);
  CHECK(all->patterns == std::vector<std::string>{""});
  auto resumed = EventStreams::read_request(stream_request({}, "1700000000000000.abc"));
  REQUIRE(resumed);
  CHECK(resumed->resume_from_us == 1700000000000000);
  auto by_query = EventStreams::read_request(stream_request({{"last_event_id", "5.x"}}));
  REQUIRE(by_query);
  CHECK(by_query->last_event_id == "5.x");
  CHECK(EventStreams::read_request(stream_request({{"topic", "run.>.x"}})).error().where ==
        "topic");
  CHECK(EventStreams::read_request(stream_request({}, "nonsense")).error().where ==
        "last_event_id");
  CHECK(EventStreams::read_request(stream_request({{"colour", "red"}})).error().where == "colour");
}

TEST_CASE("live events are held while the journal is asked and each is sent once", "[api]") {
  Sink sink;
  EventStreams streams(sink.sender(), 10);
  StreamRequest request;
  request.patterns = {"run.*"};
  request.last_event_id = "100.a";
  request.resume_from_us = 100;
  streams.begin(1, request);
  // While the journal is asked: c arrives live (the journal has it too), d only live.
  streams.publish(event("run.step", "c", 300));
  streams.publish(event("job.progress", "x", 310));  // another topic: never sent
  streams.publish(event("run.finished", "d", 400));
  CHECK(sink.received[1].empty());
  CHECK(streams.waiting(1));
  json journal = json::array({stored("run.started", "a", 100), stored("run.step", "b", 200),
                              stored("run.step", "c", 300)});
  streams.replay(1, journal, false);
  CHECK(ids(sink.received[1]) == std::vector<std::string>{"200.b", "300.c", "400.d"});
  CHECK(sink.received[1].rfind("retry: 2000\n\n", 0) == 0);
  streams.publish(event("run.step", "e", 500));
  CHECK(ids(sink.received[1]).back() == "500.e");
  CHECK(streams.counters().replayed == 3);  // b and c from the journal, d seen recently
}

TEST_CASE("an event seen before the stream began but not yet in the journal is replayed", "[api]") {
  Sink sink;
  EventStreams streams(sink.sender(), 10);
  // Published and seen by the module before the client reconnected; the journal, which writes
  // in groups, has only the first when it is asked.
  streams.publish(event("run.step", "a", 100));
  streams.publish(event("run.step", "b", 200));
  streams.publish(event("run.finished", "c", 300));
  StreamRequest request;
  request.patterns = {"run.*"};
  request.last_event_id = "100.a";
  request.resume_from_us = 100;
  streams.begin(1, request);
  streams.replay(1, json::array({stored("run.step", "a", 100), stored("run.step", "b", 200)}),
                 false);
  CHECK(ids(sink.received[1]) == std::vector<std::string>{"200.b", "300.c"});
  // Only the last `recent` are kept.
  EventStreams small(sink.sender(), 10, 2);
  for (int i = 1; i <= 5; ++i)
    small.publish(event("a.b", "e" + std::to_string(i), i));
  small.begin(2, StreamRequest{{""}, "1.e1", 1});
  small.replay(2, json::array(), false);
  CHECK(ids(sink.received[2]) == std::vector<std::string>{"4.e4", "5.e5"});
}

TEST_CASE("a resume point the journal no longer has replays all it has; a gap is said", "[api]") {
  Sink sink;
  EventStreams streams(sink.sender(), 10);
  StreamRequest request;
  request.patterns = {""};
  request.last_event_id = "50.gone";
  request.resume_from_us = 50;
  streams.begin(7, request);
  streams.replay(7, json::array({stored("a.b", "p", 60), stored("a.c", "q", 70)}), true);
  CHECK(ids(sink.received[7]) == std::vector<std::string>{"60.p", "70.q"});
  CHECK(sink.received[7].find("event: gap\n") != std::string::npos);
  CHECK(streams.counters().gaps == 1);
}

TEST_CASE("a stream whose client went away is dropped; the limit is kept", "[api]") {
  Sink sink;
  EventStreams streams(sink.sender(), 2);
  streams.begin(1, StreamRequest{{""}, "", 0});
  streams.begin(2, StreamRequest{{"run.*"}, "", 0});
  CHECK(streams.full());
  streams.replay(1, json::array(), false);
  streams.replay(2, json::array(), false);
  sink.gone.insert(1);
  streams.publish(event("run.step", "x", 1));
  CHECK(streams.size() == 1);
  sink.gone.insert(2);
  streams.keepalive();
  CHECK(streams.size() == 0);
  CHECK(streams.counters().ended == 2);
  // A stream still being replayed is not sent keepalives, and too many held events end it.
  streams.begin(3, StreamRequest{{""}, "", 0});
  streams.keepalive();
  CHECK(streams.waiting(3));
  for (std::size_t i = 0; i <= EventStreams::kMaxHeld; ++i)
    streams.publish(event("a.b", std::to_string(i), 1));
  CHECK_FALSE(streams.waiting(3));
}
