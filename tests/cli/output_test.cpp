#include "output.h"

#include <catch2/catch.hpp>

using namespace nauto;
using namespace nauto::cli;
using nlohmann::json;

TEST_CASE("tables pad columns to the widest cell", "[cli]") {
  Table t{{"MODULE", "STATE"}, {{"journal", "running"}, {"k", "backoff"}}};
  CHECK(t.render() ==
        "MODULE   STATE\n"
        "journal  running\n"
        "k        backoff\n");
}

TEST_CASE("documents render as JSON and YAML", "[cli]") {
  const json doc = {{"name", "journal"}, {"restarts", 2}, {"serves", {"journal.query"}}};
  const auto as_json = render_document(doc, OutputFormat::Json);
  CHECK(json::parse(as_json) == doc);
  const auto as_yaml = render_document(doc, OutputFormat::Yaml);
  CHECK(as_yaml.find("name: journal") != std::string::npos);
  CHECK(as_yaml.find("restarts: 2") != std::string::npos);
  CHECK(as_yaml.find("- journal.query") != std::string::npos);
}

TEST_CASE("output format names are checked", "[cli]") {
  CHECK(*parse_output_format("yaml") == OutputFormat::Yaml);
  auto bad = parse_output_format("xml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("use table, json or yaml") != std::string::npos);
}

TEST_CASE("cells and times are shown the way people read them", "[cli]") {
  CHECK(cell(json("text")) == "text");
  CHECK(cell(json(nullptr)) == "-");
  CHECK(cell(json{{"a", 1}}) == R"({"a":1})");
  CHECK(format_time_us(1795327672834442) == "2026-11-22T06:07:52.834Z");
}
