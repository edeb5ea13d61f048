#include "chunk_cache.h"

#include <lua.hpp>
#include <mutex>
#include <unordered_map>

namespace nauto::runbook {

namespace {

constexpr std::size_t kMaxBytes = 32u << 20;

struct Entry {
  std::string text;
  std::string bytecode;
};

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;  // by chunk name
  std::size_t bytes = 0;
};

Cache& cache() {
  static Cache instance;
  return instance;
}

int append_bytes(lua_State*, const void* data, std::size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return 0;
}

}  // namespace

int load_text_chunk(lua_State* L, std::string_view text, const std::string& chunk_name) {
  auto& c = cache();
  std::string bytecode;
  {
    std::lock_guard lock(c.mutex);
    if (auto it = c.entries.find(chunk_name); it != c.entries.end() && it->second.text == text)
      bytecode = it->second.bytecode;
  }
  if (!bytecode.empty())
    return luaL_loadbufferx(L, bytecode.data(), bytecode.size(), chunk_name.c_str(), "b");
  const int status = luaL_loadbufferx(L, text.data(), text.size(), chunk_name.c_str(), "t");
  if (status != LUA_OK) return status;
  // Debug information is kept (strip = 0): error messages name the runbook's lines.
  if (lua_dump(L, &append_bytes, &bytecode, 0) != 0) return LUA_OK;
  std::lock_guard lock(c.mutex);
  if (c.bytes + text.size() + bytecode.size() > kMaxBytes) {
    c.entries.clear();
    c.bytes = 0;
  }
  auto& entry = c.entries[chunk_name];
  c.bytes -= entry.text.size() + entry.bytecode.size();
  c.bytes += text.size() + bytecode.size();
  entry.text.assign(text);
  entry.bytecode = std::move(bytecode);
  return LUA_OK;
}

}  // namespace nauto::runbook
