#pragma once
// The bus envelope: every message on the nauto bus is three ZeroMQ frames,
//   [topic] [header: msgpack map] [body: msgpack]
// The topic has a frame of its own so prefix matching never looks inside a payload.
// Requests use the service name as topic; replies and errors carry the request's id as
// correlation id.

#include <cstdint>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::bus {

/// What a message is. Events fan out to subscribers; a request goes to the one module serving
/// its topic and is answered by exactly one reply or error.
enum class Kind : std::uint8_t { Event = 0, Request = 1, Reply = 2, Error = 3 };

std::string_view kind_name(Kind kind) noexcept;

/// Envelope header. Decoders ignore unknown keys, so new optional fields never break peers;
/// `kVersion` changes only on a breaking change.
struct Header {
  static constexpr std::uint32_t kVersion = 1;

  std::string id;  ///< unique per message (nauto::new_id)
  Kind kind = Kind::Event;
  std::string source;            ///< name of the sending module or client
  std::string correlation_id;    ///< for replies/errors: the id of the request answered
  std::int64_t time_us = 0;      ///< when the message was created, Unix microseconds
  std::int64_t deadline_us = 0;  ///< requests: answer by then (Unix microseconds); 0 = default
  /// Requests: who asked, as the router verified it from the connection (a unix user over ipc,
  /// a CURVE key over tcp, a module in-process). The router overwrites whatever the sender
  /// wrote, so a module takes its caller from here, never from a body.
  std::string principal;
  /// Requests: the roles the router found for `principal`, comma-separated (viewer,operator).
  std::string roles;
  /// Requests: the devices the caller may act on for this service, as an inventory selector
  /// (site=dc1); empty for no limit. The router sets it from the roles that grant the service;
  /// a module acting for a user (a runbook's run, a config push) passes that user's on.
  std::string scope;
  /// Requests: a module acting for a user it verified itself (the API module for a token's
  /// holder) names that user here, and the user's roles in `roles`. The router then checks the
  /// service against those roles as it would for the user, and stamps `principal` with this
  /// name: a module narrows its own trust to the user's, never widens it. From a peer that is
  /// not a module, such a request is refused.
  std::string acting_for;
};

/// One bus message. `body` holds msgpack bytes; the bus never looks inside it.
struct Envelope {
  std::string topic;
  Header header;
  std::string body;
};

/// Builds an event with a fresh id and the current time.
Envelope make_event(std::string topic, std::string source, std::string body);
/// Builds a request with a fresh id; `timeout_ms` sets the deadline from now.
Envelope make_request(std::string service, std::string source, std::string body,
                      std::int64_t timeout_ms);
/// Builds the reply to `request`, correlated by its id.
Envelope make_reply(const Envelope& request, std::string source, std::string body);
/// Builds an error reply to `request`; the body encodes `error` (see error_body).
Envelope make_error_reply(const Envelope& request, std::string source, const Error& error);

/// The msgpack body of an error reply: {code, message, where}.
std::string error_body(const Error& error);
/// Reads an error reply body back into an Error; a malformed body becomes Errc::Malformed.
Error error_from_body(std::string_view body);

}  // namespace nauto::bus
