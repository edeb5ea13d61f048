// A webhook request: the signature header (before the first NUL) checked against the body
// after it, and the body parsed.
#include "fuzz_input.h"
#include "webhook_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [header, body] = nauto::fuzz::split_at_nul(nauto::fuzz::text_of(data, size));
  (void)nauto::webhook::check_signature("fuzz-secret", body, header);
  (void)nauto::webhook::parse_webhook_event(body);
  return 0;
}
