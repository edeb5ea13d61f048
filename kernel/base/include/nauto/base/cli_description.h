#pragma once
// A CLI11 command line described as JSON: each command's name, description and footer, its
// options (names, what they take, default, environment variable) and positionals, and its
// subcommands, recursively; hidden commands (no group) are left out. `nauto --describe-cli` and
// `nautod --describe-cli` print it, and packaging/man/generate.py makes nauto(1) and nautod(8)
// from it, so the manual pages list exactly the commands and options the programs accept.
// Header-only: CLI11 is header-only and only the two programs' main files include this.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace nauto {

inline nlohmann::json describe_cli(const CLI::App& app) {
  using nlohmann::json;
  json options = json::array();
  json positionals = json::array();
  for (const auto* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    json o = {{"description", option->get_description()},
              {"type", option->get_type_size() == 0 ? "" : option->get_type_name()},
              {"default", option->get_default_str()},
              {"required", option->get_required()},
              {"env", option->get_envname()},
              {"multiple", option->get_expected_max() > 1}};
    if (option->get_positional()) {
      o["name"] = option->get_name(true, false);
      positionals.push_back(o);
      continue;
    }
    json names = json::array();
    for (const auto& name : option->get_snames())
      names.push_back("-" + name);
    for (const auto& name : option->get_lnames())
      names.push_back("--" + name);
    o["names"] = names;
    options.push_back(o);
  }
  json subcommands = json::array();
  for (const auto* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    if (sub->get_name().empty()) {
      // An option group: its options belong to this command.
      auto group = describe_cli(*sub);
      for (auto& o : group["options"])
        options.push_back(o);
      continue;
    }
    subcommands.push_back(describe_cli(*sub));
  }
  return json{{"name", app.get_name()},     {"description", app.get_description()},
              {"footer", app.get_footer()}, {"options", options},
              {"positionals", positionals}, {"subcommands", subcommands}};
}

}  // namespace nauto
