#pragma once
// LuaPredicate: a rule test written in Lua, for what the YAML tests cannot say (arithmetic on
// fields, string work, several fields at once):
//
//   when:
//     lua: tonumber(event.fields.errors) > 10 * tonumber(event.fields.baseline)
//     # or a chunk that returns the answer:
//     lua: |
//       local name = event.fields.interface or ""
//       return name:match("^Gi") ~= nil and event.severity <= 3
//
// `event` is the event as rules see it (the body's keys plus topic and id). The code runs in
// the runbooks' sandbox (no io, os, require or bytecode) with small limits — 4 MiB of memory,
// a million instructions and 50 ms per call — so a predicate cannot stall the rules module. A
// predicate that fails (an error, a limit) does not hold: the rule does not fire, and `rules test`
// shows why.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"

namespace nauto::runbook {
class LuaSandbox;
}

namespace nauto::rules {

class LuaPredicate {
 public:
  /// Compiles `code` as an expression, or else as a chunk that returns the answer. Errors:
  /// InvalidConfig with Lua's message, naming `chunk_name` (file:line).
  static Result<std::shared_ptr<LuaPredicate>> compile(const std::string& code,
                                                       const std::string& chunk_name);
  ~LuaPredicate();
  LuaPredicate(const LuaPredicate&) = delete;
  LuaPredicate& operator=(const LuaPredicate&) = delete;

  /// Whether the predicate holds for `event` (Lua truth: anything but nil and false), or why it
  /// could not say.
  Result<bool> test(const nlohmann::json& event);
  const std::string& code() const { return code_; }

 private:
  LuaPredicate() = default;
  std::unique_ptr<runbook::LuaSandbox> sandbox_;
  std::string code_;
  int function_ = 0;  ///< registry reference to the compiled chunk
};

}  // namespace nauto::rules
