#include "nauto/drivers/platform.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "builtin_platforms.h"
#include "nauto/drivers/platform_patterns.h"
#include "nauto/text/regex.h"

namespace nauto::drivers {
namespace {

// Reads one YAML file's fields, collecting every mistake so the author fixes them in one go.
class DefinitionReader {
 public:
  DefinitionReader(const YAML::Node& root, std::string source)
      : root_(root), source_(std::move(source)) {}

  void text(const char* key, std::string& out, bool required = false) {
    auto node = root_[key];
    if (!node) {
      if (required) problem(key, "is required");
      return;
    }
    if (!node.IsScalar()) return problem(key, "must be a string");
    out = node.as<std::string>();
  }
  void pattern(const char* key, std::string& out, bool required = false) {
    text(key, out, required);
    check_regex(key, out);
  }
  void list(const char* key, std::vector<std::string>& out, bool regexes = false) {
    auto node = root_[key];
    if (!node) return;
    if (!node.IsSequence()) return problem(key, "must be a list of strings");
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) {
        problem(std::string(key) + "[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      out.push_back(node[i].as<std::string>());
      if (regexes) check_regex(std::string(key) + "[" + std::to_string(i) + "]", out.back());
    }
  }
  void number(const YAML::Node& node, const std::string& key, std::int64_t& out) {
    if (!node) return;
    try {
      out = node.as<std::int64_t>();
      if (out <= 0) problem(key, "must be a positive number of milliseconds");
    } catch (const YAML::Exception&) {
      problem(key, "must be a number of milliseconds");
    }
  }
  void check_regex(const std::string& key, const std::string& value) {
    if (value.empty()) return;
    // In the form sessions compile it: {host} as a capture (platform_patterns.h).
    if (auto compiled = text::Regex::compile(host_prompt_pattern(value)); !compiled)
      problem(key, "is not a valid regular expression: " + compiled.error().message);
  }
  void problem(const std::string& key, const std::string& what) {
    problems_ += (problems_.empty() ? "" : "; ") + key + " " + what;
  }
  const YAML::Node& root() const { return root_; }
  const std::string& problems() const { return problems_; }

