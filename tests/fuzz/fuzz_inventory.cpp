// Inventory imports (native YAML, Ansible INI and YAML, CSV) and selectors.
#include <string>

#include "fuzz_input.h"
#include "inventory_import.h"
#include "selector.h"

using namespace nauto::inventory;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(nauto::fuzz::text_of(data + 1, size - 1));
  const ImportFormat formats[] = {ImportFormat::Native, ImportFormat::AnsibleIni,
                                  ImportFormat::AnsibleYaml, ImportFormat::Csv};
  (void)import_inventory(formats[data[0] % 4], text, "fuzz");
  (void)Selector::parse(text);
  return 0;
}
