// Inventory inheritance, selectors and imports.
#include "inventory.h"

#include <catch2/catch.hpp>

#include "inventory_import.h"
#include "selector.h"

using namespace nauto::inventory;
using Catch::Matchers::Contains;

namespace {

const char* kInventory = R"(
defaults:
  platform: cisco_ios
  credential: lab
  port: 22
  vars: {ntp: 10.0.0.1, snmp: {community_ref: ro}}
groups:
  dc1:
    vars: {site: dc1}
    tags: [prod]
  dc2:
    site: dc2
    tags: [prod]
  leaf:
    platform: arista_eos
    role: leaf
  dc1-leaf:
    groups: [dc1, leaf]
    tags: [fabric]
hosts:
  r1: {host: 10.1.0.1, groups: [dc1], role: core, tags: [core]}
  r2: {host: 10.1.0.2, groups: [dc1], role: core, port: 2222, credential: r2-only}
  leaf1: {host: 10.1.1.1, groups: [dc1-leaf]}
  leaf2: {host: 10.2.1.1, groups: [dc2, leaf], vars: {ntp: 10.9.9.9}}
  fw1: {host: 10.1.9.1, groups: [dc1], platform: juniper_junos, role: firewall}
)";

Inventory build(const char* text = kInventory) {
  auto source = parse_inventory_yaml(text, "inv.yaml");
  REQUIRE(source);
  auto inventory = Inventory::build(*source);
  if (!inventory) FAIL(inventory.error().describe());
  return std::move(*inventory);
}

std::vector<std::string> names(const Inventory& inventory, const std::string& text) {
  const auto variables = variable_names(inventory);
  auto selector = Selector::parse(text, &variables);
  if (!selector) FAIL(selector.error().describe());
  std::vector<std::string> out;
  for (const auto* host : select(inventory, *selector))
    out.push_back(host->name);
  return out;
}

std::string selector_error(const Inventory& inventory, const std::string& text) {
  const auto variables = variable_names(inventory);
  auto selector = Selector::parse(text, &variables);
  REQUIRE_FALSE(selector);
  return selector.error().describe();
}

}  // namespace

TEST_CASE("inventory: defaults, then groups (parents first), then the host") {
  const auto inventory = build();
  const auto* r1 = inventory.find("r1");
  REQUIRE(r1);
  CHECK(r1->platform == "cisco_ios");
  CHECK(r1->credential == "lab");
  CHECK(r1->vars["site"] == "dc1");
  CHECK(r1->vars["role"] == "core");
  CHECK(r1->vars["ntp"] == "10.0.0.1");
  CHECK(r1->tags == std::vector<std::string>{"core", "prod"});
  const auto* r2 = inventory.find("r2");
  CHECK(r2->port == 2222);
  CHECK(r2->credential == "r2-only");
  const auto* leaf1 = inventory.find("leaf1");
  CHECK(leaf1->platform == "arista_eos");  // from the grand-parent group leaf
  CHECK(leaf1->vars["site"] == "dc1");
  CHECK(leaf1->vars["role"] == "leaf");
  CHECK(leaf1->groups == std::vector<std::string>{"dc1", "leaf", "dc1-leaf"});
  CHECK(leaf1->tags == std::vector<std::string>{"fabric", "prod"});
  const auto* leaf2 = inventory.find("leaf2");
  CHECK(leaf2->vars["ntp"] == "10.9.9.9");              // the host's own variable wins
  CHECK(leaf2->vars["snmp"]["community_ref"] == "ro");  // nested defaults kept
  CHECK(leaf2->vars["site"] == "dc2");
  CHECK(inventory.find("fw1")->platform == "juniper_junos");
}

