#include "lua_patterns.h"

#include <cctype>
#include <cstddef>
#include <cstring>
#include <lua.hpp>

#include "nauto/runbook/lua_bridge.h"
#include "nauto/runbook/lua_sandbox.h"

// Every function here may raise a Lua error (longjmp) at any point: they hold no C++ object
// with a destructor, only plain structs, pointers into Lua strings and Lua's own buffers.

namespace nauto::runbook {

namespace {

constexpr int kMaxCaptures = 32;         // LUA_MAXCAPTURES
constexpr int kMaxDepth = 200;           // MAXCCALLS: how deep match() may recurse
constexpr unsigned kChargeEvery = 1024;  // steps between two charges to the sandbox
constexpr std::ptrdiff_t kUnfinished = -1;
constexpr std::ptrdiff_t kPosition = -2;
constexpr char kEscape = '%';
constexpr const char* kSpecials = "^$*+?.([%-";

struct Capture {
  const char* start;
  std::ptrdiff_t length;  // or kUnfinished, kPosition
};

// One search: the subject, the pattern, the captures so far and the steps not yet charged.
struct Matcher {
  lua_State* L;
  const char* what;  // "string.find", for messages
  const char* subject;
  const char* subject_end;
  const char* pattern_end;
  int depth_left;
  int level;
  unsigned uncharged;
  Capture captures[kMaxCaptures];
};

void step(Matcher& m) {
  if (++m.uncharged < kChargeEvery) return;
  LuaSandbox::of(m.L).charge(m.L, m.uncharged, m.what);
  m.uncharged = 0;
}

void settle_steps(Matcher& m) {
  if (m.uncharged) LuaSandbox::of(m.L).charge(m.L, m.uncharged, m.what);
  m.uncharged = 0;
}

void restart(Matcher& m) {
  m.level = 0;
  m.depth_left = kMaxDepth;
}

Matcher matcher_for(lua_State* L, const char* what, const char* subject, std::size_t subject_size,
                    const char* pattern, std::size_t pattern_size) {
  Matcher m;
  m.L = L;
  m.what = what;
  m.subject = subject;
  m.subject_end = subject + subject_size;
  m.pattern_end = pattern + pattern_size;
  m.uncharged = 0;
  restart(m);
  return m;
}

// The end of the single-character class that starts at p (".", "%a", "[...]" or a literal).
const char* class_end(Matcher& m, const char* p) {
  const char c = *p++;
  if (c == kEscape) {
    if (p >= m.pattern_end) luaL_error(m.L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c == '[') {
    if (*p == '^') ++p;
    do {  // the first character after '[' or '[^' is part of the set, even ']'
      if (p >= m.pattern_end) luaL_error(m.L, "malformed pattern (missing ']')");
      const char member = *p++;
      if (member == kEscape && p < m.pattern_end) ++p;
    } while (*p != ']');
    return p + 1;
  }
  return p;
}

bool in_class(unsigned char c, unsigned char class_letter) {
  bool result;
  switch (std::tolower(class_letter)) {
    case 'a':
      result = std::isalpha(c);
      break;
    case 'c':
      result = std::iscntrl(c);
      break;
    case 'd':
      result = std::isdigit(c);
      break;
    case 'g':
      result = std::isgraph(c);
      break;
    case 'l':
      result = std::islower(c);
      break;
    case 'p':
      result = std::ispunct(c);
      break;
    case 's':
      result = std::isspace(c);
      break;
    case 'u':
      result = std::isupper(c);
      break;
    case 'w':
      result = std::isalnum(c);
      break;
    case 'x':
      result = std::isxdigit(c);
      break;
    case 'z':  // deprecated since Lua 5.2 and still matched by 5.4 (found by fuzzing)
      result = c == 0;
      break;
    default:
      return class_letter == c;  // "%." is a literal dot
  }
  return std::isupper(class_letter) ? !result : result;
}

// `set` points at '[', `last` at the closing ']'.
bool in_set(unsigned char c, const char* set, const char* last) {
  bool matches = true;
  if (set[1] == '^') {
    matches = false;
    ++set;
  }
  while (++set < last) {
    if (*set == kEscape) {
      ++set;
      if (in_class(c, static_cast<unsigned char>(*set))) return matches;
    } else if (set[1] == '-' && set + 2 < last) {
      set += 2;
      if (static_cast<unsigned char>(set[-2]) <= c && c <= static_cast<unsigned char>(*set))
        return matches;
    } else if (static_cast<unsigned char>(*set) == c) {
      return matches;
    }
  }
  return !matches;
}

bool single_match(const Matcher& m, const char* s, const char* p, const char* ep) {
  if (s >= m.subject_end) return false;
  const auto c = static_cast<unsigned char>(*s);
  switch (*p) {
    case '.':
      return true;
    case kEscape:
      return in_class(c, static_cast<unsigned char>(p[1]));
    case '[':
      return in_set(c, p, ep - 1);
    default:
      return static_cast<unsigned char>(*p) == c;
  }
}

const char* match(Matcher& m, const char* s, const char* p);

const char* match_balance(Matcher& m, const char* s, const char* p) {
  if (p + 1 >= m.pattern_end) luaL_error(m.L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m.subject_end || *s != *p) return nullptr;
  const char open = p[0], close = p[1];
  int depth = 1;
  while (++s < m.subject_end) {
    step(m);
    if (*s == close) {
      if (--depth == 0) return s + 1;
    } else if (*s == open) {
      ++depth;
    }
  }
  return nullptr;
}

const char* max_expand(Matcher& m, const char* s, const char* p, const char* ep) {
  std::ptrdiff_t count = 0;
  while (single_match(m, s + count, p, ep)) {
    step(m);
    ++count;
  }
  for (; count >= 0; --count) {  // the longest first, then one shorter at a time
    if (const char* end = match(m, s + count, ep + 1)) return end;
  }
  return nullptr;
}

const char* min_expand(Matcher& m, const char* s, const char* p, const char* ep) {
  for (;;) {
    if (const char* end = match(m, s, ep + 1)) return end;
    if (!single_match(m, s, p, ep)) return nullptr;
    ++s;
  }
}

const char* start_capture(Matcher& m, const char* s, const char* p, std::ptrdiff_t what) {
  if (m.level >= kMaxCaptures) luaL_error(m.L, "too many captures");
  m.captures[m.level] = {s, what};
  ++m.level;
  const char* end = match(m, s, p);
  if (!end) --m.level;
  return end;
}

int open_capture(Matcher& m) {
  for (int level = m.level - 1; level >= 0; --level) {
    if (m.captures[level].length == kUnfinished) return level;
  }
  return luaL_error(m.L, "invalid pattern capture");
}

const char* end_capture(Matcher& m, const char* s, const char* p) {
  const int level = open_capture(m);
  m.captures[level].length = s - m.captures[level].start;
  const char* end = match(m, s, p);
  if (!end) m.captures[level].length = kUnfinished;
  return end;
}

int capture_index(Matcher& m, char digit) {
  const int index = digit - '1';
  if (index < 0 || index >= m.level || m.captures[index].length == kUnfinished)
    return luaL_error(m.L, "invalid capture index %%%d", index + 1);
  return index;
}

const char* match_back_reference(Matcher& m, const char* s, char digit) {
  const Capture& c = m.captures[capture_index(m, digit)];
  const auto length = static_cast<std::size_t>(c.length);
  if (static_cast<std::size_t>(m.subject_end - s) >= length && std::memcmp(c.start, s, length) == 0)
    return s + length;
  return nullptr;
}

const char* match(Matcher& m, const char* s, const char* p) {
  if (m.depth_left-- == 0) luaL_error(m.L, "pattern too complex");
  for (;;) {
    step(m);
    if (p == m.pattern_end) break;
    if (*p == '(') {
      s = p[1] == ')' ? start_capture(m, s, p + 2, kPosition)
                      : start_capture(m, s, p + 1, kUnfinished);
      break;
    }
    if (*p == ')') {
      s = end_capture(m, s, p + 1);
      break;
    }
    if (*p == '$' && p + 1 == m.pattern_end) {
      if (s != m.subject_end) s = nullptr;
      break;
    }
    if (*p == kEscape && p[1] == 'b') {
      s = match_balance(m, s, p + 2);
      if (!s) break;
      p += 4;
      continue;
    }
    if (*p == kEscape && p[1] == 'f') {
      p += 2;
      if (*p != '[') luaL_error(m.L, "missing '[' after '%%f' in pattern");
      const char* ep = class_end(m, p);
      const auto before = static_cast<unsigned char>(s == m.subject ? '\0' : s[-1]);
      const auto here = static_cast<unsigned char>(s < m.subject_end ? *s : '\0');
      if (in_set(before, p, ep - 1) || !in_set(here, p, ep - 1)) {
        s = nullptr;
        break;
      }
      p = ep;
      continue;
    }
    if (*p == kEscape && std::isdigit(static_cast<unsigned char>(p[1]))) {
      s = match_back_reference(m, s, p[1]);
      if (!s) break;
      p += 2;
      continue;
    }
    const char* ep = class_end(m, p);
    if (!single_match(m, s, p, ep)) {
      if (*ep == '*' || *ep == '?' || *ep == '-') {  // may match nothing: go on without it
        p = ep + 1;
        continue;
      }
      s = nullptr;
      break;
    }
    if (*ep == '?') {
      if (const char* end = match(m, s + 1, ep + 1)) {
        s = end;
        break;
      }
      p = ep + 1;
      continue;
    }
    if (*ep == '+') {
      s = max_expand(m, s + 1, p, ep);
      break;
    }
    if (*ep == '*') {
      s = max_expand(m, s, p, ep);
      break;
    }
    if (*ep == '-') {
      s = min_expand(m, s, p, ep);
      break;
    }
    ++s;
    p = ep;
  }
  ++m.depth_left;
  return s;
}

// Pushes capture `i` of a match from s to e; the whole match when the pattern has none.
void push_capture(Matcher& m, int i, const char* s, const char* e) {
  if (i >= m.level) {
    if (i != 0) luaL_error(m.L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(m.L, s, static_cast<std::size_t>(e - s));
    return;
  }
  const Capture& c = m.captures[i];
  if (c.length == kUnfinished) luaL_error(m.L, "unfinished capture");
  if (c.length == kPosition) {
    lua_pushinteger(m.L, static_cast<lua_Integer>(c.start - m.subject) + 1);
  } else {
    lua_pushlstring(m.L, c.start, static_cast<std::size_t>(c.length));
  }
}

// With s == nullptr (find), the whole match is not pushed when there are no captures.
int push_captures(Matcher& m, const char* s, const char* e) {
  const int count = (m.level == 0 && s) ? 1 : m.level;
  luaL_checkstack(m.L, count, "too many captures");
  for (int i = 0; i < count; ++i)
    push_capture(m, i, s, e);
  return count;
}

// Lua's rule for a start position: negative counts from the end, 0 and below-start mean 1.
std::size_t start_position(lua_Integer position, std::size_t length) {
  if (position > 0) return static_cast<std::size_t>(position);
  if (position == 0) return 1;
  if (position < -static_cast<lua_Integer>(length)) return 1;
  return length + static_cast<std::size_t>(position) + 1;
}

bool has_specials(const char* pattern, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (pattern[i] != '\0' && std::strchr(kSpecials, pattern[i])) return true;
  }
  return false;
}

const char* find_plain(const char* subject, std::size_t subject_size, const char* needle,
                       std::size_t needle_size) {
  if (needle_size == 0) return subject;
  if (needle_size > subject_size) return nullptr;
  const void* found = memmem(subject, subject_size, needle, needle_size);
  return static_cast<const char*>(found);
}

int find_or_match(lua_State* L, bool find) {
  std::size_t subject_size = 0, pattern_size = 0;
  const char* subject = luaL_checklstring(L, 1, &subject_size);
  const char* pattern = luaL_checklstring(L, 2, &pattern_size);
  const std::size_t init = start_position(luaL_optinteger(L, 3, 1), subject_size) - 1;
  if (init > subject_size) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || !has_specials(pattern, pattern_size))) {
    const char* at = find_plain(subject + init, subject_size - init, pattern, pattern_size);
    if (!at) {
      luaL_pushfail(L);
      return 1;
    }
    lua_pushinteger(L, static_cast<lua_Integer>(at - subject) + 1);
    lua_pushinteger(L, static_cast<lua_Integer>(at - subject + pattern_size));
    return 2;
  }
  const bool anchored = pattern_size > 0 && *pattern == '^';
  if (anchored) {
    ++pattern;
    --pattern_size;
  }
  Matcher m = matcher_for(L, find ? "string.find" : "string.match", subject, subject_size, pattern,
                          pattern_size);
  const char* s = subject + init;
  do {
    restart(m);
    if (const char* e = match(m, s, pattern)) {
      settle_steps(m);
      if (find) {
        lua_pushinteger(L, static_cast<lua_Integer>(s - subject) + 1);
        lua_pushinteger(L, static_cast<lua_Integer>(e - subject));
        return push_captures(m, nullptr, nullptr) + 2;
      }
      return push_captures(m, s, e);
    }
  } while (s++ < m.subject_end && !anchored);
  settle_steps(m);
  luaL_pushfail(L);
  return 1;
}

int bounded_find(lua_State* L) {
  return find_or_match(L, true);
}

int bounded_match(lua_State* L) {
  return find_or_match(L, false);
}

// gmatch's iterator state, a userdata: where the next search starts and where the last match
// ended (an empty match right there is skipped, as in Lua 5.4).
struct GmatchState {
  std::size_t next;
  std::ptrdiff_t last_end;  // -1: none yet
};

int gmatch_next(lua_State* L) {
  std::size_t subject_size = 0, pattern_size = 0;
  const char* subject = lua_tolstring(L, lua_upvalueindex(1), &subject_size);
  const char* pattern = lua_tolstring(L, lua_upvalueindex(2), &pattern_size);
  auto* state = static_cast<GmatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
  Matcher m = matcher_for(L, "string.gmatch", subject, subject_size, pattern, pattern_size);
  for (const char* s = subject + state->next; s <= m.subject_end; ++s) {
    restart(m);
    const char* e = match(m, s, pattern);
    if (e && e - subject != state->last_end) {
      settle_steps(m);
      state->next = static_cast<std::size_t>(e - subject);
      state->last_end = e - subject;
      return push_captures(m, s, e);
    }
  }
  settle_steps(m);
  state->next = subject_size + 1;
  return 0;
}

int bounded_gmatch(lua_State* L) {
  std::size_t subject_size = 0;
  luaL_checklstring(L, 1, &subject_size);
  luaL_checkstring(L, 2);
  std::size_t init = start_position(luaL_optinteger(L, 3, 1), subject_size) - 1;
  if (init > subject_size) init = subject_size + 1;
  lua_settop(L, 2);
  auto* state = static_cast<GmatchState*>(lua_newuserdatauv(L, sizeof(GmatchState), 0));
  state->next = init;
  state->last_end = -1;
  lua_pushcclosure(L, lua_function<gmatch_next>, 3);
  return 1;
}

// Appends the replacement string for one match, expanding %0-%9 and %%.
void add_replacement_text(Matcher& m, luaL_Buffer& b, const char* s, const char* e) {
  std::size_t size = 0;
  const char* text = lua_tolstring(m.L, 3, &size);
  const char* end = text + size;
  for (const char* at = text; at < end; ++at) {
    if (*at != kEscape) {
      luaL_addchar(&b, *at);
      continue;
    }
    ++at;
    if (at < end && *at == kEscape) {
      luaL_addchar(&b, kEscape);
    } else if (at < end && std::isdigit(static_cast<unsigned char>(*at))) {
      if (*at == '0') {
        luaL_addlstring(&b, s, static_cast<std::size_t>(e - s));
      } else {
        push_capture(m, *at - '1', s, e);
        luaL_tolstring(m.L, -1, nullptr);
        lua_remove(m.L, -2);
        luaL_addvalue(&b);
      }
    } else {
      luaL_error(m.L, "invalid use of '%c' in replacement string", kEscape);
    }
  }
}

// Appends what one match becomes; false when the match is kept as it was.
bool add_replacement(Matcher& m, luaL_Buffer& b, const char* s, const char* e, int repl_type) {
  lua_State* L = m.L;
  if (repl_type == LUA_TNUMBER || repl_type == LUA_TSTRING) {
    add_replacement_text(m, b, s, e);
    return true;
  }
  if (repl_type == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    const int count = push_captures(m, s, e);
    lua_call(L, count, 1);
  } else {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(&b, s, static_cast<std::size_t>(e - s));
    return false;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1)) != 0;
  luaL_addvalue(&b);
  return true;
}

