#pragma once
// CliEngine: the command interpreter of one CLI session — modes, prompts, command matching
// with abbreviations, errors in the platform's words, pipes. It works on whole lines and knows
// nothing of terminals: the SSH shell (TerminalSession), `ssh host command` and the
// eAPI/NX-API endpoints all drive the same engine, so every channel sees the same device.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "device.h"

namespace nauto::lab {

struct SessionInfo {
  std::string user;
  std::string peer;             ///< client address, for config-change messages
  std::string channel = "cli";  ///< recorded in the device's command log
  std::string id;               ///< unique per session (candidate locks)
};

/// What one input line produced.
struct CliReply {
  std::string output;         ///< '\n'-separated text; the terminal adds '\r'
  bool error = false;         ///< the device rejected the line
  bool close = false;         ///< the session ends after this output
  bool secret_input = false;  ///< do not echo the next line (passwords)
  std::string question;       ///< printed instead of the prompt; the next line answers it
};

/// A word of the input line and the column it started at (for '^' markers).
struct Word {
  std::string text;
  size_t column = 0;
};
std::vector<Word> split_line(const std::string& line);

/// Commands as word patterns. Keywords match any unique prefix (`sh ip int br`); <WORD> takes
/// one word, <REST> the rest of the line. Longer keyword matches win over placeholders.
class CommandTable {
 public:
  struct Match {
    enum class Status { Ok, Invalid, Incomplete, Ambiguous } status = Status::Invalid;
    size_t bad_word = 0;
    int id = -1;
    std::vector<std::string> args;
  };
  void add(const std::string& pattern, int id);
  Match match(const std::vector<Word>& words) const;

 private:
  struct Entry {
    std::vector<std::string> tokens;
    int id;
  };
  std::vector<Entry> entries_;
};

class CliEngine {
 public:
  virtual ~CliEngine() = default;
  static std::unique_ptr<CliEngine> create(Device& device, SessionInfo session);

  /// Shown once after login (MOTD banner); may be empty.
  virtual std::string banner() = 0;
  virtual std::string prompt() const = 0;
  /// Runs one line (or answers the pending question).
  CliReply execute(const std::string& line);
  /// Lines per page; 0 when paging is off.
  int page_length() const { return page_length_; }
  virtual std::string more_prompt() const { return " --More-- "; }
  /// Exec channels (`ssh host command`) run with full privilege, as for a privilege-15 user.
  virtual void grant_privilege() {}

 protected:
  CliEngine(Device& device, SessionInfo session) : device_(device), session_(std::move(session)) {}
  virtual CliReply run(const std::string& line) = 0;
  /// Applies `| include X` style filters; returns false (and sets reply) on a bad filter.
  virtual bool apply_pipe(const std::string& filter, std::string& text, CliReply& reply) = 0;
  /// Splits "cmd | filter | filter" into the command and its filters.
  static std::vector<std::string> split_pipes(const std::string& line);

  Device& device_;
  SessionInfo session_;
  int page_length_ = 24;
  std::function<CliReply(const std::string&)> pending_;
};

std::unique_ptr<CliEngine> make_cisco_cli(Device& device, SessionInfo session);
std::unique_ptr<CliEngine> make_junos_cli(Device& device, SessionInfo session);

}  // namespace nauto::lab