TEST_CASE("inventory: every mistake reported at once with file, line and key") {
  auto source = parse_inventory_yaml(R"(
defaults:
  platfrom: cisco_ios
hosts:
  a: {host: 10.0.0.1, port: 70000, password: secret}
  b: {host: 10.0.0.2, vars: [1, 2]}
extra: 1
)",
                                     "bad.yaml");
  REQUIRE_FALSE(source);
  const auto message = source.error().describe();
  CHECK_THAT(message, Contains("bad.yaml:3: defaults.platfrom: unknown setting; did you mean "
                               "'platform'?"));
  CHECK_THAT(message, Contains("bad.yaml:5: hosts.a.port: expected an integer from 1 to 65535"));
  CHECK_THAT(message, Contains("hosts.a.password: secrets are not kept in the inventory"));
  CHECK_THAT(message, !Contains("secret}"));
  CHECK_THAT(message, Contains("bad.yaml:6: hosts.b.vars: expected a mapping"));
  CHECK_THAT(message, Contains("bad.yaml:7: extra: unknown section"));

  auto unresolved = parse_inventory_yaml(R"(
groups:
  a: {groups: [b]}
  b: {groups: [a]}
hosts:
  x: {groups: [a, nosuch]}
  y: {platform: eos}
)",
                                         "cycle.yaml");
  REQUIRE(unresolved);
  auto built = Inventory::build(*unresolved);
  REQUIRE_FALSE(built);
  CHECK_THAT(built.error().message, Contains("group cycle"));
  CHECK_THAT(built.error().message, Contains("hosts.x.groups: unknown group 'nosuch'"));
  CHECK_THAT(built.error().message, Contains("hosts.x: no platform"));
  CHECK_THAT(built.error().message, Contains("hosts.y: no address"));

  auto broken = parse_inventory_yaml("hosts: [\n", "broken.yaml");
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message, Contains("broken.yaml:"));
}

TEST_CASE("selectors: names, globs, keys, and/or/not, parentheses") {
  const auto inventory = build();
  using V = std::vector<std::string>;
  CHECK(names(inventory, "r1,r2") == V{"r1", "r2"});
  CHECK(names(inventory, "name=r1,fw1") == V{"r1", "fw1"});
  CHECK(names(inventory, "leaf*") == V{"leaf1", "leaf2"});
  CHECK(names(inventory, "tag=core") == V{"r1"});
  CHECK(names(inventory, "group=leaf") == V{"leaf1", "leaf2"});  // via the child group too
  CHECK(names(inventory, "site=dc1 and role=leaf") == V{"leaf1"});
  CHECK(names(inventory, "vars.site=dc2") == V{"leaf2"});
  CHECK(names(inventory, "site=dc1 and not role=core") == V{"leaf1", "fw1"});
  CHECK(names(inventory, "platform!=cisco_ios") == V{"leaf1", "leaf2", "fw1"});
  CHECK(names(inventory, "role=firewall or (site=dc2 and tag=prod)") == V{"leaf2", "fw1"});
  CHECK(names(inventory, "not tag=prod") == V{});
  CHECK(names(inventory, "all").size() == 5);
  CHECK(names(inventory, "host=10.1.*") == V{"r1", "r2", "leaf1", "fw1"});
  CHECK(names(inventory, "port=2222") == V{"r2"});
  CHECK(names(inventory, "site=DC1 and r*") == V{"r1", "r2"});  // values ignore case
}

TEST_CASE("selectors: mistakes say where and what") {
  const auto inventory = build();
  CHECK_THAT(selector_error(inventory, "sit=dc1"), Contains("unknown key 'sit'"));
  CHECK_THAT(selector_error(inventory, "sit=dc1"), Contains("site"));
  CHECK_THAT(selector_error(inventory, "SITE=dc1"), Contains("unknown key 'SITE'"));
  CHECK_THAT(selector_error(inventory, "site=dc1 and"), Contains("at character 13"));
  CHECK_THAT(selector_error(inventory, "site="), Contains("missing value after 'site='"));
  CHECK_THAT(selector_error(inventory, "(site=dc1"), Contains("expected ')'"));
  CHECK_THAT(selector_error(inventory, "site=dc1 role=leaf"), Contains("join terms with and/or"));
  CHECK_THAT(selector_error(inventory, ""), Contains("empty selector"));
  CHECK_THAT(selector_error(inventory, "name=a,,b"), Contains("empty value"));
}

