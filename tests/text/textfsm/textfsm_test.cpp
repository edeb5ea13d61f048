// The TextFSM engine: template language, record semantics, errors with file and line, bounded
// regexes, and the clitable index. Semantics follow Python TextFSM (the reference the
// ntc-templates corpus is written against); the corpus itself runs in ntc_conformance.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "nauto/text/textfsm/parser.h"
#include "nauto/text/textfsm/template_index.h"
#include "nauto/text/textfsm/template_library.h"

using namespace nauto::textfsm;
using namespace nauto::text;
using nlohmann::json;

namespace {

Template compile_ok(std::string_view text) {
  auto compiled = Template::compile(text, "test.textfsm");
  INFO((compiled ? "" : compiled.error().describe()));
  REQUIRE(compiled);
  return std::move(compiled).value();
}

json parse_json(std::string_view template_text, std::string_view input) {
  const auto fsm = compile_ok(template_text);
  auto table = parse(fsm, input);
  INFO((table ? "" : table.error().describe()));
  REQUIRE(table);
  return to_json(*table);
}

std::string compile_error(std::string_view text) {
  auto compiled = Template::compile(text, "bad.textfsm");
  REQUIRE_FALSE(compiled);
  return compiled.error().describe();
}

}  // namespace

TEST_CASE("records: Filldown, Required, Record and the implicit record at end of input") {
  const char* fsm = R"(Value Filldown VRF (\S+)
Value Required INTERFACE (\S+)
Value ADDRESS (\d+\.\d+\.\d+\.\d+)

Start
  ^VRF ${VRF}
  ^${INTERFACE}\s+${ADDRESS} -> Record
  ^${INTERFACE}\s+unassigned
)";
  const auto records = parse_json(fsm,
                                  "VRF blue\nGi0/1 10.0.0.1\nGi0/2 unassigned\nVRF red\n"
                                  "Gi0/3 10.0.0.3\n");
  // Gi0/2 is recorded at end of input only if nothing cleared it: it was overwritten by Gi0/3's
  // record; VRF stays filled down into each record.
  REQUIRE(records == json::parse(R"([
    {"vrf": "blue", "interface": "Gi0/1", "address": "10.0.0.1"},
    {"vrf": "red", "interface": "Gi0/3", "address": "10.0.0.3"}])"));
  // A record without its Required value is dropped; one left open at the end is kept.
  REQUIRE(parse_json(fsm, "VRF blue\n10.0.0.9 x\nGi0/9 unassigned\n") ==
          json::parse(R"([{"vrf": "blue", "interface": "Gi0/9", "address": ""}])"));
}

TEST_CASE("Fillup fills earlier records upward until one already has a value") {
  const char* fsm = R"(Value NAME (\w+)
Value Fillup SITE (\w+)

Start
  ^name ${NAME} -> Record
  ^site ${SITE}
)";
  // Python TextFSM gives the same: the open record carries SITE into b's record, and the
  // record left open at the end (no NAME, SITE two) is kept.
  REQUIRE(parse_json(fsm, "name a\nsite one\nname b\nname c\nsite two\n") ==
          json::parse(R"([{"name":"a","site":"one"},{"name":"b","site":"one"},
                          {"name":"c","site":"two"},{"name":"","site":"two"}])"));
}

TEST_CASE("List values collect items; named groups make maps; Continue matches a line twice") {
  const char* fsm = R"(Value NAME (\S+)
Value List MEMBERS (\S+)
Value List PEERS ((?P<address>\d+\.\d+\.\d+\.\d+)\s+as\s+(?P<asn>\d+))

Start
  ^group ${NAME} -> Continue
  ^group \S+ ${MEMBERS}
  ^\s+member ${MEMBERS}
  ^\s+peer ${PEERS}
  ^end -> Record
)";
  REQUIRE(parse_json(fsm,
                     "group core eth0\n member eth1\n peer 10.0.0.1 as 65001\n"
                     " peer 10.0.0.2 as 65002\nend\ngroup edge eth9\nend\n") == json::parse(R"([
    {"name":"core","members":["eth0","eth1"],
     "peers":[{"address":"10.0.0.1","asn":"65001"},{"address":"10.0.0.2","asn":"65002"}]},
    {"name":"edge","members":["eth9"],"peers":[]}])"));
}

