#pragma once
// TerminalText: turns the byte stream of an interactive terminal into plain text as it arrives —
// ANSI escape sequences removed, backspaces applied, CR LF folded to LF and a lone CR treated
// as "back to the start of the line" (how pagers erase their --More--). Sequences split across
// reads are held until complete, so cleaning is incremental and linear in the output size.

#include <string>
#include <string_view>

namespace nauto::drivers::cli {

class TerminalText {
 public:
  /// Feeds raw bytes; the cleaned text grows.
  void feed(std::string_view bytes);
  const std::string& text() const { return text_; }
  /// The text after the last newline (where prompts appear).
  std::string_view last_line() const;
  /// Drops the last line (a pager marker, a confirmation prompt once answered).
  void drop_last_line();
  void clear();
  /// Moves the cleaned text out and starts afresh (pending partial sequences are kept).
  std::string take();
  /// Raw bytes seen most recently (escaped for error messages), at most `limit` of them.
  std::string recent_bytes(std::size_t limit = 160) const;

 private:
  std::string text_;
  std::string pending_;  ///< an unfinished escape sequence or a CR waiting for its LF
  std::string recent_;   ///< ring of the last raw bytes
};

/// Shows bytes the way an operator can read them in one line: \r, \n, \t, \xNN.
std::string escape_bytes(std::string_view bytes);

}  // namespace nauto::drivers::cli