TEST_CASE("import: Ansible INI with groups, children, vars and ranges") {
  const char* ini = R"(# comment
[all:vars]
ansible_user=netops
ansible_network_os=cisco.ios.ios

[spines]
spine[1:2] ansible_host=10.0.0.1 site=dc1

[leaves]
leaf[01:03] ansible_network_os=eos ansible_connection=network_cli

[leaves:vars]
ansible_port=2222
ansible_password=hunter2

[fabric:children]
spines
leaves

[fabric:vars]
mtu=9214
)";
  auto imported = import_inventory(ImportFormat::AnsibleIni, ini, "hosts.ini");
  REQUIRE(imported);
  REQUIRE(imported->warnings.size() == 1);
  CHECK_THAT(imported->warnings[0], Contains("hosts.ini:14: ansible_password not imported"));
  CHECK_THAT(imported->warnings[0], !Contains("hunter2"));
  // Ansible hosts have no address field of their own here: the name is the address.
  for (auto& [name, host] : imported->source.hosts) {
    if (!host.host) host.host = name;
  }
  auto inventory = Inventory::build(imported->source);
  REQUIRE(inventory);
  REQUIRE(inventory->hosts().size() == 5);
  const auto* leaf = inventory->find("leaf02");
  REQUIRE(leaf);
  CHECK(leaf->platform == "arista_eos");
  CHECK(leaf->port == 2222);
  CHECK(leaf->username == "netops");
  CHECK(leaf->transport == "ssh_cli");
  CHECK(leaf->vars["mtu"] == 9214);
  CHECK(leaf->groups == std::vector<std::string>{"fabric", "leaves"});
  const auto* spine = inventory->find("spine2");
  CHECK(spine->platform == "cisco_ios");
  CHECK(spine->host == "10.0.0.1");
  CHECK(spine->vars["site"] == "dc1");
}

TEST_CASE("import: Ansible YAML and CSV") {
  const char* yaml = R"(
all:
  vars:
    ansible_network_os: junos
  children:
    edge:
      vars: {role: edge}
      hosts:
        mx1: {ansible_host: 192.0.2.1}
        mx2: {ansible_host: 192.0.2.2, ansible_port: 830}
    core:
      children:
        edge:
)";
  auto imported = import_inventory(ImportFormat::AnsibleYaml, yaml, "inv.yml");
  REQUIRE(imported);
  auto inventory = Inventory::build(imported->source);
  REQUIRE(inventory);
  CHECK(inventory->find("mx2")->port == 830);
  CHECK(inventory->find("mx1")->platform == "juniper_junos");
  CHECK(inventory->find("mx1")->vars["role"] == "edge");
  CHECK(inventory->find("mx1")->groups == std::vector<std::string>{"core", "edge"});

  const char* csv =
      "name,host,platform,port,site,tags,password\n"
      "r1,10.0.0.1,cisco_ios,22,dc1,core;edge,\n"
      "\"r,2\",10.0.0.2,arista_eos,,\"dc \"\"2\"\"\",,secret\n";
  auto rows = import_inventory(ImportFormat::Csv, csv, "devices.csv");
  REQUIRE(rows);
  CHECK(rows->warnings.size() == 1);
  auto from_csv = Inventory::build(rows->source);
  REQUIRE(from_csv);
  CHECK(from_csv->find("r1")->tags == std::vector<std::string>{"core", "edge"});
  CHECK(from_csv->find("r,2")->vars["site"] == "dc \"2\"");
  CHECK(from_csv->find("r,2")->port == 22);

  auto bad = import_inventory(ImportFormat::Csv, "name,host,port\nr1,10.0.0.1,abc\nr2\n", "x.csv");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("x.csv:2: column port: expected a port number"));
  CHECK_THAT(bad.error().message, Contains("x.csv:3: 1 fields, the header has 3"));

  auto guessed = import_format("auto", "inventory.yaml", kInventory);
  REQUIRE(guessed);
  CHECK(*guessed == ImportFormat::Native);
  CHECK(*import_format("auto", "inv.yml", yaml) == ImportFormat::AnsibleYaml);
  CHECK(*import_format("auto", "hosts", "[x]\nr1\n") == ImportFormat::AnsibleIni);
}

