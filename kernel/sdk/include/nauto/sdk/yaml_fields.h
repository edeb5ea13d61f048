#pragma once
// YamlFields: reads the fields of a module's definition file (schedules, compliance policies)
// and collects every problem, each as "file:line: what", so a file with three mistakes is
// reported once with all three. Thread-compatible: one reader per file being read.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace nauto {

class YamlFields {
 public:
  YamlFields(const std::string& file, std::vector<std::string>& problems)
      : file_(file), problems_(problems) {}

  /// Adds "file:line: what", the line being `node`'s.
  void problem(const YAML::Node& node, const std::string& what);
  /// The text of `item[key]`; "" when absent, and a problem when it is not a scalar.
  std::string text(const YAML::Node& item, const char* key);
  /// `item[key]` as true or false; false when absent, and a problem when it is neither.
  bool flag(const YAML::Node& item, const char* key);

  const std::string& file() const { return file_; }
  /// How many problems there are so far (to tell whether one part added any).
  std::size_t problem_count() const { return problems_.size(); }

 private:
  const std::string& file_;
  std::vector<std::string>& problems_;
};

}  // namespace nauto
