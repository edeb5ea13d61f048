// The shell's parts that need no nautod: completion, chunk gathering, value printing, paging
// and the runbook `:save` writes (which must load as a runbook).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "chunk_reader.h"
#include "completer.h"
#include "nauto/runbook/runbook_loader.h"
#include "session_recorder.h"
#include "value_printer.h"

using namespace nauto::cli::shell;
using nlohmann::json;

namespace {

CompletionData lab_data() {
  CompletionData data;
  data.device_platform = {{"ios1", "cisco_ios"}, {"ios2", "cisco_ios"}, {"eos3", "arista_eos"}};
  data.selector_values = {
      {"name", {"ios1", "ios2", "eos3"}}, {"site", {"dc1", "dc2"}}, {"role", {"edge", "leaf"}}};
  data.platform_commands = {{"cisco_ios",
                             {"show version", "show ip bgp summary", "show ip bgp neighbors",
                              "show ip route", "show interfaces"}},
                            {"arista_eos", {"show version", "show ip bgp summary"}}};
  return data;
}

Completer::Lookup globals() {
  return Completer::Lookup{[](const std::string& path) -> std::vector<std::string> {
                             if (path.empty())
                               return {"device", "inventory", "parallel", "print", "r1"};
                             if (path == "inventory") return {"select"};
                             if (path == "r1")
                               return {"name", "run", "config", "push", "diff", "facts"};
                             return {};
                           },
                           [](const std::string& global) -> std::optional<std::string> {
                             if (global == "r1") return "ios1";
                             return std::nullopt;
                           }};
}

std::vector<std::string> complete(const std::string& line) {
  static const auto data = lab_data();
  Completer completer(data, globals());
  return completer.complete(line).candidates;
}

using Words = std::vector<std::string>;

}  // namespace

TEST_CASE("completion offers device names inside device(\"...\") and after :connect") {
  CHECK(complete("r = device(\"io") == Words{"ios1", "ios2"});
  CHECK(complete("r = device('e") == Words{"eos3"});
  CHECK(complete(":connect i") == Words{"ios1", "ios2"});
  CHECK(complete("r = device(\"x").empty());
}

TEST_CASE("completion offers device commands by the device's platform, word by word") {
  CHECK(complete("r1:run(\"sh ip bgp ") == Words{"neighbors", "summary"});
  CHECK(complete("r1:run(\"sh ip bgp s") == Words{"summary"});
  CHECK(complete("r1:run(\"show ip r") == Words{"route"});
  CHECK(complete("device(\"eos3\"):run(\"show ip bgp ") == Words{"summary"});
  CHECK(complete("r1:run({\"sh") == Words{"show"});
  // An abbreviation that fits no command offers nothing; an unknown handle neither.
  CHECK(complete("r1:run(\"sh xyz ").empty());
  CHECK(complete("r9:run(\"sh ").empty());
}

TEST_CASE("completion offers selector keys and values, in select() and after :devices") {
  CHECK(complete("inventory.select(\"si") == Words{"site="});
  CHECK(complete("inventory.select(\"site=d") == Words{"dc1", "dc2"});
  CHECK(complete("inventory.select(\"site=dc1 and ro") == Words{"role="});
  CHECK(complete(":devices role!=l") == Words{"leaf"});
  CHECK(complete(":devices site=dc1 a") == Words{"all", "and"});
}

TEST_CASE("completion offers globals, table fields, device methods and meta-commands") {
  CHECK(complete("par") == Words{"parallel"});
  CHECK(complete("x = inventory.se") == Words{"select"});
  CHECK(complete("r1:co") == Words{"config"});
  CHECK(complete("r1:") == Words{"config", "diff", "facts", "name", "push", "run"});
  CHECK(complete("whi") == Words{"while"});
  CHECK(complete(":sa") == Words{"save"});
  CHECK(complete(":timing o") == Words{"off", "on"});
  CHECK(complete("-- a comment \"dev").empty());
}

TEST_CASE("completion offers runbook files and directories after :run") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / "nauto-shell-files-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "lib.d");
  std::ofstream(dir / "bgp.check.lua") << "";
  std::ofstream(dir / "bgp.yaml") << "";
  std::ofstream(dir / "notes.txt") << "";
  const auto base = dir.string() + "/";
  // The word libedit replaces starts after the last '.', so candidates are cut to it.
  CHECK(complete(":run " + base + "bgp") == Words{base + "bgp.check.lua", base + "bgp.yaml"});
  CHECK(complete(":run " + base + "bgp.c") == Words{"check.lua"});
  CHECK(complete(":run " + base + "l") == Words{base + "lib.d/"});
  CHECK(complete(":run " + base + "lib.") == Words{"d/"});
  CHECK(complete(":run " + base + "n").empty());
  fs::remove_all(dir);
}

