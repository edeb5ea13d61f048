#include "nauto/runbook/lua_textfsm.h"

#include <cctype>
#include <list>
#include <lua.hpp>
#include <mutex>
#include <string>
#include <string_view>

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

// Pushes the message for a later lua_error: the error is raised only once every C++ object of
// the call is gone, because lua_error longjmps past destructors.
void push_message(lua_State* L, const std::string& message) {
  lua_pushlstring(L, message.data(), message.size());
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

std::string_view argument(lua_State* L, int index) {
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, index, &size);
  return {text, size};
}

// The records, with a metatable whose __columns lists the column names in the template's order
// (records are keyed tables, so that order is otherwise lost; the shell shows columns by it).
void push_records(lua_State* L, const textfsm::Table& table) {
  push_json(L, textfsm::to_json(table));
  lua_createtable(L, 0, 1);
  lua_createtable(L, static_cast<int>(table.header.size()), 0);
  lua_Integer index = 0;
  for (auto name : table.header) {
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lua_pushlstring(L, name.data(), name.size());
    lua_rawseti(L, -2, ++index);
  }
  lua_setfield(L, -2, "__columns");
  lua_setmetatable(L, -2);
}

int parse(lua_State* L) {
  // Arguments are read before any C++ object exists: a bad argument raises (longjmp).
  const auto source = argument(L, 1);
  const auto text = argument(L, 2);
  {
    auto fsm = template_named(std::string(source));
    auto table = fsm ? textfsm::parse(**fsm, text) : Result<textfsm::Table>(fsm.error());
    if (table) {
      push_records(L, *table);
      return 1;
    }
    push_message(L, "textfsm.parse: " + table.error().describe());
  }
  return lua_error(L);
}

int parse_command(lua_State* L) {
  const auto platform = argument(L, 1);
  const auto command = argument(L, 2);
  const auto text = argument(L, 3);
  {
    auto templates = library();
    auto table = templates ? templates->parse(platform, command, text)
                           : Result<textfsm::Table>(fail(Errc::InvalidConfig, no_directory()));
    if (table) {
      push_records(L, *table);
      return 1;
    }
    push_message(L, "textfsm: " + table.error().describe());
  }
  return lua_error(L);
}

}  // namespace

void set_textfsm_templates(std::shared_ptr<textfsm::TemplateLibrary> templates) {
  std::lock_guard lock(g_mutex);
  g_library = std::move(templates);
}

void open_textfsm(lua_State* L) {
  const luaL_Reg functions[] = {
      {"parse", parse}, {"parse_command", parse_command}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  lua_setglobal(L, "textfsm");
}

}  // namespace nauto::runbook
