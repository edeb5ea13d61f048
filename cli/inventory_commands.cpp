// nauto inventory list [SELECTOR] | show NAME | import FILE | validate FILE

#include <iostream>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

std::string joined(const json& list) {
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : ",") + item.get<std::string>();
  return out.empty() ? "-" : out;
}

int list_hosts(CliContext& context, const std::string& selector) {
  auto answer = context.call(bus::schema::InventorySelectRequest::kTopic, {{"selector", selector}});
  if (!answer) return report(answer.error());
  const auto& hosts = (*answer)["hosts"];
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(hosts, context.format());
    return 0;
  }
  Table table{{"NAME", "HOST", "PORT", "PLATFORM", "CREDENTIAL", "GROUPS", "TAGS"}, {}};
  for (const auto& h : hosts) {
    table.rows.push_back({cell(h["name"]),
                          h.value("host", "").empty() ? h.value("url", "-") : h.value("host", ""),
                          cell(h["port"]), cell(h["platform"]),
                          h.value("credential", "").empty() ? "-" : h.value("credential", ""),
                          joined(h["groups"]), joined(h["tags"])});
  }
  std::cout << table.render();
  std::cout << hosts.size() << " of " << cell((*answer)["total"]) << " devices\n";
  return 0;
}

int validate_file(CliContext& context, const std::string& path, const std::string& format) {
  auto text = read_input(path);
  if (!text) return report(text.error());
  // The file alone (replace), checked by the inventory module's own importer.
  auto answer = context.call_even_offline(
      bus::schema::InventoryValidateRequest::kTopic,
      {{"text", *text}, {"origin", path}, {"format", format}, {"replace", true}});
  if (!answer) return report(answer.error());
  for (const auto& warning : (*answer)["warnings"])
    std::cerr << "warning: " << warning.get<std::string>() << "\n";
  std::cout << path << ": " << cell((*answer)["hosts"]) << " devices, " << cell((*answer)["groups"])
            << " groups: valid\n";
  return 0;
}

// Option values live as long as the callbacks that read them.
struct InventoryArgs {
  std::string selector = "all";
  std::string name;
  std::string file;
  std::string format = "auto";
  bool replace = false;
};

}  // namespace

void add_inventory_commands(CLI::App& app, CliContext& context) {
  auto* inventory = app.add_subcommand("inventory", "devices, groups and selectors");
  inventory->require_subcommand(1);

  auto* list = inventory->add_subcommand("list", "devices matching a selector (default all)");
  auto args = std::make_shared<InventoryArgs>();
  list->add_option("selector", args->selector, "e.g. 'site=dc1 and role=leaf', tag=core, r1,r2");
  add_output_option(list, context);
  list->callback([&context, args] { context.exit_code = list_hosts(context, args->selector); });

  auto* show = inventory->add_subcommand("show", "one device with everything it inherits");
  show->add_option("name", args->name, "device name")->required();
  add_output_option(show, context);
  show->callback([&context, args] {
    auto answer = context.call(bus::schema::InventoryShowRequest::kTopic, {{"name", args->name}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    const auto format =
        context.format() == OutputFormat::Json ? OutputFormat::Json : OutputFormat::Yaml;
    std::cout << render_document((*answer)["host"], format);
  });

  auto* import = inventory->add_subcommand("import", "add an inventory file to nautod's");
  import->add_option("file", args->file, "inventory file, or - for standard input")->required();
  import->add_option("--format", args->format, "auto, native, ansible-ini, ansible-yaml or csv")
      ->check(CLI::IsMember({"auto", "native", "ansible-ini", "ansible-yaml", "csv"}));
  import->add_flag("--replace", args->replace,
                   "replace the stored inventory instead of adding to it");
  import->callback([&context, args] {
    const auto& file = args->file;
  auto text = read_input(file);
  if (!text) {
    context.exit_code = report(text.error());
    return;
  }
  auto answer = context.call(
      bus::schema::InventoryImportRequest::kTopic,
      {{"text", *text}, {"origin", file}, {"format", args->format}, {"replace", args->replace}});
  if (!answer) {
    context.exit_code = report(answer.error());
    return;
  }
  for (const auto& warning : (*answer)["warnings"]) {
    std::cerr << "warning: " << warning.get<std::string>() << "\n";
  }
  std::cout << "imported " << cell((*answer)["imported"]) << " devices from " << file << " ("
            << cell((*answer)["hosts"]) << " in the inventory)\n";
});

auto* validate = inventory->add_subcommand(
    "validate",
    "check an inventory file (a private nautod when none runs); every problem with file and line");
validate->add_option("file", args->file, "inventory file, or - for standard input")->required();
validate->add_option("--format", args->format, "auto, native, ansible-ini, ansible-yaml or csv")
    ->check(CLI::IsMember({"auto", "native", "ansible-ini", "ansible-yaml", "csv"}));
validate->callback([&context, args] {
  context.exit_code = validate_file(context, args->file, args->format);
});
}  // namespace nauto::cli

}  // namespace nauto::cli
