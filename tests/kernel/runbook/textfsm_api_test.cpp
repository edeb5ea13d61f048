// TextFSM in runbooks: d:run(cmd, {parse = "textfsm"}) picks the template from the index by the
// device's platform and the command; textfsm.parse takes a template file name or its text.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "engine_harness.h"
#include "nauto/runbook/lua_textfsm.h"

using namespace nauto;
using namespace nauto::runbook;
using namespace nauto::runbook::testing;
using nlohmann::json;

namespace {

constexpr const char* kBrief = R"(Value INTERFACE (\S+)
Value ADDRESS (\S+)
Value STATUS (up|down|administratively down)

Start
  ^Interface\s+IP-Address -> Table

Table
  ^${INTERFACE}\s+${ADDRESS}\s+\w+\s+\w+\s+${STATUS}\s+\S+\s*$$ -> Record
)";

constexpr const char* kOutput =
    "Interface              IP-Address      OK? Method Status                Protocol\n"
    "GigabitEthernet0/0     10.0.0.1        YES NVRAM  up                    up\n"
    "GigabitEthernet0/1     unassigned      YES unset  administratively down down\n";

// A template directory for the test: an index and one template, removed afterwards.
struct TemplateDirectory {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("nauto-runbook-textfsm-" + std::to_string(::getpid()));
  TemplateDirectory() {
    std::filesystem::create_directories(path);
    std::ofstream(path / "index")
        << "Template, Hostname, Platform, Command\n\n"
        << "lab_brief.textfsm, .*, lab_os, sh[[ow]] ip int[[erface]] br[[ief]]\n";
    std::ofstream(path / "lab_brief.textfsm") << kBrief;
    set_textfsm_templates(textfsm::TemplateLibrary::open(path).value());
  }
  ~TemplateDirectory() {
    set_textfsm_templates(nullptr);
    std::filesystem::remove_all(path);
  }
};

void install_device(ScriptedBus& bus) {
  bus.services["device.call"] = [](const json& body) -> Answer {
    json outputs = json::array();
    for (const auto& c : body["commands"])
      outputs.push_back({{"command", c}, {"text", kOutput}, {"platform", "lab_os"}});
    return {outputs, 1};
  };
}

std::string lua(const std::string& body) {
  return "return runbook{ name = 't', run = function(p)\n" + body + "\nend }";
}

}  // namespace

TEST_CASE("runbooks parse device output with TextFSM templates", "[runbook][textfsm]") {
  TemplateDirectory templates;
  Harness h;
  install_device(h.bus);
  auto r = h.run(lua(R"LUA(
    local r1 = device("r1")
    local rows = r1:run("sh ip int br", { parse = "textfsm" })
    local by_file = textfsm.parse("lab_brief.textfsm", r1:run("show ip interface brief"))
    local inline = textfsm.parse("Value NAME (\\S+)\n\nStart\n  ^${NAME}\\s+unassigned -> Record\n",
                                 r1:run("show ip interface brief"))
    local ok, err = pcall(function() return r1:run("show clock", { parse = "textfsm" }) end)
    local bad_ok, bad_err = pcall(textfsm.parse, "Value X (y\n\nStart\n  ^x\n", "x")
    return { rows = rows, by_file = #by_file, inline = inline, err = err, bad = bad_err })LUA"));
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  const auto& result = r["result"];
  CHECK(result["rows"] == json::parse(R"([
    {"interface": "GigabitEthernet0/0", "address": "10.0.0.1", "status": "up"},
    {"interface": "GigabitEthernet0/1", "address": "unassigned",
     "status": "administratively down"}])"));
  CHECK(result["by_file"] == 2);
  CHECK(result["inline"] == json::parse(R"([{"name": "GigabitEthernet0/1"}])"));
  // No template for the command: the error names the device, platform and command.
  const auto err = result["err"].get<std::string>();
  CHECK(err.find("r1") != std::string::npos);
  CHECK(err.find("lab_os") != std::string::npos);
  CHECK(err.find("show clock") != std::string::npos);
  // A broken template: the error names the line.
  CHECK(result["bad"].get<std::string>().find("template:1") != std::string::npos);
}

TEST_CASE("without a template directory, parse = textfsm says how to configure one",
          "[runbook][textfsm]") {
  Harness h;
  install_device(h.bus);
  auto r =
      h.run(lua(R"LUA(return device("r1"):run("show ip int brief", { parse = "textfsm" }))LUA"));
  INFO(r.dump());
  REQUIRE(r["state"] == "failed");
  CHECK(r["error"].get<std::string>().find("textfsm_templates") != std::string::npos);
}
