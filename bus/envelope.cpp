#include "nauto/bus/envelope.h"

#include <nlohmann/json.hpp>

#include "nauto/base/clock.h"
#include "nauto/base/ids.h"
#include "nauto/bus/body.h"

namespace nauto::bus {

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::Event:
      return "event";
    case Kind::Request:
      return "request";
    case Kind::Reply:
      return "reply";
    case Kind::Error:
      return "error";
  }
  return "unknown";
}

Envelope make_event(std::string topic, std::string source, std::string body) {
  Envelope e;
  e.topic = std::move(topic);
  e.header.id = new_id();
  e.header.kind = Kind::Event;
  e.header.source = std::move(source);
  e.header.time_us = now_us();
  e.body = std::move(body);
  return e;
}

Envelope make_request(std::string service, std::string source, std::string body,
                      std::int64_t timeout_ms) {
  Envelope e = make_event(std::move(service), std::move(source), std::move(body));
  e.header.kind = Kind::Request;
  e.header.correlation_id = e.header.id;
  e.header.deadline_us = timeout_ms > 0 ? e.header.time_us + timeout_ms * 1000 : 0;
  return e;
}

Envelope make_reply(const Envelope& request, std::string source, std::string body) {
  Envelope e = make_event(request.topic, std::move(source), std::move(body));
  e.header.kind = Kind::Reply;
  e.header.correlation_id = request.header.id;
  return e;
}

Envelope make_error_reply(const Envelope& request, std::string source, const Error& error) {
  Envelope e = make_reply(request, std::move(source), error_body(error));
  e.header.kind = Kind::Error;
  return e;
}

std::string error_body(const Error& error) {
  nlohmann::json j = {{"code", errc_name(error.code)}, {"message", error.message}};
  if (!error.where.empty()) j["where"] = error.where;
  const auto bytes = nlohmann::json::to_msgpack(j);
  return std::string(bytes.begin(), bytes.end());
}

Error error_from_body(std::string_view body) {
  const auto parsed = from_body(body);
  const auto& j = parsed ? *parsed : nlohmann::json();
  const auto text = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!j.is_object() || !j.contains("code") || !j["code"].is_string()) {
    return fail(Errc::Malformed, "error reply with an unreadable body");
  }
  Error e;
  e.code = errc_from_name(j["code"].get<std::string>());
  // Any other type in these fields (found by fuzzing: an array as the message) is dropped,
  // not thrown: json::value() throws when the stored type differs.
  e.message = text("message");
  e.where = text("where");
  return e;
}

}  // namespace nauto::bus
