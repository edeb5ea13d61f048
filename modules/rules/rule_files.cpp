#include "rule_files.h"

#include <map>

namespace nauto::rules {

Result<std::vector<Rule>> RuleFiles::load() {
  auto contents = files_.read();
  std::vector<Rule> rules;
  std::string problems;
  for (const auto& problem : contents.problems)
    problems += problem + "\n";
  std::map<std::string, std::string> seen;  // rule name -> origin
  for (const auto& [path, text] : contents.texts) {
    auto parsed = parse_rules(text, path);
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
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return rules;
}

}  // namespace nauto::rules
