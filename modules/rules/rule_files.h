#pragma once
// RuleFiles: where rules come from — the configured files and every *.yaml/*.yml in the
// configured directories — and whether any of them changed since the last load (by path, size
// and modification time), so the module reloads only when there is something new.

#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/sdk/yaml_files.h"
#include "rule.h"

namespace nauto::rules {

class RuleFiles {
 public:
  RuleFiles(std::vector<std::string> files, std::vector<std::string> dirs)
      : files_(std::move(files), std::move(dirs), "modules.rules.dirs") {}

  /// Reads and parses every file. All problems of all files at once; a rule name used in two
  /// files is a problem too. Remembers what it read for changed().
  Result<std::vector<Rule>> load();
  /// True when the set of files, or one's size or time, differs from the last load().
  bool changed() const { return files_.changed(); }

 private:
  YamlFiles files_;
};

}  // namespace nauto::rules
