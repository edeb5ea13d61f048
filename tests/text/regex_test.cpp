// The one regex engine's helpers for callers outside a parse: anchors, groups, repaired
// subjects, literals. (The engine itself is exercised by the TextFSM tests and the ntc corpus.)
#include "nauto/text/regex.h"

#include <catch2/catch.hpp>
#include <stdexcept>

using nauto::text::match_groups;
using nauto::text::matches;
using nauto::text::Regex;

TEST_CASE("the three anchors: at the start, anywhere, the whole subject") {
  auto start = Regex::literal(R"(r\d+#)", Regex::Anchor::AtStart);
  auto anywhere = Regex::literal(R"(r\d+#)", Regex::Anchor::Anywhere);
  auto whole = Regex::literal(R"(r\d+#)", Regex::Anchor::Whole);
  CHECK(matches(start, "r1# show"));
  CHECK_FALSE(matches(start, "prompt r1#"));
  CHECK(matches(anywhere, "prompt r1#"));
  CHECK(matches(whole, "r12#"));
  CHECK_FALSE(matches(whole, "r12# "));
  CHECK_FALSE(matches(whole, "xr12#"));
}

TEST_CASE("groups come back in number order, empty when a group took no part") {
  auto prompt = Regex::literal(R"(([\w.-]+)(?:\((config[^)]*)\))?#)", Regex::Anchor::Whole);
  auto plain = match_groups(prompt, "core-1#");
  REQUIRE(plain);
  CHECK(*plain == std::vector<std::string>{"core-1#", "core-1", ""});
  auto config = match_groups(prompt, "core-1(config-if)#");
  REQUIRE(config);
  CHECK((*config)[2] == "config-if");
  CHECK_FALSE(match_groups(prompt, "core-1>"));
}

TEST_CASE("device output that is not valid UTF-8 still matches, as repaired") {
  auto error = Regex::literal(R"(% Invalid input)", Regex::Anchor::Anywhere);
  CHECK(matches(error, "\xff\xfe% Invalid input detected"));
  auto word = Regex::literal(R"(host (\S+))", Regex::Anchor::Anywhere);
  auto groups = match_groups(word,
                             "host r\xff"
                             "1");
  REQUIRE(groups);
  CHECK((*groups)[1] ==
        "r\xef\xbf\xbd"
        "1");  // U+FFFD where the bad byte was
}

TEST_CASE("Python's syntax: \\Z is the end of the subject, (?m) makes ^ and $ per line") {
  auto end = Regex::literal(R"(run\(\s*\Z)", Regex::Anchor::Anywhere);
  CHECK(matches(end, "d:run( "));
  CHECK_FALSE(matches(end, "d:run( x"));
  auto line = Regex::literal(R"((?m)^hostname (\S+)$)", Regex::Anchor::Anywhere);
  auto groups = match_groups(line, "!\nhostname edge-7\ninterface x\n");
  REQUIRE(groups);
  CHECK((*groups)[1] == "edge-7");
}

TEST_CASE("a bad pattern from a user is an error naming it; a bad literal is a bug") {
  auto bad = Regex::compile("(unclosed", Regex::Anchor::Anywhere);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("(unclosed") != std::string::npos);
  CHECK_THROWS_AS(Regex::literal("[z-a]", Regex::Anchor::Anywhere), std::logic_error);
}
