#include "nauto/drivers/config_diff.h"

#include <catch2/catch.hpp>

using namespace nauto::drivers;

namespace {
ConfigDiff ios_diff() {
  return ConfigDiff({"^Building configuration", "^Current configuration"},
                    {"^(hostname) ", "^(description) ", "^(ip address) (?!.*secondary)"});
}
const char* kRunning = R"(Building configuration...
Current configuration : 200 bytes
hostname r1
!
interface Gi0/0
 description old
 ip address 10.0.0.1 255.255.255.252
!
interface Gi0/1
 shutdown
!
router bgp 65001
 neighbor 10.0.0.2 remote-as 65002
 neighbor 10.0.0.6 remote-as 65003
!
end
)";
}  // namespace

TEST_CASE("unified diff marks changed lines with context and hunk headers", "[drivers][diff]") {
  auto diff = unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", "before", "after");
  CHECK(diff == "--- before\n+++ after\n@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e\n");
  CHECK(unified_diff("same\n", "same\n", "a", "b").empty());
  CHECK(unified_diff("", "x\n", "a", "b") == "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
}

TEST_CASE("unified diff splits distant changes into separate hunks", "[drivers][diff]") {
  std::string before, after;
  for (int i = 0; i < 30; ++i) {
    before += "line" + std::to_string(i) + "\n";
    after += (i == 2 || i == 25 ? "changed" : "line" + std::to_string(i)) + "\n";
  }
  auto diff = unified_diff(before, after, "a", "b", 3);
  CHECK(diff.find("@@ -1,6 +1,6 @@") != std::string::npos);
  CHECK(diff.find("@@ -23,7 +23,7 @@") != std::string::npos);
}

TEST_CASE("config tree ignores comments, volatile lines and order", "[drivers][diff]") {
  auto diff = ios_diff();
  auto tree = diff.parse(kRunning);
  REQUIRE(tree.size() == 4);
  CHECK(tree[1].text == "interface Gi0/0");
  CHECK(tree[1].children.size() == 2);
  std::string reordered =
      "router bgp 65001\n neighbor 10.0.0.6 remote-as 65003\n neighbor 10.0.0.2 "
      "remote-as 65002\ninterface Gi0/1\n shutdown\nhostname r1\ninterface Gi0/0\n"
      " ip address 10.0.0.1 255.255.255.252\n description old\n";
  CHECK(diff.commands(tree, diff.parse(reordered)).empty());
}

TEST_CASE("commands take the device from current to intended, section by section",
          "[drivers][diff]") {
  auto diff = ios_diff();
  std::string intended = R"(hostname r2
interface Gi0/0
 description new
 ip address 10.0.0.1 255.255.255.252
interface Gi0/1
 no shutdown
router bgp 65001
 neighbor 10.0.0.2 remote-as 65002
interface Loopback1
 ip address 192.0.2.1 255.255.255.255
)";
  auto commands = diff.commands(diff.parse(kRunning), diff.parse(intended));
  std::vector<std::string> expected{
      "hostname r2",
      "interface Gi0/0",
      " description new",
      " exit",
      "interface Gi0/1",
      " no shutdown",
      " no shutdown",
      " exit",
      "router bgp 65001",
      " no neighbor 10.0.0.6 remote-as 65003",
      " exit",
      "interface Loopback1",
      " ip address 192.0.2.1 255.255.255.255",
      " exit",
  };
  // `shutdown` removed becomes `no shutdown`; the intended `no shutdown` is added as well
  // (harmless on IOS, and what the intended text says).
  CHECK(commands == expected);
}

TEST_CASE("merge predicts the config after config-mode lines", "[drivers][diff]") {
  auto diff = ios_diff();
  auto merged = diff.merge(diff.parse(kRunning),
                           diff.parse("interface Gi0/0\n description new\n no ip address\n"
                                      "interface Gi0/1\n no shutdown\nhostname r9\n"));
  auto text = ConfigDiff::render(merged);
  CHECK(text.find("hostname r9\n") != std::string::npos);
  CHECK(text.find("hostname r1") == std::string::npos);
  CHECK(text.find(" description new\n") != std::string::npos);
  CHECK(text.find("ip address 10.0.0.1") == std::string::npos);
  CHECK(text.find("interface Gi0/1\ninterface") ==
        std::string::npos);  // shutdown gone, section kept
  CHECK(text.find(" shutdown") == std::string::npos);
}

TEST_CASE("a hierarchical diff shows changed lines under their section headers",
          "[drivers][diff]") {
  auto diff = ios_diff();
  const std::string after =
      "hostname r1\n"
      "interface Gi0/0\n"
      " description new\n"
      " ip address 10.0.0.1 255.255.255.252\n"
      "interface Gi0/1\n"
      " shutdown\n"
      "router bgp 65001\n"
      " neighbor 10.0.0.6 remote-as 65003\n"
      " neighbor 10.0.0.2 remote-as 65002\n"
      " neighbor 10.0.0.9 remote-as 65009\n"
      "ntp server 10.1.1.1\n";
  CHECK(ConfigDiff::hierarchical(diff.parse(kRunning), diff.parse(after)) ==
        "  interface Gi0/0\n"
        "-  description old\n"
        "+  description new\n"
        "  router bgp 65001\n"
        "+  neighbor 10.0.0.9 remote-as 65009\n"
        "+ ntp server 10.1.1.1\n");
  // A removed section goes whole; moved lines are no difference.
  CHECK(ConfigDiff::hierarchical(diff.parse(after), diff.parse("hostname r1\n"))
            .find("- router bgp 65001\n-  neighbor 10.0.0.6 remote-as 65003\n") !=
        std::string::npos);
  CHECK(ConfigDiff::hierarchical(diff.parse(kRunning), diff.parse(kRunning)).empty());
}
