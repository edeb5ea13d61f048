// NETCONF framing: base:1.0 end-of-message and base:1.1 chunks, fed in two pieces.
#include "fuzz_input.h"
#include "netconf/netconf_framing.h"

using namespace nauto::drivers::netconf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto input = nauto::fuzz::text_of(data + 1, size - 1);
  FrameDecoder decoder;
  decoder.set_framing((data[0] & 1) ? Framing::Chunked : Framing::EndOfMessage);
  const auto cut = std::min<std::size_t>(data[0] >> 1, input.size());
  for (const auto piece : {input.substr(0, cut), input.substr(cut)}) {
    decoder.feed(piece);
    for (;;) {
      auto message = decoder.next();
      if (!message || !*message) break;
    }
  }
  (void)frame(input, Framing::EndOfMessage);
  return 0;
}