 private:
  YAML::Node root_;
  std::string source_;
  std::string problems_;
};

}  // namespace

Result<PlatformDefinition> parse_platform(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, "not valid YAML: " + std::string(e.what()), source);
  }
  if (!root.IsMap()) return fail(Errc::InvalidConfig, "expected a mapping at the top", source);
  PlatformDefinition def;
  DefinitionReader read(root, source);
  read.text("name", def.name, true);
  read.text("vendor", def.vendor);
  read.list("transports", def.transports);
  if (def.transports.empty()) def.transports.push_back("ssh_cli");
  if (auto timeouts = root["timeouts"]) {
    read.number(timeouts["connect_ms"], "timeouts.connect_ms", def.timeouts.connect_ms);
    read.number(timeouts["idle_ms"], "timeouts.idle_ms", def.timeouts.idle_ms);
    read.number(timeouts["total_ms"], "timeouts.total_ms", def.timeouts.total_ms);
  }
  read.pattern("host_pattern", def.host_pattern);
  read.pattern("user_prompt", def.user_prompt);
  read.pattern("privileged_prompt", def.privileged_prompt);
  read.pattern("config_prompt", def.config_prompt);
  read.pattern("pager_pattern", def.pager_pattern);
  read.pattern("password_prompt", def.password_prompt);
  read.list("session_setup", def.session_setup);
  read.text("enable_command", def.enable_command);
  read.text("config_enter", def.config_enter);
  read.text("config_exit", def.config_exit);
  read.text("config_commit", def.config_commit);
  read.list("error_patterns", def.error_patterns, true);
  read.pattern("hostname_config", def.hostname_config);
  read.text("show_running", def.show_running);
  read.text("show_startup", def.show_startup);
  read.text("show_candidate_diff", def.show_candidate_diff);
  read.text("save_config", def.save_config);
  read.text("rollback_command", def.rollback_command);
  read.list("commands", def.commands);
  read.list("volatile_lines", def.volatile_lines, true);
  read.list("secret_patterns", def.secret_patterns, true);
  read.list("dangerous_commands", def.dangerous_commands, true);
  read.list("replace_keys", def.replace_keys, true);
  read.text("facts_command", def.facts_command);
  if (auto confirmations = root["confirmations"]) {
    if (!confirmations.IsSequence()) {
      read.problem("confirmations", "must be a list of {pattern, answer}");
    } else {
      for (std::size_t i = 0; i < confirmations.size(); ++i) {
        auto key = "confirmations[" + std::to_string(i) + "]";
        auto item = confirmations[i];
        if (!item.IsMap() || !item["pattern"]) {
          read.problem(key, "needs a pattern (and optionally an answer)");
          continue;
        }
        ConfirmationPrompt prompt{item["pattern"].as<std::string>(),
                                  item["answer"] ? item["answer"].as<std::string>() : ""};
        read.check_regex(key + ".pattern", prompt.pattern);
        def.confirmations.push_back(std::move(prompt));
      }
    }
  }
  if (auto facts = root["facts_patterns"]) {
    if (!facts.IsMap()) {
      read.problem("facts_patterns", "must map a field name to a regex");
    } else {
      for (const auto& field : facts) {
        auto name = field.first.as<std::string>();
        auto value = field.second.as<std::string>();
        read.check_regex("facts_patterns." + name, value);
        def.facts_patterns[name] = value;
      }
    }
  }
  std::string syntax = "flat";
  read.text("config_syntax", syntax);
  if (syntax == "indented") {
    def.syntax = ConfigSyntax::Indented;
  } else if (syntax == "set") {
    def.syntax = ConfigSyntax::SetLines;
  } else if (syntax != "flat") {
    read.problem("config_syntax", "must be one of indented, set, flat (got '" + syntax + "')");
  }
  bool needs_prompts = def.transports.front() == "ssh_cli";
  if (needs_prompts && (def.host_pattern.empty() || def.privileged_prompt.empty())) {
    read.problem("host_pattern/privileged_prompt", "are required for ssh_cli platforms");
  }
  if (!read.problems().empty()) return fail(Errc::InvalidConfig, read.problems(), source);
  return def;
}

Result<void> PlatformCatalog::add(PlatformDefinition definition) {
  auto name = definition.name;
  platforms_[name] = std::make_shared<const PlatformDefinition>(std::move(definition));
  return ok();
}

Result<void> PlatformCatalog::load_directory(const std::string& directory) {
  std::error_code error;
  std::filesystem::directory_iterator it(directory, error);
  if (error) {
    return fail(Errc::InvalidConfig, "cannot read platform directory: " + error.message(),
                directory);
  }
  for (const auto& entry : it) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    auto parsed = parse_platform(text.str(), entry.path().string());
    if (!parsed) return std::move(parsed).error();
    if (auto added = add(std::move(*parsed)); !added) return added;
  }
  return ok();
}

Result<PlatformCatalog> PlatformCatalog::load_default() {
  PlatformCatalog catalog;
  for (const auto& [source, text] : builtin_platform_files()) {
    auto parsed = parse_platform(text, source);
    if (!parsed) return std::move(parsed).error();  // a bug: tests load every built-in
    if (auto added = catalog.add(std::move(*parsed)); !added) return std::move(added).error();
  }
  if (const char* extra = std::getenv("NAUTO_PLATFORM_DIR"); extra && *extra) {
    if (auto loaded = catalog.load_directory(extra); !loaded) return std::move(loaded).error();
  }
  return catalog;
}

Result<const PlatformDefinition*> PlatformCatalog::find(const std::string& name) const {
  auto it = platforms_.find(name);
  if (it != platforms_.end()) return it->second.get();
  std::string known;
  for (const auto& [key, value] : platforms_)
    known += (known.empty() ? "" : ", ") + key;
  return fail(Errc::NotFound, "unknown platform '" + name + "' (known: " + known +
                                  "; add one with a definition file, see docs/drivers.md)");
}

std::vector<std::string> PlatformCatalog::names() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : platforms_)
    out.push_back(key);
  return out;
}

}  // namespace nauto::drivers
