#pragma once
// TemplateIndex: the clitable `index` file of a template directory (ntc-templates' format), which
// picks the template(s) for a platform and command:
//
//   Template, Hostname, Platform, Command
//   cisco_ios_show_version.textfsm, .*, cisco_ios, sh[[ow]] ver[[sion]]
//
// Every column but Template is a regex matched at the start of the attribute; `abc[[xyz]]` in
// Command accepts any abbreviation from `abc` to `abcxyz`. The first matching row wins, so the
// file lists longer commands first. Several templates joined by ':' are parsed and merged on
// their Key values.
#include <nauto/base/result.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nauto/text/regex.h"

namespace nauto::textfsm {

// TextFSM patterns are compiled by the one regex engine (PCRE2 with Python `re` meaning).
using text::Matcher;
using text::Regex;

/// Rewrites `sh[[ow]]` as `sh(o(w)?)?`.
std::string expand_completions(std::string_view command);

class TemplateIndex {
 public:
  /// Reads an index file; `source` names it in errors (`source:line: ...`).
  static Result<TemplateIndex> read(std::string_view text, std::string source);

  /// The templates of the first row whose columns match every given attribute (columns the index
  /// lacks, and empty cells, match anything). NotFound says which platform and command.
  Result<std::vector<std::string>> find(
      const std::vector<std::pair<std::string, std::string>>& attributes) const;

  /// Shorthand for find({{"Platform", platform}, {"Command", command}}).
  Result<std::vector<std::string>> find(std::string_view platform, std::string_view command) const;

  /// Distinct Platform cells, in file order (for completion and error messages).
  std::vector<std::string> platforms() const;

  /// The commands the index has templates for on `platform`, written out in full for the
  /// shell's completion: `sh[[ow]] ip bgp (?:all\s+)?sum[[mary]]` -> "show ip bgp summary"
  /// (abbreviation marks and optional parts dropped; rows still holding a pattern skipped).
  std::vector<std::string> commands(std::string_view platform) const;

 private:
  struct Row {
    std::vector<std::string> templates;
    std::vector<std::optional<Regex>> columns;  ///< per header column; Template's is empty
    std::vector<std::string> cells;
  };
  std::string source_;
  std::vector<std::string> header_;
  std::vector<Row> rows_;
};

}  // namespace nauto::textfsm
