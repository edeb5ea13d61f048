// Lua rules (issue 28): check(config, facts) in the runbooks' sandbox - verdicts, messages and
// lines, the facts it gets, and errors and limits that make an error, never a hang.
#include "lua_check.h"

#include <catch2/catch.hpp>

#include "evaluate.h"

using namespace nauto::compliance;
using nlohmann::json;

namespace {

const char* kConfig =
    "hostname r1\n"
    "interface Ethernet1\n description uplink\n mtu 9216\n"
    "interface Ethernet2\n description uplink\n"
    "interface Ethernet3\n shutdown\n";

// Uplinks (a description of "uplink") must have a jumbo MTU.
const char* kJumboUplinks = R"lua(
function check(config, facts)
  local bad, name, uplink, jumbo = {}, nil, false, false
  local function close()
    if name and uplink and not jumbo then bad[#bad + 1] = name end
  end
  for line in (config .. "\n"):gmatch("([^\n]*)\n") do
    local interface = line:match("^interface (%S+)")
    if interface or not line:match("^ ") then
      close()
      name, uplink, jumbo = interface, false, false
    elseif line == " description uplink" then
      uplink = true
    elseif line == " mtu 9216" then
      jumbo = true
    end
  end
  close()
  if #bad > 0 then return false, #bad .. " uplinks without MTU 9216", bad end
  return true
end
)lua";

RuleResult evaluate_one(const std::string& code, const std::string& config = kConfig) {
  auto policy = parse_policy(
      "rules:\n  - id: r\n    lua: |\n" +
          [&] {
            std::string indented;
            std::size_t start = 0;
            while (start < code.size()) {
              auto end = code.find('\n', start);
              if (end == std::string::npos) end = code.size();
              indented += "      " + code.substr(start, end - start) + "\n";
              start = end + 1;
            }
            return indented;
          }(),
      "lua.yaml");
  if (!policy) FAIL(policy.error().message);
  static const nauto::drivers::ConfigDiff parser({}, {});
  DeviceInput input;
  input.device = "r1";
  input.site = "dc1";
  input.data.platform = "arista_eos";
  input.config.emplace(config, parser);
  nauto::text::Matcher matcher;
  std::vector<const Rule*> rules{&policy->rules.front()};
  return evaluate(rules, input, matcher).front();
}

}  // namespace

TEST_CASE("a lua rule fails with its message and lines, and passes") {
  auto out = evaluate_one(kJumboUplinks);
  CHECK(out.status == Status::Fail);
  CHECK(out.message == "1 uplinks without MTU 9216");
  CHECK(out.lines == std::vector<std::string>{"Ethernet2"});
  CHECK(
      evaluate_one(kJumboUplinks, "interface Ethernet1\n description uplink\n mtu 9216\n").status ==
      Status::Pass);
}

TEST_CASE("facts name the device, its platform and site; a chunk may return the function") {
  auto out = evaluate_one(R"(return function(config, facts)
  return facts.device == "r1" and facts.platform == "arista_eos" and facts.site == "dc1"
end)");
  CHECK(out.status == Status::Pass);
}

TEST_CASE("errors, limits and wrong returns are errors of the rule, and the next call works") {
  auto raised = evaluate_one("function check() error('no such thing') end");
  CHECK(raised.status == Status::Error);
  CHECK_THAT(raised.message, Catch::Contains("no such thing"));
  auto wrong = evaluate_one("function check() return 'yes' end");
  CHECK(wrong.status == Status::Error);
  CHECK_THAT(wrong.message, Catch::Contains("must return true, or false"));
  auto looping = LuaCheck::compile("function check() while true do end end", "loop.yaml:3");
  REQUIRE(looping);
  auto first = (*looping)->run("x", json::object());
  REQUIRE_FALSE(first);
  auto again = (*looping)->run("x", json::object());  // a fresh allowance, the same verdict
  REQUIRE_FALSE(again);
  auto greedy = LuaCheck::compile(
      "function check(c) local t = {} for i = 1, 1e9 do t[i] = c .. i end end", "mem.yaml:3");
  REQUIRE(greedy);
  CHECK_FALSE((*greedy)->run("xxxxxxxxxxxxxxxxxxxxxxxx", json::object()));
  auto fine = LuaCheck::compile("function check() return true end", "ok.yaml:3");
  REQUIRE(fine);
  CHECK((*fine)->run("x", json::object())->pass);
}

TEST_CASE("a policy with broken Lua is refused at its line; no io, os or require") {
  auto syntax =
      parse_policy("rules:\n  - id: r\n    lua: 'function check( return true end'\n", "bad.yaml");
  REQUIRE_FALSE(syntax);
  CHECK_THAT(syntax.error().message, Catch::Contains("bad.yaml:3: lua:"));
  auto none = parse_policy("rules:\n  - id: r\n    lua: 'x = 1'\n", "none.yaml");
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("defines no function check"));
  auto sandboxed =
      evaluate_one("function check() return io == nil and os == nil and require == nil end");
  CHECK(sandboxed.status == Status::Pass);
}
