// expression_probe: evaluates `{{ }}` expressions the way a YAML runbook does, for
// jinja_parity_test.py, which renders the same expressions with Python's jinja2.
// stdin: {"vars": {...}, "cases": ["expr", ...]}
// stdout: [{"render": "<as {{ expr }} renders>", "truthy": <as a condition>} | {"error": "..."}]

#include <iostream>
#include <iterator>
#include <lua.hpp>
#include <nlohmann/json.hpp>

#include "chunk_cache.h"
#include "lua_text.h"
#include "nauto/runbook/lua_sandbox.h"
#include "nauto/runbook/lua_values.h"
#include "yaml_expressions.h"

using namespace nauto;
using namespace nauto::runbook;
using nlohmann::json;

namespace {

json evaluate(const std::string& vars, const std::string& expression) {
  auto compiled = compile_expression(expression);
  if (!compiled) return json{{"error", compiled.error().message}};
  auto sandbox = LuaSandbox::create(SandboxLimits{});
  if (!sandbox) return json{{"error", sandbox.error().message}};
  lua_State* L = (*sandbox)->state();
  open_json(L);
  open_text_helpers(L);
  const auto chunk = expression_helpers({}) + "local V = json.decode(" + lua_string(vars) +
                     ") local value = " + *compiled + " return Y.str(value), Y.truthy(value)";
  if (load_text_chunk(L, chunk, "=probe") != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK) {
    const char* message = lua_tostring(L, -1);
    return json{{"error", message ? message : "error"}};
  }
  std::size_t size = 0;
  const char* text = lua_tolstring(L, -2, &size);
  return json{{"render", std::string(text, size)}, {"truthy", lua_toboolean(L, -1) != 0}};
}

}  // namespace

int main() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), {});
  const auto request = json::parse(input);
  const auto vars = request.at("vars").dump();
  json out = json::array();
  for (const auto& expression : request.at("cases"))
    out.push_back(evaluate(vars, expression.get<std::string>()));
  std::cout << out.dump() << "\n";
  return 0;
}
