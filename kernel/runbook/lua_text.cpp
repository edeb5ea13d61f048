#include "lua_text.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <lua.hpp>
#include <string_view>

#include "nauto/runbook/lua_bridge.h"
#include "nauto/runbook/lua_sandbox.h"

namespace nauto::runbook {

namespace {

constexpr std::uint32_t kMatchLimit = 10'000'000;

// A compiled pattern lives in a Lua userdata whose __gc frees it: Lua errors unwind with
// longjmp, which would skip C++ destructors.
struct Pattern {
  pcre2_code* code = nullptr;
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  std::uint32_t groups = 0;
};

int free_pattern(lua_State* L) {
  auto* p = static_cast<Pattern*>(lua_touserdata(L, 1));
  if (p->data) pcre2_match_data_free(p->data);
  if (p->context) pcre2_match_context_free(p->context);
  if (p->code) pcre2_code_free(p->code);
  *p = Pattern{};
  return 0;
}

// Compiles the pattern at `index`; the userdata stays on the stack. Raises for a bad pattern.
Pattern& compile(lua_State* L, int index) {
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, index, &size);
  auto* p = static_cast<Pattern*>(lua_newuserdatauv(L, sizeof(Pattern), 0));
  *p = Pattern{};
  if (luaL_newmetatable(L, "nauto.pattern")) {
    lua_pushcfunction(L, lua_function<free_pattern>);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  int code = 0;
  PCRE2_SIZE offset = 0;
  p->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text), size, PCRE2_MULTILINE, &code, &offset,
                          nullptr);
  if (!p->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    luaL_error(L, "bad pattern '%s' at offset %d: %s", text, static_cast<int>(offset),
               reinterpret_cast<const char*>(message));
  }
  pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &p->groups);
  p->data = pcre2_match_data_create_from_pattern(p->code, nullptr);
  p->context = pcre2_match_context_create(nullptr);
  if (!p->data || !p->context) luaL_error(L, "out of memory compiling a pattern");
  pcre2_set_match_limit(p->context, kMatchLimit);
  return *p;
}

// Runs one match from `start`; false when there is none. Raises for match errors.
bool match_at(lua_State* L, Pattern& p, std::string_view subject, std::size_t start) {
  const int rc = pcre2_match(p.code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                             start, 0, p.data, p.context);
  // Each match is bounded by the match limit; a call that matches many times (re.find_all,
  // sections) by the run's budget, deadline and unpausable stretch, charged per byte walked.
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(p.data);
  LuaSandbox::of(L).charge(L, 1 + (rc >= 0 ? ovector[1] - start : subject.size() - start), "re");
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    luaL_error(L, "pattern match failed: %s", reinterpret_cast<const char*>(message));
  }
  return true;
}

void push_group(lua_State* L, Pattern& p, std::string_view subject, std::uint32_t group) {
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(p.data);
  if (ovector[2 * group] == PCRE2_UNSET) {
    lua_pushnil(L);
    return;
  }
  lua_pushlstring(L, subject.data() + ovector[2 * group],
                  ovector[2 * group + 1] - ovector[2 * group]);
}

// The captures of the current match (or the whole match), as `count` values.
int push_captures(lua_State* L, Pattern& p, std::string_view subject) {
  if (p.groups == 0) {
    push_group(L, p, subject, 0);
    return 1;
  }
  luaL_checkstack(L, static_cast<int>(p.groups), "too many captures");
  for (std::uint32_t g = 1; g <= p.groups; ++g)
    push_group(L, p, subject, g);
  return static_cast<int>(p.groups);
}

std::string_view subject_of(lua_State* L, int index) {
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, index, &size);
  return {text, size};
}

int re_match(lua_State* L) {
  const auto subject = subject_of(L, 1);
  auto& p = compile(L, 2);
  if (!match_at(L, p, subject, 0)) {
    lua_pushnil(L);
    return 1;
  }
  return push_captures(L, p, subject);
}

int re_test(lua_State* L) {
  const auto subject = subject_of(L, 1);
  auto& p = compile(L, 2);
  lua_pushboolean(L, match_at(L, p, subject, 0));
  return 1;
}

int re_find_all(lua_State* L) {
  const auto subject = subject_of(L, 1);
  auto& p = compile(L, 2);
  lua_newtable(L);
  lua_Integer found = 0;
  std::size_t start = 0;
  while (start <= subject.size() && match_at(L, p, subject, start)) {
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(p.data);
    if (p.groups <= 1) {
      push_group(L, p, subject, p.groups);
    } else {
      lua_createtable(L, static_cast<int>(p.groups), 0);
      for (std::uint32_t g = 1; g <= p.groups; ++g) {
        push_group(L, p, subject, g);
        lua_rawseti(L, -2, g);
      }
    }
    lua_rawseti(L, -2, ++found);
    start = ovector[1] > ovector[0] ? ovector[1] : ovector[1] + 1;  // empty match: step on
  }
  return 1;
}

// The line that starts at `start` (without its line end) and where the next one starts.
// Only trivially destructible locals here and below: a Lua error unwinds with longjmp.
std::string_view line_at(std::string_view text, std::size_t start, std::size_t& next) {
  auto end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  next = end + 1;
  auto line = text.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

int lines(lua_State* L) {
  const auto text = subject_of(L, 1);
  lua_newtable(L);
  lua_Integer i = 0;
  for (std::size_t start = 0, next = 0; start < text.size(); start = next) {
    const auto line = line_at(text, start, next);
    lua_pushlstring(L, line.data(), line.size());
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

bool indented(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '\t');
}

// Pushes the blocks whose header line matches; `first_only` stops after one. A block is its
// header and the indented lines under it; a blank line inside stays when the block goes on.
int push_sections(lua_State* L, bool first_only) {
  const auto text = subject_of(L, 1);
  auto& p = compile(L, 2);
  lua_newtable(L);
  lua_Integer found = 0;
  std::size_t next = 0;
  for (std::size_t start = 0; start < text.size(); start = next) {
    const auto header = line_at(text, start, next);
    if (!match_at(L, p, header, 0)) continue;
    std::size_t block_end = start + header.size();
    while (next < text.size()) {
      std::size_t after = 0;
      const auto line = line_at(text, next, after);
      if (line.empty()) {
        std::size_t beyond = 0;
        if (after >= text.size() || !indented(line_at(text, after, beyond))) break;
      } else if (!indented(line)) {
        break;
      }
      block_end = next + line.size();
      next = after;
    }
    lua_pushlstring(L, text.data() + start, block_end - start);
    if (first_only) return 1;
    lua_rawseti(L, -2, ++found);
  }
  if (first_only) lua_pushnil(L);
  return 1;
}

int section(lua_State* L) {
  return push_sections(L, true);
}
int sections(lua_State* L) {
  return push_sections(L, false);
}

}  // namespace

void open_text_helpers(lua_State* L) {
  const luaL_Reg re[] = {{"match", lua_function<re_match>},
                         {"find_all", lua_function<re_find_all>},
                         {"test", lua_function<re_test>},
                         {nullptr, nullptr}};
  luaL_newlib(L, re);
  lua_setglobal(L, "re");
  lua_register(L, "lines", lua_function<lines>);
  lua_register(L, "section", lua_function<section>);
  lua_register(L, "sections", lua_function<sections>);
}

}  // namespace nauto::runbook
