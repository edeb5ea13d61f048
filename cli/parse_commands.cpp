// nauto parse --platform P --command C [--templates DIR] [-o table|json|yaml] [FILE|-]
// nauto parse --template FILE.textfsm [-o ...] [FILE|-]
// Parses command output (a file, or standard input) with TextFSM, offline: no nautod needed.
// The template directory is --templates, else $NAUTO_TEXTFSM_TEMPLATES, else
// modules.runbooks.textfsm_templates of the configuration file.
// Exit status: 0 parsed, 1 no template or the template rejected the input, 2 bad arguments.

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli_context.h"
#include "nauto/text/textfsm/parser.h"
#include "nauto/text/textfsm/template_library.h"

namespace nauto::cli {

namespace {

struct ParseArgs {
  std::string platform;
  std::string command;
  std::string templates;
  std::string template_file;
  std::string input = "-";
};

}  // namespace

Result<std::string> textfsm_template_directory(const std::string& given,
                                               const CliContext& context) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("NAUTO_TEXTFSM_TEMPLATES"); env && *env)
    return std::string(env);
  if (std::filesystem::exists(context.config)) {
    try {
      const auto node = YAML::LoadFile(context.config)["modules"]["runbooks"]["textfsm_templates"];
      if (node && node.IsScalar()) return node.as<std::string>();
    } catch (const YAML::Exception& error) {
      return fail(Errc::InvalidConfig, std::string("cannot read: ") + error.what(), context.config);
    }
  }
  return fail(Errc::InvalidArgument,
              "no template directory: give --templates DIR (a directory with an 'index' file, "
              "such as ntc-templates' templates), set NAUTO_TEXTFSM_TEMPLATES, or set "
              "modules.runbooks.textfsm_templates in " +
                  context.config);
}

std::string records_table(const textfsm::Table& parsed) {
  const auto records = textfsm::to_json(parsed);
  Table table;
  for (const auto& name : parsed.header) {
    std::string lower = name;
    for (char& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    table.header.push_back(lower);
  }
  for (const auto& record : records) {
    std::vector<std::string> row;
    for (const auto& name : table.header)
      row.push_back(cell(record[name]));
    table.rows.push_back(std::move(row));
  }
  return table.render();
}

namespace {

Result<textfsm::Table> parse_input(const ParseArgs& args, const CliContext& context,
                                   const std::string& text) {
  if (!args.template_file.empty()) {
    auto source = textfsm::read_text_file(args.template_file);
    if (!source) return std::move(source).error();
    auto fsm = textfsm::Template::compile(*source, args.template_file);
    if (!fsm) return std::move(fsm).error();
    return textfsm::parse(*fsm, text);
  }
  if (args.platform.empty() || args.command.empty())
    return fail(Errc::InvalidArgument,
                "give --platform and --command (the index picks the template), or --template");
  auto directory = textfsm_template_directory(args.templates, context);
  if (!directory) return std::move(directory).error();
  auto library = textfsm::TemplateLibrary::open(*directory);
  if (!library) return std::move(library).error();
  return (*library)->parse(args.platform, args.command, text);
}

void print(const textfsm::Table& parsed, const CliContext& context) {
  const auto format = context.format();
  if (format != OutputFormat::Table)
    std::cout << render_document(textfsm::to_json(parsed), format);
  else
    std::cout << records_table(parsed);
}

}  // namespace

void add_parse_commands(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<ParseArgs>();
  auto* parse = app.add_subcommand("parse", "parse command output with TextFSM templates");
  parse->add_option("input", args->input, "the command output (default: standard input)");
  parse->add_option("--platform", args->platform, "platform, as in the index (cisco_ios, ...)");
  parse->add_option("--command", args->command, "the command that printed the output");
  parse->add_option("--templates", args->templates, "template directory with an index file");
  parse->add_option("--template", args->template_file, "one template file; no index needed");
  add_output_option(parse, context);
  parse->callback([args, &context] {
    auto text = read_input(args->input);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto parsed = parse_input(*args, context, *text);
    if (!parsed) {
      context.exit_code = report(parsed.error());
      return;
    }
    print(*parsed, context);
  });
}

}  // namespace nauto::cli