TEST_CASE("a List item whose group did not take part is null, and 'None' as clitable stores it") {
  const auto fsm = compile_ok(R"(Value List TIME (\d+)
Value List STATUS (\w+)

Start
  ^reply (time=${TIME}|${STATUS})
)");
  auto table = parse(fsm, "reply time=5\nreply timeout\n");
  REQUIRE(table);
  REQUIRE(to_json(*table) == json::parse(R"([{"time":["5",null],"status":[null,"timeout"]}])"));
  stringify_list_items(*table);
  REQUIRE(to_json(*table) == json::parse(R"([{"time":["5","None"],"status":["None","timeout"]}])"));
}

TEST_CASE("Clear keeps Filldown values, Clearall forgets them") {
  const char* fsm = R"(Value Filldown HOST (\S+)
Value PORT (\d+)

Start
  ^host ${HOST}
  ^port ${PORT} -> Record
  ^reset -> Clearall
  ^clear -> Clear
)";
  REQUIRE(parse_json(fsm, "host a\nport 1\nclear\nport 2\nreset\nport 3\n") ==
          json::parse(R"([{"host":"a","port":"1"},{"host":"a","port":"2"},
                          {"host":"","port":"3"}])"));
}

TEST_CASE("states, End and EOF") {
  const char* fsm = R"(Value A (\w+)

Start
  ^begin -> Body

Body
  ^a=${A} -> Record
  ^stop -> End
  ^eof -> EOF
)";
  REQUIRE(parse_json(fsm, "a=skipped\nbegin\na=x\nstop\na=y\n") == json::parse(R"([{"a":"x"}])"));
  // End leaves without the implicit record; reaching EOF (or the end) adds the open record.
  REQUIRE(parse_json(fsm, "begin\na=x\na=open\n") == json::parse(R"([{"a":"x"},{"a":"open"}])"));
  const char* no_implicit = R"(Value A (\w+)

Start
  ^a=${A}


EOF
)";
  REQUIRE(parse_json(no_implicit, "a=x\n") == json::array());
}

TEST_CASE("an Error rule stops the parse with its message and both line numbers") {
  const auto fsm = compile_ok(R"(Value A (\w+)

Start
  ^a=${A} -> Record
  ^.* -> Error "unexpected line"
)");
  auto table = parse(fsm, "a=1\nsomething else\n");
  REQUIRE_FALSE(table);
  const auto message = table.error().describe();
  CHECK_THAT(message, Catch::Contains("test.textfsm:5"));
  CHECK_THAT(message, Catch::Contains("unexpected line"));
  CHECK_THAT(message, Catch::Contains("input line 2"));
}

TEST_CASE("$$ is a literal $, lines split like Python's splitlines, long names, {,n}") {
  const char* fsm = R"(Value VALUE_NAME_LONGER_THAN_THIRTY_TWO_CHARACTERS (\d{,3})

Start
  ^x ${VALUE_NAME_LONGER_THAN_THIRTY_TWO_CHARACTERS}$$ -> Record
)";
  REQUIRE(parse_json(fsm, "x 1\r\nx 22\rx 333\nx 4444\x0bx 5") ==
          json::parse(R"([{"value_name_longer_than_thirty_two_characters":"1"},
                          {"value_name_longer_than_thirty_two_characters":"22"},
                          {"value_name_longer_than_thirty_two_characters":"333"},
                          {"value_name_longer_than_thirty_two_characters":"5"}])"));
}

