#include "rule_files.h"

namespace nauto::rules {

Result<std::vector<Rule>> RuleFiles::load() {
  return load_definitions<Rule>(
      files_, "rule", parse_rules, [](const Rule& rule) { return rule.name; },
      [](const Rule& rule) { return rule.origin(); });
}

}  // namespace nauto::rules
