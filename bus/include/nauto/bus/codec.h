#pragma once
// Encoding and decoding of envelope headers (msgpack) and of whole envelopes as frames.
// Decoding never throws and never trusts its input: anything malformed is an Errc::Malformed
// Result that says which part is wrong.

#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "nauto/bus/envelope.h"

namespace nauto::bus {

/// Header as a msgpack map {v, id, kind, src, corr, ts, dl, pr, ro, sc, af}. Empty strings and zero
/// times are omitted to keep the hot path small.
std::string encode_header(const Header& header);
/// A decoded header whose strings point into the bytes it was read from (valid as long as
/// they are). The router uses it to route without allocating.
struct HeaderView {
  std::string_view id;
  Kind kind = Kind::Event;
  std::string_view source;
  std::string_view correlation_id;
  std::int64_t time_us = 0;
  std::int64_t deadline_us = 0;
  std::string_view principal;
  std::string_view roles;
  std::string_view scope;
  std::string_view acting_for;
  Header to_header() const;
};

/// The same encoding from a view, without copying its strings (the router re-stamps headers).
std::string encode_header(const HeaderView& header);

/// Parses a header map; unknown keys are ignored, missing `v`/`id`/`kind` are errors.
Result<HeaderView> decode_header_view(std::string_view bytes);
/// Same, with owned strings.
Result<Header> decode_header(std::string_view bytes);

/// The three frames of an envelope, ready for zmq::send_multipart.
std::vector<zmq::message_t> encode_frames(const Envelope& envelope);
/// Reads exactly three frames back into an envelope.
Result<Envelope> decode_frames(std::span<const zmq::message_t> frames);

}  // namespace nauto::bus
