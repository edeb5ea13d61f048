#pragma once
// RunbookCatalog: where runbooks are found by name — `<dir>/<name>.lua`, `.yaml` or `.yml` in
// the configured directories, first directory first — and how a runbook's text becomes the
// Lua the engine runs (YAML runbooks are compiled, see yaml_compiler.h).

#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::runbook {

struct RunbookFile {
  std::string name;  ///< the file name without extension
  std::string path;
  std::string language;  ///< lua | yaml
};

class RunbookCatalog {
 public:
  explicit RunbookCatalog(std::vector<std::string> directories)
      : directories_(std::move(directories)) {}

  /// Errors: NotFound naming the directories searched; InvalidArgument for a name with '/'.
  Result<RunbookFile> find(const std::string& name) const;
  /// Every runbook file, by name (a name found twice: the first directory wins).
  std::vector<RunbookFile> list() const;
  const std::vector<std::string>& directories() const { return directories_; }

 private:
  std::vector<std::string> directories_;
};

/// lua for *.lua, yaml for *.yaml / *.yml, empty otherwise.
std::string language_of(const std::string& path);
/// Reads a whole file. Errors: System with the path.
Result<std::string> read_text_file(const std::string& path);
/// The Lua text for a runbook in `language`; YAML is compiled. Errors name `chunk_name`.
Result<std::string> lua_source_of(const std::string& text, const std::string& language,
                                  const std::string& chunk_name);

}  // namespace nauto::runbook
