// Config templates (modules.configs templates, configs.render): the input is a template, and
// its NUL-separated second half the template any `{% include %}` names; rendered with
// variables of every type, so loops, filters, tests and errors all run.
#include "fuzz_input.h"
#include "nauto/text/jinja_template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [main_text, included_text] =
      nauto::fuzz::split_at_nul(nauto::fuzz::text_of(data, size));
  const std::string main_template(main_text), included(included_text);
  const auto load = [&](const std::string& name) -> nauto::Result<std::string> {
    if (name == "main.j2") return main_template;
    return included;
  };
  static const nlohmann::json variables = {
      {"hostname", "r1"},
      {"n", 3},
      {"x", 2.5},
      {"flag", true},
      {"none", nullptr},
      {"list", {1, "two", 3.0, false}},
      {"map", {{"a", 1}, {"b", {{"c", "d"}}}}},
      {"interfaces", {{{"name", "Gi0/1"}, {"vlan", 10}}, {{"name", "Gi0/2"}}}}};
  (void)nauto::text::render_template("main.j2", load, variables);
  (void)nauto::text::check_template("main.j2", main_template);
  return 0;
}
