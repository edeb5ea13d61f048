#pragma once
// EventStreams: the server-sent event streams of GET /api/v1/events/stream (issue 31). Each
// stream has topic patterns (nauto/bus/topic_match.h, ?topic=run.*,job.*) and gets every bus
// event matching one of them as
//   id: <ts>.<event id>
//   data: {"topic", "id", "src", "ts", "body"}
// the same shape journal.query answers. A client that reconnects with Last-Event-ID (or
// ?last_event_id=) first gets what it missed from the journal: while the journal is asked, the
// stream holds the live events that arrive, then sends the journal's events after the last id
// it saw and the held ones it has not sent, each once, so nothing between the two is lost. The
// journal writes in groups a few ms behind the bus, so the last `recent` events this module saw
// are kept too and merged in: an event published just before the reconnect and not yet written
// is sent all the same. When
// more than the replay limit were missed, an `event: gap` says so before the newest of them.
//
// Thread: the module's only. `send` hands bytes to the HTTP server (false: the stream ended).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/bus/envelope.h"
#include "nauto/sdk/http_server.h"

namespace nauto::api {

/// What a client asked for: the topic patterns ("" for every event) and where it left off.
struct StreamRequest {
  std::vector<std::string> patterns;
  std::string last_event_id;  ///< empty: only what happens from now on
  std::int64_t resume_from_us = 0;
};

struct StreamCounters {
  std::uint64_t opened = 0, ended = 0, events_sent = 0, replayed = 0, gaps = 0;
};

class EventStreams {
 public:
  using Sender = std::function<bool(std::uint64_t id, std::string bytes)>;
  EventStreams(Sender send, std::size_t max_streams, std::size_t recent = 10'000);

  /// The stream a request asks for; invalid_argument for a bad pattern or Last-Event-ID.
  static Result<StreamRequest> read_request(const HttpRequest& request);
  /// "<ts>.<id>", and back: the resume point of an event id.
  static std::string event_id(std::int64_t ts, const std::string& id);
  static std::optional<std::pair<std::int64_t, std::string>> parse_event_id(
      const std::string& text);

  bool full() const { return streams_.size() >= max_streams_; }
  /// Starts holding live events for stream `id` until replay(); more than kMaxHeld while the
  /// journal is asked ends the stream (the client reconnects and resumes).
  void begin(std::uint64_t id, StreamRequest request);
  /// Whether stream `id` is still waiting for its replay (not ended meanwhile).
  bool waiting(std::uint64_t id) const;
  static constexpr std::size_t kMaxHeld = 10'000;
  /// The journal's events (oldest first) for a resuming stream, empty for a new one; `gap` when
  /// the journal had more than it answered. Sends them, then the held events, and goes live.
  void replay(std::uint64_t id, const nlohmann::json& journal_events, bool gap);
  /// A bus event, to every stream it matches.
  void publish(const bus::Envelope& event);
  /// A comment line to every live stream: keeps proxies from closing it and finds the clients
  /// that have gone.
  void keepalive();
  void drop(std::uint64_t id);
  std::size_t size() const { return streams_.size(); }
  const StreamCounters& counters() const { return counters_; }

 private:
  // A recent event as it came (its body still msgpack): cheap to keep, shaped when replayed.
  struct Recent {
    std::string topic, id, src;
    std::int64_t ts = 0;
    std::string body;
  };
  static nlohmann::json shaped(const Recent& event);

  struct Stream {
    StreamRequest request;
    bool live = false;
    std::vector<nlohmann::json> held;  ///< live events while the journal is asked
  };
  bool matches(const Stream& stream, const std::string& topic) const;
  static std::string frame_of(const nlohmann::json& event);
  bool send_frame(std::uint64_t id, const std::string& frame);
  bool send_event(std::uint64_t id, const nlohmann::json& event);

  Sender send_;
  std::size_t max_streams_;
  std::map<std::uint64_t, Stream> streams_;
  std::size_t recent_limit_;
  std::deque<Recent> recent_;
  StreamCounters counters_;
};

}  // namespace nauto::api
