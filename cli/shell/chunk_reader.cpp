#include "chunk_reader.h"

#include <lua.hpp>

namespace nauto::cli::shell {

namespace {
constexpr std::string_view kAtEnd = "<eof>";
}

ChunkReader::ChunkReader() : scratch_(luaL_newstate()) {}

ChunkReader::~ChunkReader() {
  if (scratch_) lua_close(scratch_);
}

bool ChunkReader::expression(const std::string& text) {
  const std::string returned = "return " + text;
  const bool compiles =
      luaL_loadbufferx(scratch_, returned.data(), returned.size(), "=stdin", "t") == LUA_OK;
  lua_pop(scratch_, 1);
  return compiles;
}

bool ChunkReader::complete(const std::string& text) {
  if (expression(text)) return true;
  const int status = luaL_loadbufferx(scratch_, text.data(), text.size(), "=stdin", "t");
  if (status == LUA_OK) {
    lua_pop(scratch_, 1);
    return true;
  }
  std::size_t size = 0;
  const char* message = lua_tolstring(scratch_, -1, &size);
  const std::string_view error(message ? message : "", message ? size : 0);
  const bool unfinished = status == LUA_ERRSYNTAX && error.size() >= kAtEnd.size() &&
                          error.substr(error.size() - kAtEnd.size()) == kAtEnd;
  lua_pop(scratch_, 1);
  return !unfinished;
}

bool ChunkReader::add_line(const std::string& line) {
  text_ += text_.empty() ? line : "\n" + line;
  return complete(text_);
}

std::string ChunkReader::take() {
  std::string chunk = std::move(text_);
  text_.clear();
  return chunk;
}

}  // namespace nauto::cli::shell