int bounded_gsub(lua_State* L) {
  std::size_t subject_size = 0, pattern_size = 0;
  const char* subject = luaL_checklstring(L, 1, &subject_size);
  const char* pattern = luaL_checklstring(L, 2, &pattern_size);
  const int repl_type = lua_type(L, 3);
  const lua_Integer max_replacements =
      luaL_optinteger(L, 4, static_cast<lua_Integer>(subject_size) + 1);
  luaL_argexpected(L,
                   repl_type == LUA_TNUMBER || repl_type == LUA_TSTRING ||
                       repl_type == LUA_TFUNCTION || repl_type == LUA_TTABLE,
                   3, "string/function/table");
  const bool anchored = pattern_size > 0 && *pattern == '^';
  if (anchored) {
    ++pattern;
    --pattern_size;
  }
  Matcher m = matcher_for(L, "string.gsub", subject, subject_size, pattern, pattern_size);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char* s = subject;
  const char* last_end = nullptr;
  lua_Integer replaced = 0;
  bool changed = false;
  while (replaced < max_replacements) {
    restart(m);
    const char* e = match(m, s, pattern);
    if (e && e != last_end) {
      ++replaced;
      changed = add_replacement(m, b, s, e, repl_type) || changed;
      s = last_end = e;
    } else if (s < m.subject_end) {
      luaL_addchar(&b, *s++);
    } else {
      break;
    }
    if (anchored) break;
  }
  settle_steps(m);
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, s, static_cast<std::size_t>(m.subject_end - s));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, replaced);
  return 2;
}

}  // namespace

void open_bounded_patterns(lua_State* L, int string_table) {
  const luaL_Reg functions[] = {{"find", lua_function<bounded_find>},
                                {"match", lua_function<bounded_match>},
                                {"gmatch", lua_function<bounded_gmatch>},
                                {"gsub", lua_function<bounded_gsub>}};
  for (const auto& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, string_table, f.name);
  }
}

}  // namespace nauto::runbook
