#pragma once
// The one way from Lua into C++: every C function a runbook can reach is registered as
// lua_function<body>, a trampoline around a body that returns a LuaReturn.
//
// Why: Debian's Lua 5.4 is built as C, so a Lua error unwinds with longjmp and skips the
// destructors of every C++ object between the error and the pcall that catches it (a leaked
// shared_ptr, a string, a lock). And a C++ exception must never unwind through Lua's C frames.
// The trampoline (after Envoy's DECLARE_LUA_FUNCTION):
//   - catches every C++ exception and turns it into a Lua error;
//   - turns LuaReturn::failure into the two results `nil, message` (expected failures);
//   - raises LuaReturn::error, and yields for LuaReturn::yield, only after the body returned,
//     when the body's C++ objects are gone.
// What a body must keep to: while it holds a C++ object with a destructor, it calls no Lua
// function that can raise (allocating ones included: lua_pushstring can fail for memory). It
// reads arguments with the non-raising readers below and pushes results with push_protected /
// push_json_protected, which run inside a pcall. A body that holds only trivially destructible
// locals (pointers, string_views, plain structs) may use the raising Lua API freely.
// Depth limits and stack checks for values crossing either way live in lua_values.h.
// Thread-bound: the calling Lua state's thread.

#include <cstdint>
#include <lua.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "nauto/base/result.h"

namespace nauto::runbook {

/// How a body ends.
class LuaReturn {
 public:
  enum class Kind { Values, Failure, Error, Yield };
  /// `count` results are on the stack (pushed by the body).
  static LuaReturn values(int count) { return LuaReturn(Kind::Values, count, {}, nullptr); }
  /// Returns `nil, message` to Lua: an operation that failed in an expected way.
  static LuaReturn failure(std::string message) {
    return LuaReturn(Kind::Failure, 2, std::move(message), nullptr);
  }
  /// Raises `message` as a Lua error: misuse, a bad argument, a limit.
  static LuaReturn error(std::string message) {
    return LuaReturn(Kind::Error, 0, std::move(message), nullptr);
  }
  /// Suspends the calling coroutine (no values); `then` runs when it is resumed.
  static LuaReturn yield(lua_KFunction then = nullptr) {
    return LuaReturn(Kind::Yield, 0, {}, then);
  }

  Kind kind() const { return kind_; }
  int count() const { return count_; }
  const std::string& message() const { return message_; }
  lua_KFunction continuation() const { return continuation_; }

 private:
  LuaReturn(Kind kind, int count, std::string message, lua_KFunction then)
      : kind_(kind), count_(count), message_(std::move(message)), continuation_(then) {}
  Kind kind_;
  int count_;
  std::string message_;
  lua_KFunction continuation_;
};

using LuaBody = LuaReturn (*)(lua_State* L);

namespace bridge_detail {
int enter(lua_State* L, LuaBody body) noexcept;
int enter_plain(lua_State* L, lua_CFunction body) noexcept;
}  // namespace bridge_detail

/// The trampoline: register `lua_function<body>` wherever a lua_CFunction is wanted. `body` is
/// a LuaBody, or a plain lua_CFunction for code written against the Lua API alone (pattern
/// matchers, text splitting): one whose locals are all trivially destructible, so it may raise
/// and push directly; the trampoline still stops any C++ exception at the border.
template <auto body>
int lua_function(lua_State* L) {
  if constexpr (std::is_same_v<decltype(body), LuaBody>) {
    return bridge_detail::enter(L, body);
  } else {
    static_assert(std::is_same_v<decltype(body), lua_CFunction>,
                  "lua_function<body>: body is a LuaBody or a lua_CFunction");
    return bridge_detail::enter_plain(L, body);
  }
}

/// Argument readers that never raise: the value, or nullopt when the argument is missing or of
/// another type (numbers are not turned into strings). The string_view points into Lua's string,
/// valid while the argument stays on the stack.
std::optional<std::string_view> string_arg(lua_State* L, int index);
std::optional<lua_Integer> integer_arg(lua_State* L, int index);
/// "bad argument #2 to 'textfsm.parse' (string expected, got table)"
std::string bad_argument(lua_State* L, int index, const char* function, const char* expected);

/// Runs `push(L, data)` inside a pcall; on success exactly one value is on the stack. The
/// pusher may raise (memory, a depth limit): the error comes back as the Result, with no C++
/// frame of the caller skipped. The pusher itself must hold only trivially destructible locals.
Result<void> push_protected(lua_State* L, void (*push)(lua_State* L, const void* data),
                            const void* data);
/// push_json (lua_values.h) inside push_protected.
Result<void> push_json_protected(lua_State* L, const nlohmann::json& value);

}  // namespace nauto::runbook
