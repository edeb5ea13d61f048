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

/// Header as a msgpack map {v, id, kind, src, corr, ts, dl}. Empty strings and zero times are
/// omitted to keep the hot path small.
std::string encode_header(const Header& header);
/// Parses a header map; unknown keys are ignored, missing `v`/`id`/`kind` are errors.
Result<Header> decode_header(std::string_view bytes);

/// The three frames of an envelope, ready for zmq::send_multipart.
std::vector<zmq::message_t> encode_frames(const Envelope& envelope);
/// Reads exactly three frames back into an envelope.
Result<Envelope> decode_frames(std::span<const zmq::message_t> frames);

}  // namespace nauto::bus
