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

TEST_CASE("an alternation: the first alternative that matches wins, its groups shifted") {
  using nauto::text::Matcher;
  auto a = Regex::compile(R"(^Interface\s+(?P<name>\S+))").value();
  auto b = Regex::compile(R"(^\S+)").value();  // matches what `a` matches too: order decides
  auto c = Regex::compile(R"(^\s+(?P<name>\d+)\s+(\w+))").value();
  std::vector<std::uint32_t> offsets;
  auto all = Regex::alternation({&a, &b, &c}, offsets);
  REQUIRE(all);
  CHECK(offsets == std::vector<std::uint32_t>{0, 1, 1});
  Matcher matcher;
  for (const auto kind : {Matcher::Subject::ValidUtf8, Matcher::Subject::Ascii}) {
    REQUIRE(*matcher.match_briefly(*all, "Interface Gi0/1", kind));
    CHECK(matcher.mark() == "0");
    CHECK(matcher.group(offsets[0] + 1) == "Gi0/1");
    REQUIRE(*matcher.match_briefly(*all, "Vlan10 up", kind));
    CHECK(matcher.mark() == "1");
    REQUIRE(*matcher.match_briefly(*all, "   42  up", kind));
    CHECK(matcher.mark() == "2");
    CHECK(matcher.group(offsets[2] + 1) == "42");
    CHECK(matcher.group(offsets[2] + 2) == "up");
    CHECK_FALSE(*matcher.match_briefly(*all, "", kind));
  }
  // Unicode subjects keep Python's meaning: a no-break space is \s, an Arabic-Indic digit \d.
  REQUIRE(*matcher.match_briefly(*all, "\xc2\xa0\xd9\xa3 up", Matcher::Subject::ValidUtf8));
  CHECK(matcher.mark() == "2");
  // A line no alternative can start with is ruled out before PCRE2 is called.
  auto digits = Regex::compile(R"(^[0-9]+)").value();
  auto letters = Regex::compile(R"(^[a-z]+)").value();
  auto either = Regex::alternation({&digits, &letters}, offsets).value();
  CHECK(either.may_match("7"));
  CHECK(either.may_match("x"));
  CHECK_FALSE(either.may_match("#"));
}

TEST_CASE("a pattern's ASCII variant matches ASCII lines alike; other lines keep Unicode") {
  using nauto::text::Matcher;
  auto rule = Regex::compile(R"(^\s+(\d+)\s+(\w+)\b)").value();
  rule.add_ascii_variant();
  Matcher matcher;
  for (const auto kind : {Matcher::Subject::ValidUtf8, Matcher::Subject::Ascii}) {
    REQUIRE(*matcher.match(rule, "  42  up_1 now", kind));
    CHECK(matcher.group(1) == "42");
    CHECK(matcher.group(2) == "up_1");
    CHECK_FALSE(*matcher.match(rule, "42 up", kind));
  }
  // A no-break space and an Arabic-Indic digit: \s and \d by Unicode, as in Python.
  REQUIRE(*matcher.match(rule, "\xc2\xa0\xd9\xa3 up", Matcher::Subject::ValidUtf8));
  CHECK(matcher.group(1) == "\xd9\xa3");
}

TEST_CASE("an alternation refuses alternatives that refer to their own groups") {
  auto repeated = Regex::compile(R"(^(\w+) \1)").value();
  auto named = Regex::compile(R"(^(?P<x>\w+) (?P=x))").value();
  auto escaped = Regex::compile(R"(^\\1 (\w+))").value();  // a literal backslash, then 1
  std::vector<std::uint32_t> offsets;
  CHECK(Regex::alternation({&repeated, &escaped}, offsets).error().code ==
        nauto::Errc::Unsupported);
  CHECK(Regex::alternation({&named, &escaped}, offsets).error().code == nauto::Errc::Unsupported);
  CHECK(Regex::alternation({&escaped, &escaped}, offsets));
}
