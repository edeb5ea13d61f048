#pragma once
// ChunkReader: gathers typed lines into Lua chunks — a line that leaves a function, loop,
// table or string open asks for more (the continuation prompt), as the standard `lua`
// interpreter does. Completeness is judged by compiling the text (never running it) in a
// scratch Lua state: a syntax error at <eof> means "unfinished", any other error is the
// chunk's own and goes to the session to be reported.

#include <memory>
#include <string>

struct lua_State;

namespace nauto::cli::shell {

class ChunkReader {
 public:
  ChunkReader();
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  /// Adds a line; true when the text gathered so far is a whole chunk (take it with take()).
  bool add_line(const std::string& line);
  /// The gathered chunk; starts a new one.
  std::string take();
  /// Drops an unfinished chunk (Ctrl-C or Ctrl-D at the continuation prompt).
  void discard() { text_.clear(); }
  bool continuing() const { return !text_.empty(); }
  /// Whether `text` compiles, either as an expression or as statements, or fails other than at
  /// its end.
  bool complete(const std::string& text);
  /// Whether `text` compiles as `return <text>` (a value to show rather than statements).
  bool expression(const std::string& text);

 private:
  lua_State* scratch_ = nullptr;
  std::string text_;
};

}  // namespace nauto::cli::shell
