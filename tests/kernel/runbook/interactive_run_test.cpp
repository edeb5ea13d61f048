// Interactive runs (the shell's session): the __shell_input primitive, Ctrl-C through the
// sandbox's interrupt flag (one-shot, unlike a limit), and interrupt_waiting for effects out.
#include <atomic>
#include <catch2/catch.hpp>

#include "nauto/runbook/run.h"

using namespace nauto;
using namespace nauto::runbook;
using nlohmann::json;

namespace {

// A host that records effects and answers "input" from a script of chunks.
struct ScriptedHost : RunHost {
  std::vector<Effect> issued;
  std::optional<std::string> input_key;
  json last_outcome;
  void issue(Run&, const Effect& effect) override {
    issued.push_back(effect);
    if (effect.kind == "input") {
      input_key = effect.key;
      last_outcome = effect.args;
    }
  }
  void note(Run&, const std::string&, const json&) override {}
  void finished(Run&) override {}
};

// Evaluates each chunk with load + pcall, as the shell's loop does, and reports {ok, value}.
const char* kLoop = R"LUA(
local input = __shell_input
__shell_input = nil
return runbook { name = "loop", run = function()
  local outcome
  while true do
    local source = input(outcome)
    if source == nil then return "bye" end
    local fn, problem = load(source, "=stdin", "t")
    if not fn then outcome = { ok = false, error = problem } else
      local ok, value = pcall(fn)
      outcome = ok and { ok = true, value = value } or { ok = false, error = tostring(value) }
    end
  end
end }
)LUA";

RunSpec loop_spec(bool interactive) {
  RunSpec spec;
  spec.id = "shell-test";
  spec.runbook = "loop";
  spec.chunk_name = "loop.lua";
  spec.source = kLoop;
  spec.interactive = interactive;
  spec.limits.instruction_budget = UINT64_MAX;
  return spec;
}

json feed(Run& run, ScriptedHost& host, const std::string& chunk) {
  REQUIRE(host.input_key);
  const auto key = *host.input_key;
  host.input_key.reset();
  run.complete(key, json(chunk));
  return host.last_outcome;
}

}  // namespace

TEST_CASE("an interactive run reads chunks through __shell_input; globals persist") {
  ScriptedHost host;
  auto run = Run::create(loop_spec(true), {}, host);
  REQUIRE(run);
  (*run)->start();
  REQUIRE(host.input_key);
  CHECK(host.last_outcome.is_null());
  CHECK(feed(**run, host, "x = 20 return x + 1") == json{{"ok", true}, {"value", 21}});
  CHECK(feed(**run, host, "return x * 2") == json{{"ok", true}, {"value", 40}});
  // The primitive is the loop's alone: chunks cannot reach it.
  CHECK(feed(**run, host, "return __shell_input == nil") == json{{"ok", true}, {"value", true}});
  auto failed = feed(**run, host, "error('boom')");
  CHECK(failed["ok"] == false);
  CHECK(failed["error"].get<std::string>().find("boom") != std::string::npos);
  REQUIRE(host.input_key);
  const auto key = *host.input_key;
  (*run)->complete(key, json());  // nil: the session ends
  CHECK((*run)->state() == RunState::Succeeded);
  CHECK((*run)->result() == "bye");
}

TEST_CASE("a runbook run has no __shell_input") {
  ScriptedHost host;
  auto run = Run::create(loop_spec(false), {}, host);
  REQUIRE(run);
  (*run)->start();
  CHECK((*run)->state() == RunState::Failed);
  CHECK((*run)->error().find("__shell_input") == std::string::npos);  // calling nil, in run
  CHECK_FALSE(host.input_key);
}

TEST_CASE("Ctrl-C interrupts a computing chunk once; the session goes on") {
  ScriptedHost host;
  auto run = Run::create(loop_spec(true), {}, host);
  REQUIRE(run);
  std::atomic<bool> interrupt{false};
  (*run)->sandbox().set_interrupt_flag(&interrupt);
  (*run)->start();
  // The flag is already set when the endless loop starts: the first hook check raises.
  interrupt = true;
  auto outcome = feed(**run, host, "while true do end");
  CHECK(outcome["ok"] == false);
  CHECK(outcome["error"].get<std::string>().find("interrupted") != std::string::npos);
  CHECK_FALSE(interrupt.load());
  CHECK((*run)->state() == RunState::Running);
  CHECK(feed(**run, host, "return 1 + 1") == json{{"ok", true}, {"value", 2}});
}

TEST_CASE("interrupt_waiting ends the effects a chunk waits for with Cancelled") {
  ScriptedHost host;
  auto run = Run::create(loop_spec(true), {}, host);
  REQUIRE(run);
  (*run)->start();
  const auto key = *host.input_key;
  host.input_key.reset();
  (*run)->complete(key, json("return device('r1'):run('show version')"));
  REQUIRE(host.issued.back().kind == "device");
  CHECK_FALSE(host.input_key);
  (*run)->interrupt_waiting("interrupted (Ctrl-C)");
  REQUIRE(host.input_key);
  CHECK(host.last_outcome["ok"] == false);
  CHECK(host.last_outcome["error"].get<std::string>().find("interrupted (Ctrl-C)") !=
        std::string::npos);
  CHECK((*run)->state() == RunState::Running);
}
