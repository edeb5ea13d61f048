#pragma once
// ShellRepl: the person-facing side of `nauto shell` — reads chunks (libedit line editing,
// persistent history, continuation lines for unfinished chunks, Tab completion), hands them to
// the ShellSession, prints outcomes (ValuePrinter, paged), and runs the meta-commands
// (:help :devices :connect :run :save :timing :more :quit). Without a terminal it runs one
// script (from -e or standard input) and reports through its exit status.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "chunk_reader.h"
#include "completer.h"
#include "session_recorder.h"
#include "shell_bus.h"
#include "shell_session.h"
#include "value_printer.h"

namespace nauto::cli::shell {

struct ReplOptions {
  std::string history_file;  ///< "" = no history
  std::string user;
  std::string holder;  ///< who holds the sessions :connect keeps open (the session's id)
  bool color = false;
  std::size_t page_lines = 40;
};

class ShellRepl {
 public:
  ShellRepl(ShellBus& bus, ShellSession& session, CompletionData data, ReplOptions options);

  /// The interactive loop, until :quit or Ctrl-D. Returns the exit status (0).
  int interactive();
  /// Runs `script` as one chunk (meta-commands allowed when it is a single ':' line); prints
  /// its values; 0 when it ran without error, 1 otherwise.
  int script(const std::string& script);

  /// Closes the sessions :connect kept open (also done by their idle timeout in nautod).
  void release_sessions();
  /// Reloads the devices and selector values the completer offers (inventory.select all).
  void refresh_devices();
  /// Tab completion of the line up to the cursor (what libedit's callback calls).
  Completion complete(const std::string& line_to_cursor) const;

 private:
  /// Runs one entered chunk or meta-command; false once the person asked to quit.
  bool handle(const std::string& entry);
  /// Prints an outcome; true when it was ok.
  bool show(const nlohmann::json& outcome, bool paged);
  bool meta(const std::string& line);
  void devices(const std::string& selector);
  void connect(const std::string& name);
  void run_file(const std::string& arguments);
  void save(const std::string& name, bool overwrite);
  static void print_took(std::chrono::steady_clock::duration took);
  void print_help() const;
  void error(const std::string& message) const;

  ShellBus& bus_;
  ShellSession& session_;
  CompletionData data_;
  ReplOptions options_;
  Completer completer_;
  ChunkReader reader_;
  SessionRecorder recorder_;
  Pager pager_;
  bool timing_ = false;
  bool held_sessions_ = false;
  mutable bool failed_ = false;  // an error was reported (script mode's exit status)
};

/// Asks the person at the terminal to approve a change (shows the diff); for ShellSession.
Result<nlohmann::json> ask_approval(const nlohmann::json& request, const std::string& user,
                                    bool color);

}  // namespace nauto::cli::shell