TEST_CASE("template errors name the file and line and say how to fix") {
  CHECK_THAT(compile_error("Value Filldwn A (x)\n\nStart\n  ^x\n"),
             Catch::Contains("bad.textfsm:1") && Catch::Contains("unknown Value option"));
  CHECK_THAT(compile_error("Value A (x\n\nStart\n  ^x\n"),
             Catch::Contains("bad.textfsm:1") && Catch::Contains("must be one group"));
  CHECK_THAT(compile_error("Value A (x)\nValue A (y)\n\nStart\n  ^x\n"),
             Catch::Contains("bad.textfsm:2") && Catch::Contains("declared twice"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^${A}$\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("$$"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^${B}\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("${B}"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^x -> Next Nowhere\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("'Nowhere' is not defined"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^x -> Continue Other\n\nOther\n  ^y\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("Continue cannot change state"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n   ^x\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("one or two spaces"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^x -> Bogus.Action\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("cannot read the action"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^(unclosed\n"),
             Catch::Contains("bad.textfsm:4") && Catch::Contains("bad regular expression"));
  CHECK_THAT(compile_error("Value A (x)\n\nOther\n  ^x\n"), Catch::Contains("no 'Start' state"));
  CHECK_THAT(compile_error("Value A (x)\n\nStart\n  ^x\n\nEnd\n  ^y\n"),
             Catch::Contains("bad.textfsm:6") && Catch::Contains("must have no rules"));
  CHECK_THAT(compile_error("Value A (x)\nStart\n"),
             Catch::Contains("bad.textfsm:2") && Catch::Contains("blank line"));
}

TEST_CASE("catastrophic regexes never hang a parse") {
  // ntc-templates' cisco_s300_show_vlan.textfsm has this rule; it needs no captures, so it is
  // answered by the DFA matcher once backtracking exceeds its first budget.
  const auto free_of_captures =
      compile_ok("Value A (\\S+)\n\nStart\n  ^(\\s*-*)*\\s*$$\n  ^\\s+${A} -> Record\n");
  auto started = std::chrono::steady_clock::now();
  auto table = parse(free_of_captures,
                     std::string(40, ' ') + "gi1\n" + std::string(40, ' ') + "\n---- ----\n");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
  REQUIRE(table);
  CHECK(to_json(*table) == json::parse(R"([{"a":"gi1"}])"));

  // With a capture, a line the rule cannot match is still ruled out by the DFA matcher, at once
  // (before, the backtracking matcher ran to its match limit and failed the parse).
  const auto capturing = compile_ok("Value A (x)\n\nStart\n  ^(\\s*-*)*\\s*${A}$$\n");
  started = std::chrono::steady_clock::now();
  auto ruled_out = parse(capturing, std::string(40, ' ') + "xz\n" + std::string(40, ' ') + "x\n");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(100));
  REQUIRE(ruled_out);
  CHECK(to_json(*ruled_out) == json::parse(R"([{"a":"x"}])"));

  // A line that does match, but only after an exponential dead end, needs the backtracking
  // matcher for its groups; its match limit stops it with an error.
  const auto dead_end = compile_ok("Value A (.*)\n\nStart\n  ^(?:(\\s*-*)*\\s*x|${A})$$\n");
  started = std::chrono::steady_clock::now();
  auto limited = parse(dead_end, std::string(40, ' ') + "z\n");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  REQUIRE_FALSE(limited);
  CHECK(limited.error().code == nauto::Errc::ResourceExhausted);
  CHECK_THAT(limited.error().describe(), Catch::Contains("backtracking"));

  // The parse-wide budget stops many slow lines that each stay under the match limit.
  std::string slow;
  for (int i = 0; i < 50; ++i)
    slow += std::string(20, ' ') + "z\n";
  auto budget = parse(dead_end, slow, ParseLimits{std::chrono::milliseconds(50)});
  REQUIRE_FALSE(budget);
  CHECK_THAT(budget.error().describe(), Catch::Contains("longer than 50 ms"));
}

TEST_CASE("output that is not UTF-8 is parsed with U+FFFD in place of each bad byte") {
  CHECK(is_valid_utf8("caf\xc3\xa9"));
  CHECK_FALSE(is_valid_utf8("caf\xe9"));
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK(to_valid_utf8("a\xff"
                      "b") ==
        "a\xef\xbf\xbd"
        "b");
  REQUIRE(
      parse_json("Value D (.+)\n\nStart\n  ^desc ${D} -> Record\n", "desc caf\xe9 \xc3\xa9\n") ==
      json::array({json{{"d", "caf\xef\xbf\xbd \xc3\xa9"}}}));
}

TEST_CASE("index: abbreviations, first row wins, several templates merge on Key") {
  CHECK(expand_completions("sh[[ow]] ver[[sion]]") == "sh(o(w)?)? ver(s(i(o(n)?)?)?)?");
  const char* index_text = R"(# comment
Template, Hostname, Platform, Command

t_detail.textfsm, .*, lab_os, sh[[ow]] int[[erfaces]] det[[ail]]
t_brief.textfsm:t_extra.textfsm, .*, lab_os, sh[[ow]] int[[erfaces]]
)";
  auto index = TemplateIndex::read(index_text, "index");
  REQUIRE(index);
  CHECK(*index->find("lab_os", "sh int det") == std::vector<std::string>{"t_detail.textfsm"});
  CHECK(*index->find("lab_os", "show interfaces") ==
        std::vector<std::string>{"t_brief.textfsm", "t_extra.textfsm"});
  auto missing = index->find("other_os", "show interfaces");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == nauto::Errc::NotFound);
  CHECK_THAT(missing.error().describe(), Catch::Contains("other_os"));

  const auto directory =
      std::filesystem::temp_directory_path() / ("nauto-textfsm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  std::ofstream(directory / "index") << index_text;
  std::ofstream(directory / "t_brief.textfsm")
      << "Value Key NAME (\\S+)\nValue STATE (up|down)\n\nStart\n  ^${NAME} ${STATE} -> Record\n";
  std::ofstream(directory / "t_extra.textfsm")
      << "Value Key NAME (\\S+)\nValue MTU (\\d+)\n\nStart\n  ^${NAME} mtu ${MTU} -> Record\n";
  auto library = TemplateLibrary::open(directory);
  REQUIRE(library);
  auto table = (*library)->parse("lab_os", "sh int", "eth0 up\neth1 down\neth1 mtu 9000\n");
  std::filesystem::remove_all(directory);
  REQUIRE(table);
  CHECK(to_json(*table) == json::parse(R"([{"name":"eth0","state":"up","mtu":""},
                                           {"name":"eth1","state":"down","mtu":"9000"}])"));
  auto bad = TemplateLibrary::open(directory / "nowhere");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().describe(), Catch::Contains("index"));
}

TEST_CASE("index: commands written out in full per platform, for shell completion") {
  const char* index_text = R"(Template, Hostname, Platform, Command

a.textfsm, .*, lab_os, sh[[ow]] ip bgp (?:all\s+)?sum[[mary]]
b.textfsm, .*, lab_os, sh[[ow]] ip bgp nei[[ghbors]](\s+\d+\.\d+\.\d+\.\d+)? adv[[ertised-routes]]
c.textfsm, .*, lab_os, sh[[ow]] ip bgp
d.textfsm, .*, lab_os, sh[[ow]] (ip|ipv6) route
e.textfsm, .*, other_os, sh[[ow]] ver[[sion]]
f.textfsm, .*, lab_os, sh[[ow]] ip bgp
)";
  auto index = TemplateIndex::read(index_text, "index");
  REQUIRE(index);
  // The alternation (ip|ipv6) is a pattern that cannot be written out: left out, as are
  // duplicates; optional groups are dropped.
  CHECK(index->commands("lab_os") ==
        std::vector<std::string>{"show ip bgp summary", "show ip bgp neighbors advertised-routes",
                                 "show ip bgp"});
  CHECK(index->commands("other_os") == std::vector<std::string>{"show version"});
  CHECK(index->commands("none").empty());
}

TEST_CASE("lines end at every separator Python's splitlines knows, and at nothing else") {
  std::vector<std::string> lines;
  nauto::textfsm::for_each_line(
      "a\nb\r\nc\rd\ve\ff\x1cg\x1dh\x1ei\xc2\x85j\xe2\x80\xa8k\xe2\x80\xa9l"
      "\xc2\xa0m\xe2\x80\xa7n\n",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      });
  CHECK(lines == std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
                                          "l\xc2\xa0m\xe2\x80\xa7n"});
  lines.clear();
  nauto::textfsm::for_each_line("x\r", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  CHECK(lines == std::vector<std::string>{"x"});
}
