#include "event_streams.h"

#include <algorithm>
#include <charconv>

#include "nauto/bus/body.h"
#include "nauto/bus/topic_match.h"

namespace nauto::api {

using nlohmann::json;

EventStreams::EventStreams(Sender send, std::size_t max_streams, std::size_t recent)
    : send_(std::move(send)), max_streams_(max_streams), recent_limit_(recent) {}

Result<StreamRequest> EventStreams::read_request(const HttpRequest& request) {
  StreamRequest out;
  for (const auto& [name, value] : request.query) {
    if (name != "topic" && name != "last_event_id")
      return fail(Errc::InvalidArgument,
                  "unknown query parameter '" + name.substr(0, 60) +
                      "': the event stream takes topic and last_event_id",
                  name);
  }
  const std::string topics(request.query_value("topic").value_or(""));
  std::size_t from = 0;
  while (from <= topics.size()) {
    const auto comma = topics.find(',', from);
    auto pattern =
        topics.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (!pattern.empty()) {
      if (auto valid = bus::validate_pattern(pattern); !valid)
        return fail(Errc::InvalidArgument,
                    "topic '" + pattern.substr(0, 80) + "': " + valid.error().message, "topic");
      out.patterns.push_back(std::move(pattern));
    }
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  if (out.patterns.empty()) out.patterns.push_back("");
  std::string last(request.header("last-event-id"));
  if (last.empty()) last = std::string(request.query_value("last_event_id").value_or(""));
  if (!last.empty()) {
    auto parsed = parse_event_id(last);
    if (!parsed)
      return fail(Errc::InvalidArgument,
                  "Last-Event-ID '" + last.substr(0, 80) + "' is not an id this stream sent",
                  "last_event_id");
    out.last_event_id = last;
    out.resume_from_us = parsed->first;
  }
  return out;
}

std::string EventStreams::event_id(std::int64_t ts, const std::string& id) {
  return std::to_string(ts) + "." + id;
}

std::optional<std::pair<std::int64_t, std::string>> EventStreams::parse_event_id(
    const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 >= text.size() || text.size() > 200)
    return std::nullopt;
  std::int64_t ts = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + dot, ts);
  if (error != std::errc() || end != text.data() + dot || ts < 0) return std::nullopt;
  return std::pair{ts, text.substr(dot + 1)};
}

void EventStreams::begin(std::uint64_t id, StreamRequest request) {
  streams_[id] = Stream{std::move(request), false, {}};
  ++counters_.opened;
}

bool EventStreams::waiting(std::uint64_t id) const {
  auto found = streams_.find(id);
  return found != streams_.end() && !found->second.live;
}

bool EventStreams::matches(const Stream& stream, const std::string& topic) const {
  for (const auto& pattern : stream.request.patterns)
    if (bus::topic_matches(pattern, topic)) return true;
  return false;
}

std::string EventStreams::frame_of(const json& event) {
  return "id: " + event_id(event.value("ts", std::int64_t{0}), event.value("id", "")) +
         "\ndata: " + event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

bool EventStreams::send_frame(std::uint64_t id, const std::string& frame) {
  if (!send_(id, frame)) {
    drop(id);
    return false;
  }
  ++counters_.events_sent;
  return true;
}

bool EventStreams::send_event(std::uint64_t id, const json& event) {
  return send_frame(id, frame_of(event));
}

json EventStreams::shaped(const Recent& event) {
  auto body = bus::from_body(event.body);
  return json{{"topic", event.topic},
              {"id", event.id},
              {"src", event.src},
              {"ts", event.ts},
              {"body", body ? std::move(*body) : json(nullptr)}};
}

void EventStreams::replay(std::uint64_t id, const json& journal_events, bool gap) {
  auto found = streams_.find(id);
  if (found == streams_.end()) return;
  // Reconnect after 2 s unless the client has its own idea.
  if (!send_(id, "retry: 2000\n\n")) return drop(id);
  auto& stream = found->second;
  std::set<std::string> sent;
  if (!stream.request.last_event_id.empty()) {
    const auto last = parse_event_id(stream.request.last_event_id);
    // The journal's events, and the recent ones this module saw that the journal had not
    // written yet when it was asked (its writes are grouped, a few ms behind), in time order.
    std::vector<json> missed;
    std::set<std::string> in_journal;
    for (const auto& event : journal_events.is_array() ? journal_events : json::array()) {
      in_journal.insert(event.value("id", ""));
      missed.push_back(event);
    }
    for (const auto& event : recent_)
      if (event.ts >= stream.request.resume_from_us && !in_journal.contains(event.id))
        missed.push_back(shaped(event));
    std::stable_sort(missed.begin(), missed.end(), [](const json& a, const json& b) {
      return a.value("ts", std::int64_t{0}) < b.value("ts", std::int64_t{0});
    });
    // Events after the last one the client saw; all of them when it is not among them (its
    // time's events are then sent again: at least once, never lost).
    bool after = true;
    for (const auto& event : missed)
      if (event.value("id", "") == last->second) after = false;
    if (gap) {
      ++counters_.gaps;
      if (!send_(id,
                 "event: gap\ndata: {\"reason\":\"more events were missed than are "
                 "replayed; the oldest were left out\"}\n\n"))
        return drop(id);
    }
    for (const auto& event : missed) {
      if (!after) {
        after = event.value("id", "") == last->second;
        continue;
      }
      if (!matches(stream, event.value("topic", ""))) continue;
      if (!send_event(id, event)) return;
      sent.insert(event.value("id", ""));
      ++counters_.replayed;
    }
  }
  for (const auto& event : stream.held) {
    if (sent.contains(event.value("id", ""))) continue;
    if (!send_event(id, event)) return;
  }
  stream.held.clear();
  stream.live = true;
}

void EventStreams::publish(const bus::Envelope& event) {
  Recent recent{event.topic, event.header.id, event.header.source, event.header.time_us,
                event.body};
  std::optional<json> event_json;
  std::optional<std::string> frame;  // the same bytes for every live stream
  for (auto it = streams_.begin(); it != streams_.end();) {
    const auto id = it->first;
    auto& stream = it->second;
    ++it;  // send_event may drop this stream
    if (!matches(stream, event.topic)) continue;
    if (!event_json) event_json = shaped(recent);
    if (!stream.live) {
      if (stream.held.size() >= kMaxHeld) {
        drop(id);
      } else {
        stream.held.push_back(*event_json);
      }
      continue;
    }
    if (!frame) frame = frame_of(*event_json);
    send_frame(id, *frame);
  }
  if (recent_limit_ > 0) {
    recent_.push_back(std::move(recent));
    if (recent_.size() > recent_limit_) recent_.pop_front();
  }
}

void EventStreams::keepalive() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    const auto id = it->first;
    const bool live = it->second.live;
    ++it;
    if (live && !send_(id, ": keepalive\n\n")) drop(id);
  }
}

void EventStreams::drop(std::uint64_t id) {
  if (streams_.erase(id) > 0) ++counters_.ended;
}

}  // namespace nauto::api
