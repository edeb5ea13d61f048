#include "nauto/drivers/platform.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "nauto/drivers/driver.h"

using namespace nauto;
using namespace nauto::drivers;

TEST_CASE("a definition file adds a CLI vendor without rebuilding", "[drivers][platform]") {
  auto dir = std::filesystem::temp_directory_path() / "nauto-platform-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "acme_os.yaml") << R"(name: acme_os
vendor: Acme
host_pattern: '^([\w-]+)[>#]\s*$'
privileged_prompt: '^{host}#\s*$'
config_prompt: '^{host}\(cfg\)#\s*$'
config_enter: config
config_exit: exit
facts_command: show system
facts_patterns: {os_version: 'AcmeOS (\S+)'}
)";
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  REQUIRE(catalog->load_directory(dir.string()));
  auto acme = catalog->find("acme_os");
  REQUIRE(acme);
  CHECK((*acme)->vendor == "Acme");
  Facts facts;
  extract_facts("Acme box\nAcmeOS 3.2.1 (build 7)\n", **acme, facts);
  CHECK(facts.os_version == "3.2.1");
  std::filesystem::remove_all(dir);
}

TEST_CASE("definition mistakes are all reported with their keys", "[drivers][platform]") {
  auto parsed =
      parse_platform("name: x\nuser_prompt: '([unclosed'\nconfig_syntax: tree\n", "x.yaml");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().where == "x.yaml");
  CHECK(parsed.error().message.find("user_prompt is not a valid regular expression") !=
        std::string::npos);
  CHECK(parsed.error().message.find("config_syntax must be one of") != std::string::npos);
  CHECK(parsed.error().message.find("host_pattern/privileged_prompt are required") !=
        std::string::npos);
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  auto missing = catalog->find("acme_nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cisco_ios") != std::string::npos);
}

TEST_CASE("volatile lines are dropped from configs", "[drivers][platform]") {
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  auto ios = catalog->find("cisco_ios");
  REQUIRE(ios);
  CHECK(drop_volatile_lines("Building configuration...\nCurrent configuration : 9 bytes\n! Last "
                            "configuration change at x\nhostname r1\n",
                            **ios) == "hostname r1\n");
}

TEST_CASE("built-in platforms list everyday commands for shell completion", "[drivers][platform]") {
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  for (const char* name : {"cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos", "frr"}) {
    auto platform = catalog->find(name);
    REQUIRE(platform);
    const auto& commands = (*platform)->commands;
    INFO(name);
    CHECK(commands.size() >= 10);
    CHECK(std::find(commands.begin(), commands.end(), "show version") != commands.end());
  }
}
