#include "rule_files.h"

#include <fstream>
#include <set>
#include <sstream>

namespace nauto::rules {

namespace fs = std::filesystem;

std::map<std::string, std::pair<std::uintmax_t, std::int64_t>> RuleFiles::snapshot() const {
  std::map<std::string, std::pair<std::uintmax_t, std::int64_t>> out;
  auto add = [&](const fs::path& path) {
    std::error_code error;
    const auto size = fs::file_size(path, error);
    const auto time = fs::last_write_time(path, error);
    out[path.string()] = {error ? 0 : size,
                          error ? -1 : static_cast<std::int64_t>(time.time_since_epoch().count())};
  };
  for (const auto& file : files_)
    add(file);
  for (const auto& dir : dirs_) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      const auto extension = entry.path().extension();
      if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml"))
        add(entry.path());
    }
  }
  return out;
}

bool RuleFiles::changed() const {
  return snapshot() != loaded_;
}

Result<std::vector<Rule>> RuleFiles::load() {
  auto files = snapshot();
  std::vector<Rule> rules;
  std::string problems;
  std::map<std::string, std::string> seen;  // rule name -> origin
  for (const auto& dir : dirs_) {
    std::error_code error;
    if (!fs::is_directory(dir, error))
      problems += "modules.rules.dirs: " + dir + " is not a directory\n";
  }
  for (const auto& [path, stamp] : files) {
    std::ifstream in(path);
    if (!in) {
      problems += path + ": cannot read it\n";
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_rules(text.str(), path);
    if (!parsed) {
      problems += parsed.error().message + "\n";
      continue;
    }
    for (auto& rule : *parsed) {
      auto [it, fresh] = seen.emplace(rule.name, rule.origin());
      if (!fresh) {
        problems +=
            rule.origin() + ": rule '" + rule.name + "' is already defined at " + it->second + "\n";
        continue;
      }
      rules.push_back(std::move(rule));
    }
  }
  loaded_ = std::move(files);
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return rules;
}

}  // namespace nauto::rules
