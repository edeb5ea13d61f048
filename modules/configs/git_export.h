#pragma once
// GitExport: an optional mirror of the archive in a Git repository, for people and tools that
// read configs with `git log -p` (as Oxidized's users do): one file per device at the top of
// the tree, holding its latest archived version, and one commit per backup that changed
// something, its author the backup's `by`, its message the backup's id and why. The repository
// is bare (nothing checked out) and written with libgit2; after each commit the branch is
// pushed to `remote` when one is configured (a path to a bare repository, or any URL libgit2
// can push to without credentials).
//
// Not thread-safe: one thread at a time (the configs module's export thread).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::configs {

struct GitExportOptions {
  std::string path;  ///< the bare repository; created if missing
  std::string branch = "main";
  std::string remote;  ///< pushed to after each commit; empty: no push
};

/// One file to write: a device's latest text.
struct GitFile {
  std::string device;
  std::string text;
};

/// What one commit is about.
struct GitCommitInfo {
  std::string author;   ///< the backup's `by`
  std::string message;  ///< first line, then a blank line and the details
  std::int64_t time_us = 0;
};

struct GitExportOutcome {
  std::string commit;     ///< its id; empty when no file changed (nothing committed)
  std::size_t files = 0;  ///< files whose content changed
  bool pushed = false;
};

class GitExport {
 public:
  /// Opens or creates the repository. Errors: Errc::Library with libgit2's message.
  static Result<std::unique_ptr<GitExport>> open(GitExportOptions options);
  ~GitExport();
  GitExport(const GitExport&) = delete;
  GitExport& operator=(const GitExport&) = delete;

  /// Writes the files whose content differs from the branch's tree, as one commit, then pushes
  /// (a push that fails is an error; the commit stays and goes with the next push).
  Result<GitExportOutcome> commit(const std::vector<GitFile>& files, const GitCommitInfo& info);

  /// The file name a device is kept under: its name, with '/' as "%2F" (and '%' as "%25").
  static std::string file_name(const std::string& device);

 private:
  struct Repository;
  GitExport(GitExportOptions options, std::unique_ptr<Repository> repository);
  Result<void> push();

  GitExportOptions options_;
  std::unique_ptr<Repository> repository_;
};

}  // namespace nauto::configs
