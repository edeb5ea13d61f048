// TextFSM: a template (before the first NUL) compiled, then run over the text after it.
#include <chrono>
#include <string>

#include "fuzz_input.h"
#include "nauto/text/textfsm/parser.h"
#include "nauto/text/textfsm/template.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [template_text, input] = fuzz::split_at_nul(fuzz::text_of(data, size));
  auto fsm = textfsm::Template::compile(template_text, "fuzz.textfsm");
  if (!fsm) return 0;
  textfsm::ParseLimits limits;
  limits.time_budget = std::chrono::milliseconds(200);
  (void)textfsm::parse(*fsm, input, limits);
  return 0;
}
