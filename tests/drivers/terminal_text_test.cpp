#include "cli/terminal_text.h"

#include <catch2/catch.hpp>

#include "cli/prompt_matcher.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/platform_patterns.h"

using namespace nauto::drivers;
using namespace nauto::drivers::cli;

TEST_CASE("terminal text strips escapes, applies backspace and CR, across chunk borders",
          "[drivers][cli]") {
  TerminalText text;
  text.feed("show ver\x1b[");
  text.feed("1mX\x1b[0m\r");
  text.feed("\nline two\b\bwo\n --More-- \r          \rnext\n");
  CHECK(text.text() == "show verX\nline two\nnext\n");
  text.feed("r1#");
  CHECK(text.last_line() == "r1#");
  CHECK(escape_bytes("a\r\n\x01\"") == "a\\r\\n\\x01\\\"");
}

TEST_CASE("prompt matcher learns the host and tells modes apart", "[drivers][cli]") {
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  auto ios = catalog->find("cisco_ios");
  REQUIRE(ios);
  PromptMatcher prompts(**ios);
  CHECK_FALSE(prompts.learn("Authorized access only. lab device r1"));
  REQUIRE(prompts.learn("core-rtr.1>"));
  CHECK(prompts.host() == "core-rtr.1");
  CHECK(prompts.match("core-rtr.1>") == CliMode::User);
  CHECK(prompts.match("core-rtr.1#") == CliMode::Privileged);
  CHECK(prompts.match("core-rtr.1(config-if)#") == CliMode::Config);
  CHECK_FALSE(prompts.match("core-rtr-1#"));  // the dot is literal, not "any character"
  CHECK_FALSE(prompts.match("other#"));
  CHECK_FALSE(prompts.match("xcore-rtr.1#"));
  CHECK_FALSE(prompts.match("core-rtr.1x#"));
  // A renamed device (hostname pushed): the new name's prompts, not the old one's.
  prompts.set_host("core-rtr.2");
  CHECK(prompts.match("core-rtr.2(config)#") == CliMode::Config);
  CHECK_FALSE(prompts.match("core-rtr.1#"));
  CHECK(prompts.describe().find("core-rtr\\.2") != std::string::npos);
  auto junos = catalog->find("juniper_junos");
  REQUIRE(junos);
  PromptMatcher junos_prompts(**junos);
  REQUIRE(junos_prompts.learn("admin@edge1> "));
  CHECK(junos_prompts.match("admin@edge1# ") == CliMode::Config);
  CHECK(junos_prompts.describe().find("admin@edge1") != std::string::npos);
}

TEST_CASE("platform patterns compile once; {host} becomes one capture", "[drivers][cli]") {
  using nauto::drivers::host_prompt_pattern;
  using nauto::drivers::platform_regex;
  CHECK(host_prompt_pattern(R"(^{host}#\s*$)") == R"(^(?P<nauto_host>.+?)#\s*$)");
  CHECK(host_prompt_pattern("^{host}:{host}>$") == "^(?P<nauto_host>.+?):(?P=nauto_host)>$");
  CHECK(host_prompt_pattern("no host") == "no host");
  const auto* first = platform_regex("^% Invalid input");
  REQUIRE(first);
  CHECK(platform_regex("^% Invalid input") == first);  // the same compiled pattern, shared
  CHECK(platform_regex("^% Invalid input", nauto::text::Regex::Anchor::Whole) != first);
  CHECK(platform_regex("(unclosed") == nullptr);
}
