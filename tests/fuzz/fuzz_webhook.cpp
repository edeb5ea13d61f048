// A webhook request: the signature header (before the first NUL) checked with a fixed timestamp
// and nonce against the body after it, the same header bytes tried as timestamp and nonce, and
// the body parsed.
#include "fuzz_input.h"
#include "webhook_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [header, body] = nauto::fuzz::split_at_nul(nauto::fuzz::text_of(data, size));
  using nauto::webhook::check_signature;
  (void)check_signature("fuzz-secret", {"1700000000", "0123456789abcdef", header, body});
  (void)check_signature("fuzz-secret", {header, header, "sha256=00", body});
  (void)nauto::webhook::parse_webhook_event(body);
  return 0;
}
