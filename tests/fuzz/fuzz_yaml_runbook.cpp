// The YAML runbook compiler (YAML text in, Lua text out).
#include <string>

#include "fuzz_input.h"
#include "nauto/runbook/yaml_compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)nauto::runbook::compile_yaml_runbook(std::string(nauto::fuzz::text_of(data, size)),
                                             "fuzz.yaml");
  return 0;
}
