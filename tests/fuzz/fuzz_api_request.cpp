// An HTTP API request as the module reads it: "METHOD /path?query" before the first NUL, header
// lines ("Name: value") before the second, the body after. The route is matched and its bus
// request built, a reply of the body's JSON shaped, the event stream's request read (topics,
// Last-Event-ID), the session cookie found and the bearer token checked.
#include "event_streams.h"
#include "fuzz_input.h"
#include "nauto/sdk/http_server.h"
#include "route_table.h"
#include "sessions.h"
#include "token_store.h"

namespace nauto::api {
extern const char* const kRoutesJson;
}

namespace {

nauto::HttpRequest request_of(std::string_view line, std::string_view headers,
                              std::string_view body) {
  nauto::HttpRequest request;
  const auto space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  auto target = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  auto query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto equals = pair.find('=');
    request.query.emplace_back(nauto::percent_decode(pair.substr(0, equals), true),
                               equals == std::string_view::npos
                                   ? ""
                                   : nauto::percent_decode(pair.substr(equals + 1), true));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  while (!headers.empty()) {
    const auto newline = headers.find('\n');
    const auto header = headers.substr(0, newline);
    const auto colon = header.find(": ");
    if (colon != std::string_view::npos)
      request.headers.emplace_back(std::string(header.substr(0, colon)),
                                   std::string(header.substr(colon + 2)));
    headers = newline == std::string_view::npos ? std::string_view() : headers.substr(newline + 1);
  }
  request.body = std::string(body);
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto routes = nauto::api::RouteTable::load(nauto::api::kRoutesJson);
  const auto [line, rest] = nauto::fuzz::split_at_nul(nauto::fuzz::text_of(data, size));
  const auto [headers, body] = nauto::fuzz::split_at_nul(rest);
  const auto request = request_of(line, headers, body);
  if (auto matched = routes->match(request.method, request.path)) {
    nauto::api::Page page;
    (void)routes->request_body(*matched, request, page);
    auto reply = nlohmann::json::parse(request.body, nullptr, false);
    if (!reply.is_discarded()) (void)routes->shape_reply(*matched, std::move(reply), page);
  }
  (void)nauto::api::EventStreams::read_request(request);
  (void)nauto::api::cookie_value(request.header("cookie"), "nauto_session");
  static nauto::api::TokenStore tokens;
  (void)tokens.verify(request.header("authorization"), request.peer, 0);
  return 0;
}
