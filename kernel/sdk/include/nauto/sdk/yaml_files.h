#pragma once
// YamlFiles: where a module's definition files are (rules, schedules): the configured files and
// every *.yaml / *.yml in the configured directories; reads them all, and says whether any of
// them changed since (by path, size and modification time), so a module re-reads only when
// there is something new. Thread-compatible: one thread (the module's) uses it.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nauto/base/result.h"

namespace nauto {

class YamlFiles {
 public:
  /// `dirs_key` names the setting in problems ("modules.rules.dirs").
  YamlFiles(std::vector<std::string> files, std::vector<std::string> dirs, std::string dirs_key)
      : files_(std::move(files)), dirs_(std::move(dirs)), dirs_key_(std::move(dirs_key)) {}

  struct Contents {
    std::map<std::string, std::string> texts;  // by path, in path order
    std::vector<std::string> problems;         // a directory that is not one, a file unread
  };
  /// Reads every file, and remembers what it read for changed().
  Contents read();
  /// True when the set of files, or one's size or time, differs from the last read().
  bool changed() const;

 private:
  using Stamps = std::map<std::string, std::pair<std::uintmax_t, std::int64_t>>;
  Stamps snapshot() const;
  std::vector<std::string> files_, dirs_;
  std::string dirs_key_;
  Stamps read_;
};

/// Every definition (a rule, a schedule) of every file: `parse(text, path)` gives a file's as
/// Result<std::vector<T>>, `name_of(t)` and `origin_of(t)` ("file:line") name one. All
/// problems at once, one per line, among them a name defined twice:
/// "<origin>: <kind> '<name>' is already defined at <origin>".
template <class T, class Parse, class NameOf, class OriginOf>
Result<std::vector<T>> load_definitions(YamlFiles& files, const std::string& kind, Parse parse,
                                        NameOf name_of, OriginOf origin_of) {
  auto contents = files.read();
  std::vector<T> definitions;
  std::string problems;
  for (const auto& problem : contents.problems)
    problems += problem + "\n";
  std::map<std::string, std::string> seen;  // name -> origin
  for (const auto& [path, text] : contents.texts) {
    auto parsed = parse(text, path);
    if (!parsed) {
      problems += parsed.error().message + "\n";
      continue;
    }
    for (auto& definition : *parsed) {
      const std::string name = name_of(definition), origin = origin_of(definition);
      auto [it, fresh] = seen.emplace(name, origin);
      if (!fresh) {
        problems +=
            origin + ": " + kind + " '" + name + "' is already defined at " + it->second + "\n";
        continue;
      }
      definitions.push_back(std::move(definition));
    }
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return definitions;
}

}  // namespace nauto
