#include "nauto/runbook/runbook_loader.h"

#include <lua.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "chunk_cache.h"
#include "lua_prelude.h"
#include "lua_text.h"
#include "nauto/runbook/lua_sandbox.h"
#include "nauto/runbook/lua_textfsm.h"
#include "nauto/runbook/lua_values.h"

namespace nauto::runbook {

using nlohmann::json;

void push_runbook_table(lua_State* L, const std::string& source, const std::string& chunk_name) {
  open_json(L);
  open_text_helpers(L);
  open_textfsm(L);
  static const std::string kPreludeName = "=prelude";
  if (load_text_chunk(L, kLuaPrelude, kPreludeName) != LUA_OK) lua_error(L);
  lua_call(L, 0, 0);
  if (load_text_chunk(L, source, "@" + chunk_name) != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  if (!lua_istable(L, -1)) {
    luaL_error(L,
               "%s: a runbook ends with `return runbook{ name = ..., params = {...}, run = "
               "function(params) ... end }`",
               chunk_name.c_str());
  }
  lua_getfield(L, -1, "run");
  if (!lua_isfunction(L, -1)) {
    luaL_error(L, "%s: the runbook table has no `run = function(params) ... end`",
               chunk_name.c_str());
  }
  lua_pop(L, 1);
}

namespace {

struct DescribeArgs {
  const std::string* source;
  const std::string* chunk_name;
  json* out;
};

int describe(lua_State* L) {
  auto* args = static_cast<DescribeArgs*>(lua_touserdata(L, 1));
  push_runbook_table(L, *args->source, *args->chunk_name);
  for (const char* field : {"name", "description", "version", "author"}) {
    lua_getfield(L, -1, field);
    if (lua_type(L, -1) == LUA_TSTRING) (*args->out)[field] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_getfield(L, -1, "params");
  auto params = json_of(L, -1);
  if (params)
    (*args->out)["params"] = std::move(*params);
  else
    (*args->out)["params_error"] = params.error().message;
  return 0;
}

}  // namespace

namespace {

// Every run.start describes its runbook (to bind its parameters) and a file rarely changes
// between starts: a description is kept per chunk name while the text is the same, so a start
// builds one Lua state, not two.
struct DescriptionCache {
  static constexpr std::size_t kMaxEntries = 1024;
  struct Entry {
    std::string source;
    RunbookDescription description;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;

  std::optional<RunbookDescription> find(const std::string& source, const std::string& name) {
    std::lock_guard lock(mutex);
    auto it = entries.find(name);
    if (it == entries.end() || it->second.source != source) return std::nullopt;
    return it->second.description;
  }
  void put(const std::string& source, const std::string& name, const RunbookDescription& d) {
    std::lock_guard lock(mutex);
    if (entries.size() >= kMaxEntries) entries.clear();
    entries[name] = Entry{source, d};
  }
};

DescriptionCache& descriptions() {
  static DescriptionCache cache;
  return cache;
}

Result<RunbookDescription> describe_afresh(const std::string& source,
                                           const std::string& chunk_name) {
  SandboxLimits limits;
  limits.max_memory_bytes = 32u << 20;
  limits.instruction_budget = 10'000'000;
  auto sandbox = LuaSandbox::create(limits);
  if (!sandbox) return std::move(sandbox).error();
  lua_State* L = (*sandbox)->state();
  json out = json::object();
  DescribeArgs args{&source, &chunk_name, &out};
  lua_pushcfunction(L, describe);
  lua_pushlightuserdata(L, &args);
  if (const int status = lua_pcall(L, 1, 0, 0); status != LUA_OK) {
    std::string message = lua_tostring(L, -1) ? lua_tostring(L, -1) : "the runbook did not load";
    return fail(Errc::InvalidArgument, (*sandbox)->describe_error(status, message));
  }
  if (out.contains("params_error")) {
    return fail(Errc::InvalidArgument,
                chunk_name + ": params: " + out["params_error"].get<std::string>());
  }
  RunbookDescription description;
  description.name = out.value("name", "");
  description.description = out.value("description", "");
  description.version = out.value("version", "");
  description.author = out.value("author", "");
  auto params = parse_param_specs(out.value("params", json()), chunk_name);
  if (!params) return std::move(params).error();
  description.params = std::move(*params);
  return description;
}

}  // namespace

Result<RunbookDescription> describe_runbook(const std::string& source,
                                            const std::string& chunk_name) {
  if (auto known = descriptions().find(source, chunk_name)) return std::move(*known);
  auto description = describe_afresh(source, chunk_name);
  if (description) descriptions().put(source, chunk_name, *description);
  return description;
}

}  // namespace nauto::runbook
