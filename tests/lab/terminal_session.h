#pragma once
// TerminalSession: what a device's console does between the SSH channel and the CLI engine —
// echo, line editing (backspace, Ctrl-C, Ctrl-U), CR/LF handling, hidden password input,
// prompts and `--More--` paging. Bytes in, bytes out; no I/O of its own.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli_engine.h"

namespace nauto::lab {

class TerminalSession {
 public:
  explicit TerminalSession(std::unique_ptr<CliEngine> engine);

  /// Banner and first prompt.
  std::string start();
  /// Feeds bytes typed by the client; returns what the device prints in answer.
  std::string feed(std::string_view bytes);
  bool closed() const { return closed_; }
  /// Lines run so far (per-command faults count these).
  int lines_run() const { return lines_run_; }

 private:
  std::string run_line();
  std::string emit_output(const std::string& text);
  std::string next_page(int lines);
  std::string prompt_text() const;

  std::unique_ptr<CliEngine> engine_;
  std::string line_;
  bool swallow_lf_ = false;
  bool secret_ = false;
  bool closed_ = false;
  int lines_run_ = 0;
  std::string question_;
  std::vector<std::string> more_;  ///< lines waiting behind a --More-- prompt
  size_t more_at_ = 0;
};

/// "\n" -> "\r\n" for the wire.
std::string to_crlf(std::string_view text);

}  // namespace nauto::lab
