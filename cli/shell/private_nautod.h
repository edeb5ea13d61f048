#pragma once
// PrivateNautod: the kernel `nauto shell` starts for itself when no nautod answers — the
// nautod binary installed beside nauto, the same configuration, its own run_dir (a fresh
// temporary directory, so its bus endpoint is private), stopped (SIGTERM, then SIGKILL) and
// cleaned up when the shell ends. Its log goes to a file in that directory. It runs with
// --passive: its modules serve requests but start nothing on their own (no schedule fires).

#include <sys/types.h>

#include <string>

#include "nauto/base/result.h"

namespace nauto::cli::shell {

/// The nautod to run: $NAUTO_NAUTOD, else the one installed beside this nauto (or in ../sbin,
/// as a package installs it), else "nautod" from PATH.
std::string nautod_binary();

class PrivateNautod {
 public:
  /// Starts nautod with `config` (when that file exists; embedded defaults otherwise) and
  /// returns once its endpoint accepts requests or `timeout_ms` passed.
  static Result<PrivateNautod> start(const std::string& config, std::int64_t timeout_ms);
  PrivateNautod(PrivateNautod&& other) noexcept;
  PrivateNautod& operator=(PrivateNautod&&) = delete;
  ~PrivateNautod();

  const std::string& endpoint() const { return endpoint_; }
  const std::string& log_file() const { return log_file_; }
  pid_t pid() const { return pid_; }

 private:
  PrivateNautod() = default;
  void stop();
  pid_t pid_ = -1;
  std::string run_dir_, endpoint_, log_file_;
};

}  // namespace nauto::cli::shell
