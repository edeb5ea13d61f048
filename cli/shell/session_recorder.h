#pragma once
// SessionRecorder: the chunks of a shell session that ran without error, in order, and the
// runbook `:save NAME` makes of them — `return runbook{ name = NAME, run = function(params)
// <chunks> end }`, loadable by `nauto run` and the runbooks module. A chunk that was a bare
// expression (typed to see its value) is saved as print(<expression>), since a runbook has
// nobody to show it to but its log.

#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::cli::shell {

class SessionRecorder {
 public:
  /// `expression`: the chunk compiled as `return <chunk>`.
  void record(const std::string& chunk, bool expression);
  std::size_t size() const { return chunks_.size(); }
  /// The runbook text; `name` must be a runbook name (letters, digits, _ and -).
  Result<std::string> runbook(const std::string& name, const std::string& author) const;
  /// Writes it to `path` (NAME.lua in the current directory unless a path is given); an
  /// existing file is kept unless `overwrite`.
  Result<std::string> save(const std::string& name_or_path, const std::string& author,
                           bool overwrite) const;

 private:
  std::vector<std::string> chunks_;
};

}  // namespace nauto::cli::shell
