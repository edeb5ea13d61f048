// TCP syslog framing (RFC 6587), the stream fed in two pieces split where the first byte says.
#include "fuzz_input.h"
#include "stream_framer.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto input = fuzz::text_of(data + 1, size - 1);
  const auto cut = std::min<std::size_t>(data[0], input.size());
  syslog::StreamFramer framer(480);
  std::size_t frames = 0;
  const auto count = [&](std::string_view frame) {
    if (frame.size() > 480) __builtin_trap();  // a frame longer than the cap is a bug
    ++frames;
  };
  if (framer.feed(input.substr(0, cut), count)) (void)framer.feed(input.substr(cut), count);
  if (framer.buffered() > 480 + 16) __builtin_trap();  // the buffer stays bounded
  return 0;
}
