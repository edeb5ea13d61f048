// The API's route table: matching, the bus request each route makes (typed query and path
// parameters, JSON bodies, fixed fields), paging and picking, and the error for each mistake.

#include "route_table.h"

#include <catch2/catch.hpp>

using namespace nauto;
using namespace nauto::api;
using nlohmann::json;

namespace nauto::api {
extern const char* const kRoutesJson;
extern const char* const kOpenApiJson;
}  // namespace nauto::api

namespace {

const RouteTable& table() {
  static const RouteTable loaded = [] {
    auto routes = RouteTable::load(kRoutesJson);
    REQUIRE(routes);
    return std::move(*routes);
  }();
  return loaded;
}

HttpRequest get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
  HttpRequest request;
  request.method = "GET";
  request.path = std::move(path);
  request.query = std::move(query);
  return request;
}

json body_of(const HttpRequest& request, Page* page_out = nullptr) {
  auto matched = table().match(request.method, request.path);
  REQUIRE(matched);
  Page page;
  auto body = table().request_body(*matched, request, page);
  REQUIRE(body);
  if (page_out) *page_out = page;
  return *body;
}

Error error_of(const HttpRequest& request) {
  auto matched = table().match(request.method, request.path);
  REQUIRE(matched);
  Page page;
  auto body = table().request_body(*matched, request, page);
  REQUIRE_FALSE(body);
  return body.error();
}

}  // namespace

TEST_CASE("routes match by method and path; literal segments win over parameters", "[api]") {
  auto whoami = table().match("GET", "/api/v1/whoami");
  REQUIRE(whoami);
  CHECK(whoami->route->service == "bus.whoami");
  auto job = table().match("GET", "/api/v1/jobs/20261206T101500.123-abc");
  REQUIRE(job);
  CHECK(job->route->service == "job.status");
  CHECK(job->params.at("id") == "20261206T101500.123-abc");
  auto backups = table().match("GET", "/api/v1/configs/backups");
  REQUIRE(backups);
  CHECK(backups->route->service == "configs.backups");
  auto reload = table().match("POST", "/api/v1/rules/reload");
  REQUIRE(reload);
  CHECK(reload->route->service == "rules.reload");
  auto trailing = table().match("GET", "/api/v1/jobs/");
  REQUIRE(trailing);
  CHECK(trailing->route->service == "job.list");

  auto unknown = table().match("GET", "/api/v1/nothing/here");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::NotFound);
  auto wrong_method = table().match("DELETE", "/api/v1/jobs");
  REQUIRE_FALSE(wrong_method);
  CHECK(wrong_method.error().code == Errc::Unsupported);
  CHECK(table().methods_for("/api/v1/jobs") == "GET, POST");
}

TEST_CASE("query and path parameters take the types the bus schema gives their fields", "[api]") {
  Page page;
  auto listed = body_of(get("/api/v1/runs", {{"all", "true"}, {"limit", "10"}}), &page);
  CHECK(listed == json{{"all", true}, {"limit", 11}});  // the page and one more
  CHECK(page.limit == 10);
  CHECK(page.offset == 0);
  auto next = body_of(get("/api/v1/runs", {{"limit", "10"}, {"cursor", "p20"}}), &page);
  CHECK(next["limit"] == 31);
  CHECK(page.offset == 20);
  auto diff = body_of(get("/api/v1/devices/r1/diff", {{"from", "3"}, {"context", "5"}}));
  CHECK(diff == json{{"device", "r1"}, {"from", "3"}, {"context", 5}});
  auto query = body_of(get("/api/v1/metrics/cpu", {{"labels", R"({"if":"Gi0/1"})"}}));
  CHECK(query == json{{"metric", "cpu"}, {"labels", {{"if", "Gi0/1"}}}});

  auto not_integer = error_of(get("/api/v1/devices/r1/diff", {{"context", "five"}}));
  CHECK(not_integer.code == Errc::InvalidArgument);
  CHECK(not_integer.message == "query parameter 'context' must be an integer, not 'five'");
  auto not_json = error_of(get("/api/v1/metrics/cpu", {{"labels", "{oops"}}));
  CHECK(not_json.message == "query parameter 'labels' must be JSON, not '{oops'");
  auto unknown = error_of(get("/api/v1/jobs/x/results", {{"colour", "red"}}));
  CHECK(unknown.code == Errc::InvalidArgument);
  CHECK(unknown.where == "colour");
  CHECK(unknown.message.find("GET /api/v1/jobs/{id}/results takes device, after, limit, cursor") !=
        std::string::npos);
  auto path_twice = error_of(get("/api/v1/jobs/x", {{"id", "y"}}));
  CHECK(path_twice.message.find("unknown query parameter 'id'") == 0);
  CHECK(error_of(get("/api/v1/runs", {{"limit", "0"}})).message ==
        "query parameter 'limit' must be an integer from 1 to 500");
  CHECK(error_of(get("/api/v1/runs", {{"cursor", "zz"}})).where == "cursor");
}

