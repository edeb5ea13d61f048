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

TEST_CASE("secrets are redacted per platform, and nothing else changes", "[drivers][platform]") {
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  auto redacted = [&](const char* platform, const std::string& text) {
    auto found = catalog->find(platform);
    REQUIRE(found);
    return redact_secrets(text, **found);
  };
  const std::string ios =
      "hostname r1\n"
      "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM\n"
      "username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0\n"
      "snmp-server community s3cr3tRO RO\n"
      "snmp-server host 10.0.0.9 version 2c trapcomm\n"
      "router bgp 65001\n"
      " neighbor 10.0.0.2 password 7 0822455D0A16\n"
      " neighbor 10.0.0.2 description password is not here\n"
      "key chain OSPF\n"
      " key 1\n"
      "  key-string 7 1511021F0725\n"
      "tacacs server T1\n"
      " key 7 05080F1C2243\n"
      "line vty 0 4\n"
      " password 7 13061E010803\n"
      "end\n";
  CHECK(redacted("cisco_ios", ios) ==
        "hostname r1\n"
        "enable secret 9 <redacted>\n"
        "username admin privilege 15 secret 5 <redacted>\n"
        "snmp-server community <redacted> RO\n"
        "snmp-server host 10.0.0.9 version 2c <redacted>\n"
        "router bgp 65001\n"
        " neighbor 10.0.0.2 password 7 <redacted>\n"
        " neighbor 10.0.0.2 description password is not here\n"
        "key chain OSPF\n"
        " key 1\n"
        "  key-string 7 <redacted>\n"
        "tacacs server T1\n"
        " key 7 <redacted>\n"
        "line vty 0 4\n"
        " password 7 <redacted>\n"
        "end\n");
  CHECK(redacted("juniper_junos",
                 "set system root-authentication encrypted-password \"$6$abc$def\"\n"
                 "set snmp community public authorization read-only\n"
                 "set system host-name r1\n") ==
        "set system root-authentication encrypted-password \"<redacted>\"\n"
        "set snmp community <redacted> authorization read-only\n"
        "set system host-name r1\n");
  CHECK(redacted("frr", "router bgp 65001\n neighbor 10.0.0.2 password hunter2\n") ==
        "router bgp 65001\n neighbor 10.0.0.2 password <redacted>\n");
  CHECK(redacted("arista_eos",
                 "username admin privilege 15 role network-admin secret sha512 "
                 "$6$x$y\n") ==
        "username admin privilege 15 role network-admin secret sha512 <redacted>\n");
  CHECK(redacted("cisco_nxos",
                 "snmp-server user admin network-admin auth md5 0x1a2b priv aes-128 0x3c4d\n") ==
        "snmp-server user admin network-admin auth md5 <redacted> priv aes-128 <redacted>\n");
  // Redacting twice changes nothing more; a config without secrets is unchanged.
  CHECK(redacted("cisco_ios", redacted("cisco_ios", ios)) == redacted("cisco_ios", ios));
  CHECK(redacted("cisco_ios", "hostname r1\ninterface Gi1\n ip address 10.0.0.1 255.0.0.0") ==
        "hostname r1\ninterface Gi1\n ip address 10.0.0.1 255.0.0.0");
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
