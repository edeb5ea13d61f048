#pragma once
// NETCONF message framing (RFC 6242): end-of-message `]]>]]>` for base:1.0, chunked framing
// (`\n#<len>\n...\n##\n`) for base:1.1. The decoder is fed bytes as they arrive and yields
// whole messages; malformed chunk headers are errors, never guesses.

#include <optional>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::drivers::netconf {

enum class Framing { EndOfMessage, Chunked };

/// Frames one message for sending. Errors: InvalidArgument when base:1.0 framing is asked for a
/// message that contains `]]>]]>` — the peer would take it as the end of the message and read
/// the rest as a second one (no well-formed XML contains it outside a CDATA section).
Result<std::string> frame(std::string_view message, Framing framing);

class FrameDecoder {
 public:
  void set_framing(Framing framing) { framing_ = framing; }
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next complete message, nullopt if more bytes are needed, Malformed on a bad chunk.
  Result<std::optional<std::string>> next();
  std::size_t buffered() const { return buffer_.size(); }

 private:
  Framing framing_ = Framing::EndOfMessage;
  std::string buffer_;
};

}  // namespace nauto::drivers::netconf
