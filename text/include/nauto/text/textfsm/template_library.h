#pragma once
// TemplateLibrary: a template directory (an `index` plus *.textfsm files, such as ntc-templates')
// ready to parse command output by platform and command. Templates compile on first use and are
// kept; lookups and parses may run on many threads at once.
#include <nauto/base/result.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "nauto/text/textfsm/table.h"
#include "nauto/text/textfsm/template.h"
#include "nauto/text/textfsm/template_index.h"

namespace nauto::textfsm {

class TemplateLibrary {
 public:
  /// Opens `directory`, reading `directory/index` now (its errors are reported here).
  static Result<std::shared_ptr<TemplateLibrary>> open(const std::filesystem::path& directory);

  const std::filesystem::path& directory() const noexcept { return directory_; }
  const TemplateIndex& index() const noexcept { return index_; }

  /// The compiled template in file `name` (relative to the directory; no '/' or '..').
  Result<std::shared_ptr<const Template>> get(std::string_view name);

  /// Parses command output with the template(s) the index gives for this platform and command.
  /// Several templates are merged as clitable merges them: later templates add their columns to
  /// the rows whose Key values are equal (or row by row when no template has Keys). List items
  /// come back as clitable gives them (stringify_list_items), so results equal ntc-templates'.
  Result<Table> parse(std::string_view platform, std::string_view command, std::string_view text);

 private:
  TemplateLibrary(std::filesystem::path directory, TemplateIndex index)
      : directory_(std::move(directory)), index_(std::move(index)) {}

  std::filesystem::path directory_;
  TemplateIndex index_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Template>, std::less<>> compiled_;
};

/// Reads a whole file; the error names the path.
Result<std::string> read_text_file(const std::filesystem::path& path);

}  // namespace nauto::textfsm