TEST_CASE("chunks: unfinished input asks for more; whole or broken chunks are taken") {
  ChunkReader reader;
  CHECK_FALSE(reader.add_line("function up(d)"));
  CHECK(reader.continuing());
  CHECK_FALSE(reader.add_line("  return d:facts()"));
  CHECK(reader.add_line("end"));
  CHECK(reader.take() == "function up(d)\n  return d:facts()\nend");
  CHECK_FALSE(reader.continuing());
  CHECK_FALSE(reader.add_line("t = {1, 2,"));
  CHECK(reader.add_line("3}"));
  reader.take();
  CHECK_FALSE(reader.add_line("s = [[long"));
  CHECK(reader.add_line("text]]"));
  reader.take();
  // A syntax error that is not at the end is the chunk's own: it is taken, to be reported.
  CHECK(reader.add_line("x = = 1"));
  reader.take();
  CHECK(reader.expression("r1:run(\"show version\")"));
  CHECK(reader.expression("1 + 1"));
  CHECK_FALSE(reader.expression("x = 1"));
  CHECK_FALSE(reader.add_line("if x then"));
  reader.discard();
  CHECK_FALSE(reader.continuing());
}

TEST_CASE("values print as tables, diffs, handles and text") {
  PrintStyle plain;
  const json rows = {{"interface", "Gi0/0"}, {"status", "up"}};
  const json records = json::array(
      {{{"interface", "Gi0/0"}, {"status", "up"}}, {{"interface", "Gi0/1"}, {"status", "down"}}});
  const auto table = render_value({{"type", "table"}, {"value", records}}, plain);
  CHECK(table.find("INTERFACE  STATUS") != std::string::npos);
  CHECK(table.find("Gi0/1      down") != std::string::npos);
  CHECK(table.find("(2 rows)") != std::string::npos);
  // Inventory hosts: the name leads, vars spread into columns, empty columns left out.
  const json hosts = json::array(
      {{{"platform", "cisco_ios"}, {"name", "ios1"}, {"vars", {{"site", "dc1"}}}, {"url", ""}}});
  const auto host_table = render_value({{"type", "table"}, {"value", hosts}}, plain);
  CHECK(host_table.rfind("NAME  PLATFORM   SITE", 0) == 0);
  CHECK(host_table.find("URL") == std::string::npos);

  // Parsed records keep the template's column order (sent along as "columns").
  const json parsed = {
      {"$shell", "records"}, {"columns", {"interface", "status", "proto"}}, {"rows", records}};
  const auto ordered = render_value({{"type", "table"}, {"value", parsed}}, plain);
  CHECK(ordered.rfind("INTERFACE  STATUS", 0) == 0);

  CHECK(render_value({{"type", "table"}, {"value", {{"$shell", "device"}, {"name", "r1"}}}},
                     plain) == "device(\"r1\")");
  CHECK(render_value({{"type", "nil"}}, plain) == "nil");
  CHECK(render_value({{"type", "number"}, {"value", 2}}, plain) == "2");
  CHECK(render_value({{"type", "string"}, {"value", "a\nb"}}, plain) == "a\nb");
  const json keyed = {{"$shell", "table"},
                      {"fields", {{"changed", true}, {"diff", "@@ -1 +1 @@\n-a\n+b\n"}}}};
  const auto colored = render_value({{"type", "table"}, {"value", keyed}}, PrintStyle{true});
  CHECK(colored.find("changed: true") != std::string::npos);
  CHECK(colored.find("\x1b[31m-a\x1b[0m") != std::string::npos);
  CHECK(colored.find("\x1b[32m+b\x1b[0m") != std::string::npos);
  CHECK(render_value({{"type", "table"}, {"value", keyed}}, plain).find("\x1b[") ==
        std::string::npos);
  CHECK(looks_like_diff("--- running\n+++ intended\n@@ -1 +1 @@\n"));
  CHECK_FALSE(looks_like_diff("- item\n- item\n"));
}

TEST_CASE("long output is paged: the first page, then :more") {
  Pager pager(3);
  const auto first = pager.first_page("1\n2\n3\n4\n5\n");
  CHECK(first == "1\n2\n3\n-- 2 more lines: :more shows the next 2 --\n");
  CHECK(pager.next_page() == "4\n5\n");
  CHECK_FALSE(pager.has_more());
  CHECK(pager.next_page() == "(nothing more to show)\n");
  CHECK(pager.first_page("short\n") == "short\n");
}

TEST_CASE(":save writes the successful entries as a runbook that loads") {
  SessionRecorder recorder;
  CHECK_FALSE(recorder.runbook("empty", "tester"));
  recorder.record("r1 = device(\"ios1\")", false);
  recorder.record("r1:run(\"show version\")", true);
  recorder.record("for i = 1, 2 do\n  print(i)\nend", false);
  auto text = recorder.runbook("bgp_check", "tester");
  REQUIRE(text);
  CHECK(text->find("    print(r1:run(\"show version\"))\n") != std::string::npos);
  CHECK(text->find("      print(i)\n") != std::string::npos);
  auto described = nauto::runbook::describe_runbook(*text, "bgp_check.lua");
  REQUIRE(described);
  CHECK(described->name == "bgp_check");
  CHECK_FALSE(recorder.runbook("bad name", "tester"));

  const auto dir = std::filesystem::temp_directory_path() / "nauto-shell-save-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = (dir / "saved").string();
  auto saved = recorder.save(path, "tester", false);
  REQUIRE(saved);
  CHECK(*saved == path + ".lua");
  auto again = recorder.save(path, "tester", false);
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find(":save!") != std::string::npos);
  CHECK(recorder.save(path, "tester", true));
  std::filesystem::remove_all(dir);
}
