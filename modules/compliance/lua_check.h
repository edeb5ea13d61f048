#pragma once
// LuaCheck: a compliance rule written in Lua, for what the other checks cannot say:
//
//   - id: uplinks-jumbo
//     lua: |
//       function check(config, facts)
//         local bad = {}
//         ... walk config:gmatch("([^\n]*)\n"), noting uplinks without "mtu 9216" in bad ...
//         if #bad > 0 then return false, #bad .. " uplinks without MTU 9216", bad end
//         return true
//       end
//
// The chunk runs once when the policy loads and must define `check` (or return a function).
// Each device's call gets `config` (the config's text) and `facts` ({device, platform, site,
// and in live runs of a `live: true` rule the driver's facts}); it returns true (pass), or false
// with an optional message and an optional list of lines (fail). Anything else is an error.
// The code runs in the runbooks' sandbox (no io, os, require or bytecode; Lua patterns whose
// backtracking is charged to the budget) with 16 MiB of memory, 10 million instructions and
// 250 ms per call, so a rule cannot stall a run.
// Thread-safe: calls from several threads (a run's evaluator, the gate) take turns on its
// one Lua state.

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::runbook {
class LuaSandbox;
}

namespace nauto::compliance {

struct LuaVerdict {
  bool pass = true;
  std::string message;
  std::vector<std::string> lines;
};

class LuaCheck {
 public:
  /// Runs the chunk and finds its `check`. Errors: InvalidConfig with Lua's message, naming
  /// `chunk_name` ("file:line").
  static Result<std::shared_ptr<LuaCheck>> compile(const std::string& code,
                                                   const std::string& chunk_name);
  ~LuaCheck();
  LuaCheck(const LuaCheck&) = delete;
  LuaCheck& operator=(const LuaCheck&) = delete;

  /// The verdict on one device; an error (Lua's, a limit, a wrong return) says why there is none.
  Result<LuaVerdict> run(const std::string& config, const nlohmann::json& facts);

 private:
  LuaCheck() = default;
  std::mutex mutex_;
  std::unique_ptr<runbook::LuaSandbox> sandbox_;
  int function_ = 0;  ///< registry reference to `check`
};

}  // namespace nauto::compliance