TEST_CASE("inventory: the stored form round-trips") {
  auto source = parse_inventory_yaml(kInventory, "inv.yaml");
  REQUIRE(source);
  auto again = source_from_json(to_json(*source));
  REQUIRE(again);
  auto a = Inventory::build(*source);
  auto b = Inventory::build(*again);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->hosts().size() == b->hosts().size());
  for (std::size_t i = 0; i < a->hosts().size(); ++i) {
    CHECK(to_json(a->hosts()[i]) == to_json(b->hosts()[i]));
    auto host = host_from_json(to_json(a->hosts()[i]));
    REQUIRE(host);
    CHECK(to_json(*host) == to_json(a->hosts()[i]));
  }
}

// Found by fuzzing (tests/fuzz/corpus/inventory/regression-*): a variable whose value is a map
// holding bytes that are not UTF-8 made json::dump() throw out of the import.
TEST_CASE("import: a variable with bytes that are not UTF-8 is imported, not thrown") {
  const std::string yaml =
      "all:\n  hosts:\n    r1:\n      ansible_host: 192.0.2.1\n"
      "      site: {name: \"dc\xd3\x72\"}\n";
  nauto::Result<ImportResult> imported = nauto::fail(nauto::Errc::Bug, "not run");
  REQUIRE_NOTHROW(imported = import_inventory(ImportFormat::AnsibleYaml, yaml, "inv.yml"));
  REQUIRE(imported);
}

// Found by fuzzing (tests/fuzz/corpus/inventory/regression-*): hosts given as a list made
// yaml-cpp throw out of the Ansible YAML import.
TEST_CASE("import: Ansible YAML of the wrong shape is a warning or an error, never a throw") {
  for (const char* yaml : {"all:\n  children:\n    core:\n      hosts:\n      - r1: {a: b}\n",
                           "all:\n  hosts: [r1, r2]\n", "all:\n  vars: [1, 2]\n",
                           "all:\n  children: [core]\n", "- all\n"}) {
    INFO(yaml);
    nauto::Result<ImportResult> imported = nauto::fail(nauto::Errc::Bug, "not run");
    REQUIRE_NOTHROW(imported = import_inventory(ImportFormat::AnsibleYaml, yaml, "inv.yml"));
  }
  auto listed =
      import_inventory(ImportFormat::AnsibleYaml,
                       "all:\n  children:\n    core:\n      hosts:\n      - r1\n", "inv.yml");
  REQUIRE(listed);
  CHECK_THAT(listed->warnings.at(0), Contains("hosts of group 'core' is not a map"));
}

// Found by fuzzing (tests/fuzz/corpus/inventory/regression-*): a letter range ending at \x7f or
// above looped without end (a char wrapping around) until memory ran out.
TEST_CASE("import: host ranges are bounded however they are written") {
  const std::string ini = "[core]\nr[a:\x7f]\nbig[0:99999999999]\nnest[0:999][0:999]\n";
  auto imported = import_inventory(ImportFormat::AnsibleIni, ini, "hosts.ini");
  REQUIRE(imported);
  CHECK(imported->source.hosts.size() <= 3 * 100'000);
  CHECK(imported->source.hosts.count("ra"));
  CHECK(imported->source.hosts.count("r~"));
}
