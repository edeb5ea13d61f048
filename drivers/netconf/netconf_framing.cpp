#include "netconf_framing.h"

#include <cctype>

namespace nauto::drivers::netconf {

namespace {
constexpr std::string_view kEndOfMessage = "]]>]]>";
constexpr std::size_t kMaxChunk = 4294967295u;  // RFC 6242: chunk-size up to 2^32-1
}  // namespace

Result<std::string> frame(std::string_view message, Framing framing) {
  if (framing == Framing::EndOfMessage) {
    if (message.find(kEndOfMessage) != std::string_view::npos) {
      return fail(Errc::InvalidArgument,
                  "the NETCONF message contains ']]>]]>', which ends a message under base:1.0 "
                  "framing; it is not sent");
    }
    return std::string(message) + std::string(kEndOfMessage);
  }
  return "\n#" + std::to_string(message.size()) + "\n" + std::string(message) + "\n##\n";
}

Result<std::optional<std::string>> FrameDecoder::next() {
  if (framing_ == Framing::EndOfMessage) {
    auto at = buffer_.find(kEndOfMessage);
    if (at == std::string::npos) return std::optional<std::string>{};
    std::string message = buffer_.substr(0, at);
    buffer_.erase(0, at + kEndOfMessage.size());
    return std::optional<std::string>{std::move(message)};
  }
  std::string message;
  std::size_t at = 0;
  for (;;) {
    // Each chunk: LF '#' size LF data; the end: LF '#' '#' LF.
    if (buffer_.size() < at + 4) return std::optional<std::string>{};
    if (buffer_[at] != '\n' || buffer_[at + 1] != '#') {
      return fail(Errc::Malformed, "NETCONF chunk header expected at byte " + std::to_string(at));
    }
    if (buffer_[at + 2] == '#') {
      if (buffer_[at + 3] != '\n') return fail(Errc::Malformed, "bad NETCONF end-of-chunks marker");
      buffer_.erase(0, at + 4);
      return std::optional<std::string>{std::move(message)};
    }
    std::size_t digits = at + 2;
    std::uint64_t size = 0;
    while (digits < buffer_.size() && std::isdigit(static_cast<unsigned char>(buffer_[digits]))) {
      size = size * 10 + static_cast<std::uint64_t>(buffer_[digits] - '0');
      if (size > kMaxChunk) return fail(Errc::Malformed, "NETCONF chunk size too large");
      ++digits;
    }
    if (digits == buffer_.size()) return std::optional<std::string>{};
    if (digits == at + 2 || buffer_[digits] != '\n' || size == 0) {
      return fail(Errc::Malformed, "bad NETCONF chunk size");
    }
    std::size_t data = digits + 1;
    if (buffer_.size() < data + size) return std::optional<std::string>{};
    message.append(buffer_, data, size);
    at = data + size;
  }
}

}  // namespace nauto::drivers::netconf
