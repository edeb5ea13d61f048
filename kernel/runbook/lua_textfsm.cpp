#include "nauto/runbook/lua_textfsm.h"

#include <cctype>
#include <list>
#include <lua.hpp>
#include <mutex>
#include <string>
#include <string_view>

#include "nauto/runbook/lua_bridge.h"
#include "nauto/runbook/lua_values.h"
#include "nauto/text/textfsm/parser.h"

namespace nauto::runbook {

namespace {

std::mutex g_mutex;
std::shared_ptr<textfsm::TemplateLibrary> g_library;

// Templates given as text, compiled once per process: runbooks call textfsm.parse in loops over
// many devices with the same template. Least recently used entries go first.
constexpr std::size_t kCachedTemplates = 64;
std::list<std::pair<std::string, std::shared_ptr<const textfsm::Template>>> g_by_text;

std::shared_ptr<textfsm::TemplateLibrary> library() {
  std::lock_guard lock(g_mutex);
  return g_library;
}

Result<std::shared_ptr<const textfsm::Template>> template_from_text(const std::string& text) {
  std::lock_guard lock(g_mutex);
  for (auto it = g_by_text.begin(); it != g_by_text.end(); ++it) {
    if (it->first != text) continue;
    g_by_text.splice(g_by_text.begin(), g_by_text, it);
    return g_by_text.front().second;
  }
  auto compiled = textfsm::Template::compile(text, "textfsm.parse template");
  if (!compiled) return std::move(compiled).error();
  g_by_text.emplace_front(text, std::make_shared<const textfsm::Template>(std::move(*compiled)));
  if (g_by_text.size() > kCachedTemplates) g_by_text.pop_back();
  return g_by_text.front().second;
}

std::string no_directory() {
  return "no TextFSM template directory is configured: set modules.runbooks.textfsm_templates "
         "in nauto.yaml to a directory with an 'index' file (such as ntc-templates' templates)";
}

Result<std::shared_ptr<const textfsm::Template>> template_named(const std::string& source) {
  if (source.find('\n') != std::string::npos) return template_from_text(source);
  if (auto templates = library()) return templates->get(source);
  return fail(Errc::InvalidConfig, no_directory());
}

// The records, with a metatable whose __columns lists the column names in the template's order
// (records are keyed tables, so that order is otherwise lost; the shell shows columns by it).
// Runs inside push_protected: only trivially destructible locals.
struct Records {
  const textfsm::Table* table;
  const nlohmann::json* rows;
};
void push_records(lua_State* L, const void* data) {
  const auto& records = *static_cast<const Records*>(data);
  const auto& table = *records.table;
  push_json(L, *records.rows);
  lua_createtable(L, 0, 1);
  lua_createtable(L, static_cast<int>(table.header.size()), 0);
  lua_Integer index = 0;
  for (const auto& name : table.header) {
    luaL_Buffer lowered;
    luaL_buffinit(L, &lowered);
    for (const char c : name)
      luaL_addchar(&lowered, static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    luaL_pushresult(&lowered);
    lua_rawseti(L, -2, ++index);
  }
  lua_setfield(L, -2, "__columns");
  lua_setmetatable(L, -2);
}

LuaReturn records_or_error(lua_State* L, const Result<textfsm::Table>& table, const char* what) {
  if (!table) return LuaReturn::error(std::string(what) + ": " + table.error().describe());
  const auto rows = textfsm::to_json(*table);
  const Records records{&*table, &rows};
  if (auto pushed = push_protected(L, push_records, &records); !pushed)
    return LuaReturn::error(std::string(what) + ": " + pushed.error().message);
  return LuaReturn::values(1);
}

LuaReturn parse(lua_State* L) {
  const auto source = string_arg(L, 1);
  const auto text = string_arg(L, 2);
  if (!source) return LuaReturn::error(bad_argument(L, 1, "textfsm.parse", "string"));
  if (!text) return LuaReturn::error(bad_argument(L, 2, "textfsm.parse", "string"));
  auto fsm = template_named(std::string(*source));
  return records_or_error(
      L, fsm ? textfsm::parse(**fsm, *text) : Result<textfsm::Table>(fsm.error()), "textfsm.parse");
}

LuaReturn parse_command(lua_State* L) {
  const char* names[] = {"platform", "command", "text"};
  std::string_view args[3];
  for (int i = 0; i < 3; ++i) {
    const auto arg = string_arg(L, i + 1);
    if (!arg)
      return LuaReturn::error(bad_argument(L, i + 1, "textfsm.parse_command", "string") + " (" +
                              names[i] + ")");
    args[i] = *arg;
  }
  auto templates = library();
  return records_or_error(L,
                          templates
                              ? templates->parse(args[0], args[1], args[2])
                              : Result<textfsm::Table>(fail(Errc::InvalidConfig, no_directory())),
                          "textfsm");
}

}  // namespace

void set_textfsm_templates(std::shared_ptr<textfsm::TemplateLibrary> templates) {
  std::lock_guard lock(g_mutex);
  g_library = std::move(templates);
}

void open_textfsm(lua_State* L) {
  const luaL_Reg functions[] = {{"parse", lua_function<parse>},
                                {"parse_command", lua_function<parse_command>},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  lua_setglobal(L, "textfsm");
}

}  // namespace nauto::runbook
