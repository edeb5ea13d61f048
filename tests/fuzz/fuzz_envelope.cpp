// The envelope header reader (every message the router receives) and error bodies.
#include "fuzz_input.h"
#include "nauto/bus/codec.h"
#include "nauto/bus/envelope.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::text_of(data, size);
  (void)bus::decode_header_view(input);
  (void)bus::decode_header(input);
  (void)bus::error_from_body(input);
  return 0;
}