TEST_CASE("a POST takes a JSON object body; path parameters and fixed fields override it",
          "[api]") {
  HttpRequest start;
  start.method = "POST";
  start.path = "/api/v1/runbooks/fix_bgp/runs";
  start.body = R"({"params": {"device": "r1"}, "runbook": "other"})";
  CHECK(body_of(start) == json{{"runbook", "fix_bgp"}, {"params", {{"device", "r1"}}}});
  HttpRequest deny;
  deny.method = "POST";
  deny.path = "/api/v1/approvals/run-1/deny";
  deny.body = R"({"approve": true, "comment": "not now"})";
  CHECK(body_of(deny) == json{{"id", "run-1"}, {"approve", false}, {"comment", "not now"}});
  HttpRequest empty;
  empty.method = "POST";
  empty.path = "/api/v1/jobs/j1/cancel";
  CHECK(body_of(empty) == json{{"id", "j1"}});

  HttpRequest bad = start;
  bad.body = "{not json";
  CHECK(error_of(bad).code == Errc::Malformed);
  bad.body = "[1, 2]";
  CHECK(error_of(bad).code == Errc::InvalidArgument);
  bad.body = "{}";
  bad.query = {{"dry_run", "true"}};
  CHECK(error_of(bad).message.find("takes its fields in the JSON body") != std::string::npos);
}

TEST_CASE("a list route answers a page and the cursor of the next; a pick route one item",
          "[api]") {
  auto matched = table().match("GET", "/api/v1/runs");
  REQUIRE(matched);
  json reply = {{"runs", json::array()}, {"total", 5}};
  for (int i = 0; i < 5; ++i)
    reply["runs"].push_back({{"id", "r" + std::to_string(i)}});
  auto first = table().shape_reply(*matched, reply, Page{0, 2});
  REQUIRE(first);
  CHECK(*first ==
        json{{"items", {{{"id", "r0"}}, {{"id", "r1"}}}}, {"next_cursor", "p2"}, {"total", 5}});
  auto last = table().shape_reply(*matched, reply, Page{4, 2});
  REQUIRE(last);
  CHECK((*last)["items"] == json{{{"id", "r4"}}});
  CHECK((*last)["next_cursor"].is_null());
  auto past = table().shape_reply(*matched, reply, Page{9, 2});
  REQUIRE(past);
  CHECK((*past)["items"].empty());

  auto encoded = table().match("POST", "/api/v1/approvals/run-7%2Fm%401/approve");
  REQUIRE(encoded);
  CHECK(encoded->params.at("id") == "run-7/m@1");
  auto pick = table().match("GET", "/api/v1/approvals/run-7:push");
  REQUIRE(pick);
  json approvals = {
      {"approvals", {{{"id", "run-6:push"}}, {{"id", "run-7:push"}, {"diff", "+x"}}}}};
  auto picked = table().shape_reply(*pick, approvals, Page{});
  REQUIRE(picked);
  CHECK((*picked)["diff"] == "+x");
  auto none = table().match("GET", "/api/v1/approvals/nope");
  REQUIRE(none);
  auto missing = table().shape_reply(*none, approvals, Page{});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::NotFound);
}

TEST_CASE("the OpenAPI document has every route with its errors and security", "[api]") {
  const auto document = json::parse(kOpenApiJson);
  CHECK(document["openapi"] == "3.0.3");
  for (const auto& route : table().routes()) {
    std::string method = route.method;
    for (auto& c : method)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    INFO(route.method << " " << route.path);
    REQUIRE(document["paths"].contains(route.path));
    const auto& operation = document["paths"][route.path][method];
    CHECK(operation["responses"].contains("200"));
    CHECK(operation["responses"].contains("401"));
    CHECK(operation["responses"].contains("403"));
  }
  CHECK(document["paths"]["/api/v1/openapi.json"]["get"]["security"].empty());
}
