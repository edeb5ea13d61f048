// The API module (issue 31): REST over HTTPS for what the CLI does. Each route of routes.yaml
// calls one bus service as the token's holder (Context::request_as), so the router checks the
// holder's roles exactly as for a CLI user: the API adds no permission model of its own.
//
// Threads: HttpServer parses HTTP on its own thread and hands each whole request to this
// module's thread through a bounded inbox (an eventfd the module watches); the module checks
// the rate limits, the token or session, matches the route and asks the bus; the reply
// answers the parked HTTP request. A full inbox is answered 429 (Retry-After) on the HTTP
// thread.
//
// Serves api.token.create|list|revoke (tokens, stored hashed in the table api_tokens) and
// api.stats. In a passive kernel (a CLI's) it serves those and listens on nothing.

#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "api_errors.h"
#include "dashboard_files.h"
#include "event_streams.h"
#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/base/doorbell.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/listen_socket.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"
#include "rate_limiter.h"
#include "route_table.h"
#include "sessions.h"
#include "token_store.h"

namespace nauto::api {

extern const char* const kRoutesJson;
extern const char* const kOpenApiJson;

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr const char* kTokenTable = "api_tokens";
constexpr const char* kSessionCookie = "nauto_session";

struct Settings {
  HttpServerOptions server;
  std::string cert_file, key_file;
  std::int64_t call_timeout_ms = 30'000;
  std::size_t inbox = 1024;
  double token_rate = 20, token_burst = 40;
  double address_rate = 50, address_burst = 100;
  std::int64_t session_ttl_ms = 8LL * 3'600'000;
  std::int64_t session_max_age_ms = 24LL * 3'600'000;
  std::size_t max_sessions = 10'000;
  std::int64_t keep_ended_tokens_ms = 90LL * 86'400'000;
  std::size_t max_streams = 1000;
  std::int64_t keepalive_ms = 15'000;
  std::int64_t replay_limit = 1000;
};

bool loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1";
}

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.api");
  const auto listen = r.string("listen", "127.0.0.1:8443");
  const auto tls = r.section("tls");
  s.call_timeout_ms = r.duration_ms("call_timeout", s.call_timeout_ms, 100);
  s.server.request_timeout_ms = r.duration_ms("request_timeout", 10'000, 100);
  s.server.idle_timeout_s = static_cast<int>(r.duration_ms("idle_timeout", 60'000, 1000) / 1000);
  s.server.max_body = r.size_bytes("max_body", 1 << 20, 1024);
  s.server.max_connections =
      static_cast<std::size_t>(r.integer("max_connections", 1024, 1, 100'000));
  s.server.per_address_connections =
      static_cast<std::size_t>(r.integer("per_address_connections", 64, 1, 100'000));
  s.inbox = static_cast<std::size_t>(r.integer("queue", 1024, 1, 1'000'000));
  const auto limits = r.section("rate_limit");
  s.session_ttl_ms = r.duration_ms("session_ttl", s.session_ttl_ms, 60'000);
  s.session_max_age_ms = r.duration_ms("session_max_age", s.session_max_age_ms, 60'000);
  s.max_sessions = static_cast<std::size_t>(r.integer("max_sessions", 10'000, 1, 1'000'000));
  s.keep_ended_tokens_ms = r.duration_ms("keep_ended_tokens", s.keep_ended_tokens_ms, 60'000);
  s.max_streams = static_cast<std::size_t>(r.integer("max_streams", 1000, 1, 100'000));
  s.keepalive_ms = r.duration_ms("stream_keepalive", s.keepalive_ms, 100);
  s.replay_limit = r.integer("replay_limit", s.replay_limit, 1, 1'000'000);
  if (auto done = r.finish(); !done) return std::move(done).error();
  std::string problems;
  if (!limits.is_null()) {
    ConfigReader l(limits, "modules.api.rate_limit");
    s.token_rate = static_cast<double>(l.integer("per_token", 20, 1, 1'000'000));
    s.token_burst = static_cast<double>(l.integer("per_token_burst", 40, 1, 1'000'000));
    s.address_rate = static_cast<double>(l.integer("per_address", 50, 1, 1'000'000));
    s.address_burst = static_cast<double>(l.integer("per_address_burst", 100, 1, 1'000'000));
    if (auto done = l.finish(); !done) problems += done.error().message + "\n";
  }
  if (!tls.is_null()) {
    ConfigReader t(tls, "modules.api.tls");
    s.cert_file = t.string("cert", "");
    s.key_file = t.string("key", "");
    if (auto done = t.finish(); !done) problems += done.error().message + "\n";
    if (s.cert_file.empty() || s.key_file.empty())
      problems += "modules.api.tls: give both cert and key (PEM files)\n";
  }
  auto endpoint = parse_endpoint("tcp://" + listen);
  if (!endpoint) {
    problems += "modules.api.listen: '" + listen +
                "' is not ADDRESS:PORT (127.0.0.1:8443, [::1]:8443, 0.0.0.0:8443)\n";
  } else {
    s.server.host = endpoint->host;
    s.server.port = endpoint->port;
    // Tokens and session cookies cross the network in the clear without TLS.
    if (s.cert_file.empty() && !loopback(endpoint->host))
      problems += "modules.api.tls: listening on " + listen +
                  " needs tls {cert, key}; plain HTTP is allowed only on a loopback address\n";
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return s;
}

Result<std::string> read_file(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::InvalidConfig, where + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

HttpResponse json_response(int status, const json& body) {
  return HttpResponse{
      status, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json", {}};
}

HttpResponse too_many(std::int64_t wait_s, const std::string& whose) {
  auto response = error_response(Error{
      Errc::Overloaded,
      "too many requests from this " + whose + "; retry in " + std::to_string(wait_s) + " s", ""});
  response.headers = {{"Retry-After", std::to_string(wait_s)}};
  return response;
}

// Who a request acts as, once its token or session verified.
struct Caller {
  TokenHolder holder;
  std::string session;  // the session's id when it came with the cookie
};

}  // namespace

class ApiModule final : public Module {
 public:
  Manifest manifest() const override {
    // Every event: the event streams pick theirs by topic.
    return Manifest::declared("api", "HTTP API: REST routes as the token's holder, event streams",
                              {""}, {kTokenTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    auto routes = RouteTable::load(kRoutesJson);
    if (!routes) return std::move(routes).error();
    routes_ = std::move(*routes);
    openapi_ = kOpenApiJson;
    if (auto loaded = load_tokens(ctx); !loaded) return loaded;
    by_token_ = std::make_unique<RateLimiter>(settings_.token_rate, settings_.token_burst);
    by_address_ = std::make_unique<RateLimiter>(settings_.address_rate, settings_.address_burst);
    sessions_ =
        std::make_unique<SessionTable>(settings_.session_ttl_ms * 1000,
                                       settings_.session_max_age_ms * 1000, settings_.max_sessions);
    // A CLI's kernel (passive) answers the token services and starts nothing: no listener, no
    // housekeeping (nautod does it).
    if (ctx.passive()) return ok();
    ctx.every(std::chrono::seconds(30), [this, &ctx] { persist_logged(ctx, false); });
    ctx.every(std::chrono::hours(6), [this, &ctx] { drop_ended_tokens(ctx); });
    if (!settings_.cert_file.empty()) {
      auto cert = read_file(settings_.cert_file, "modules.api.tls.cert");
      if (!cert) return std::move(cert).error();
      auto key = read_file(settings_.key_file, "modules.api.tls.key");
      if (!key) return std::move(key).error();
      settings_.server.tls_cert_pem = std::move(*cert);
      settings_.server.tls_key_pem = std::move(*key);
    }
    auto server = HttpServer::start(settings_.server,
                                    [this](HttpRequest request) { receive(std::move(request)); });
    settings_.server.tls_key_pem.clear();  // libmicrohttpd has its copy
    if (!server) return fail(server.error().code, server.error().message, "modules.api");
    server_ = std::move(*server);
    {
      std::lock_guard lock(inbox_mutex_);
      http_ = server_.get();
    }
    streams_ = std::make_unique<EventStreams>(
        [this](std::uint64_t id, std::string bytes) { return server_->send(id, std::move(bytes)); },
        settings_.max_streams);
    ctx.every(std::chrono::milliseconds(settings_.keepalive_ms), [this] {
      if (streams_) streams_->keepalive();
    });
    auto watched = ctx.watch(inbox_bell_.fd(), [this, &ctx] { drain(ctx); });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    if (server_->tls()) {
      ctx.log().info("listening on https://{}/api/v1/", server_->address());
    } else {
      ctx.log().warn(
          "listening on http://{}/api/v1/ without TLS (loopback only); give "
          "modules.api.tls {{cert, key}} for anything else",
          server_->address());
    }
    drop_ended_tokens(ctx);
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    if (watch_) ctx.unwatch(watch_);
    {
      std::lock_guard lock(inbox_mutex_);
      http_ = nullptr;
    }
    streams_.reset();
    server_.reset();  // parked requests are answered 503
    persist_logged(ctx, true);
  }

  void on_event(const bus::Envelope& event, Context&) override {
    if (streams_) streams_->publish(event);
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    const auto& topic = request.topic;
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    const auto now = now_us();
    if (topic == schema::ApiTokenCreateRequest::kTopic) {
      auto args = schema::ApiTokenCreateRequest::decode(*body);
      if (!args) return reply.fail(args.error());
      return create_token(ctx, std::move(*args), caller_of(request.header), std::move(reply));
    }
    if (topic == schema::ApiTokenListRequest::kTopic) {
      auto args = schema::ApiTokenListRequest::decode(*body);
      if (!args) return reply.fail(args.error());
      json list = json::array();
      for (const auto& record : tokens_.list(args->all, now)) {
        auto item = record.to_json(false);
        item["state"] = record.state(now);
        list.push_back(std::move(item));
      }
      return reply.ok_json({{"tokens", std::move(list)}});
    }
    if (topic == schema::ApiTokenRevokeRequest::kTopic) {
      auto args = schema::ApiTokenRevokeRequest::decode(*body);
      if (!args) return reply.fail(args.error());
      auto revoked = tokens_.revoke(args->id, caller_of(request.header), now);
      if (!revoked) return reply.fail(revoked.error());
      if (sessions_) sessions_->close_token(args->id);
      if (auto written = persist(ctx, true); !written) return reply.fail(written.error());
      return reply.ok_json({{"id", revoked->id}, {"revoked_us", revoked->revoked_us}});
    }
    if (topic == schema::ApiStatsRequest::kTopic) return reply.ok_json(stats());
    reply.fail(Error{Errc::Unsupported, "unknown service " + topic, "api"});
  }

 private:
  // ---- the HTTP thread's side ----

  // On the HTTP thread: queue the request for the module's thread, or shed it.
  void receive(HttpRequest request) {
    std::lock_guard lock(inbox_mutex_);
    if (inbox_.size() >= settings_.inbox) {
      ++shed_;
      if (http_)
        http_->answer(request.id,
                      error_response(Error{Errc::Overloaded, "the API is busy; retry later", ""}));
      return;
    }
    inbox_.push_back(std::move(request));
    inbox_bell_.ring();
  }

  // ---- the module's thread ----

  void drain(Context& ctx) {
    inbox_bell_.drain();
    std::deque<HttpRequest> requests;
    {
      std::lock_guard lock(inbox_mutex_);
      requests.swap(inbox_);
    }
    for (auto& request : requests)
      handle(ctx, std::move(request));
  }

  void answer(std::uint64_t id, HttpResponse response) {
    if (server_) server_->answer(id, std::move(response));
  }

  void handle(Context& ctx, HttpRequest request) {
    const auto now = now_us();
    const auto id = request.id;
    if (auto wait = by_address_->admit(request.peer, now))
      return answer(id, too_many(wait, "address"));
    const auto& path = request.path;
    const auto& method = request.method;
    if (path == "/api/v1/openapi.json" && method == "GET")
      return answer(id, HttpResponse{200, openapi_, "application/json", {}});
    if (method == "GET" || method == "HEAD") {
      if (path == "/" || path == "/ui") {
        HttpResponse moved{302, "", "", {{"Location", "/ui/"}}};
        return answer(id, std::move(moved));
      }
      if (path.starts_with("/ui/")) return answer(id, dashboard_file(path.substr(4)));
      if (path == "/api/v1/session") return answer(id, session_of(request, now));
    }
    if (path == "/api/v1/login") {
      if (method != "POST") return answer(id, not_allowed(path, "POST"));
      return login(request, now);
    }
    if (!path.starts_with("/api/")) {
      return answer(id, error_response(Error{
                            Errc::NotFound,
                            "no page " + path.substr(0, 200) + "; the API is under /api/v1/", ""}));
    }
    auto caller = authenticate(request, now);
    if (!caller) {
      if (caller.error().code == Errc::Unauthenticated)
        return answer(id, unauthenticated(caller.error().message));
      return answer(id, error_response(caller.error()));
    }
    if (auto wait = by_token_->admit(caller->holder.id, now))
      return answer(id, too_many(wait, "token"));
    if (path == "/api/v1/logout") {
      if (method != "POST") return answer(id, not_allowed(path, "POST"));
      return logout(request, *caller);
    }
    if (path == "/api/v1/events/stream") {
      if (method != "GET") return answer(id, not_allowed(path, "GET"));
      return start_stream(ctx, request, *caller);
    }
    auto matched = routes_.match(method, path);
    if (!matched) {
      if (matched.error().code == Errc::Unsupported)
        return answer(id, not_allowed(path, routes_.methods_for(path)));
      return answer(id, error_response(matched.error()));
    }
    Page page;
    auto body = routes_.request_body(*matched, request, page);
    if (!body) return answer(id, error_response(body.error()));
    ++calls_;
    const auto started = steady_us();
    ctx.request_as(
        caller->holder.principal, caller->holder.roles, matched->route->service,
        bus::to_body(*body), settings_.call_timeout_ms,
        [this, id, matched = std::move(*matched), page, started](Result<std::string> reply) {
          call_time_us_ += steady_us() - started;
          if (!reply) return answer(id, error_response(reply.error()));
          auto decoded = bus::from_body(*reply);
          if (!decoded) return answer(id, error_response(decoded.error()));
          auto shaped = routes_.shape_reply(matched, std::move(*decoded), page);
          if (!shaped) return answer(id, error_response(shaped.error()));
          answer(id, json_response(200, *shaped));
        });
  }

  // An event stream: authorized by a journal.query as the caller (it reads events), which also
  // brings what a resuming client missed.
  void start_stream(Context& ctx, const HttpRequest& request, const Caller& caller) {
    const auto id = request.id;
    if (streams_->full())
      return answer(id,
                    error_response(Error{Errc::Unavailable,
                                         "too many event streams (modules.api.max_streams)", ""}));
    auto asked = EventStreams::read_request(request);
    if (!asked) return answer(id, error_response(asked.error()));
    const bool resume = !asked->last_event_id.empty();
    json query = {{"limit", resume ? settings_.replay_limit : 1}};
    if (resume) query["since_us"] = asked->resume_from_us;
    // One pattern narrows the journal's answer; several are filtered here.
    if (asked->patterns.size() == 1) query["topic"] = asked->patterns.front();
    streams_->begin(id, std::move(*asked));
    ctx.request_as(
        caller.holder.principal, caller.holder.roles, schema::JournalQueryRequest::kTopic,
        bus::to_body(query), settings_.call_timeout_ms,
        [this, id, resume, limit = settings_.replay_limit](Result<std::string> reply) {
          if (!streams_) return;
          auto events = reply ? bus::from_body(*reply) : Result<json>(reply.error());
          if (!events) {
            streams_->drop(id);
            return answer(id, error_response(events.error()));
          }
          if (!streams_->waiting(id))
            return answer(id,
                          error_response(Error{Errc::Overloaded,
                                               "too many events arrived while the stream started; "
                                               "reconnect with Last-Event-ID",
                                               ""}));
          server_->open_stream(
              id, HttpResponse{200,
                               "",
                               "text/event-stream",
                               {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}}});
          const auto list = (*events)["events"];
          streams_->replay(id, resume ? list : json::array(),
                           resume && list.size() >= static_cast<std::size_t>(limit));
        });
  }

  HttpResponse not_allowed(const std::string& path, const std::string& methods) {
    auto response =
        error_response(Error{Errc::Unsupported, path + " takes " + methods + " only", ""});
    response.status = 405;
    response.headers.emplace_back("Allow", methods);
    return response;
  }

  // The bearer token, or the session cookie with its CSRF check for a request that changes
  // something.
  Result<Caller> authenticate(const HttpRequest& request, std::int64_t now) {
    const auto authorization = request.header("authorization");
    if (!authorization.empty()) {
      if (!authorization.starts_with("Bearer "))
        return fail(Errc::Unauthenticated, "Authorization must be 'Bearer <token>'");
      auto holder = tokens_.verify(authorization.substr(7), request.peer, now);
      if (!holder) return std::move(holder).error();
      return Caller{std::move(*holder), ""};
    }
    const auto cookie = cookie_value(request.header("cookie"), kSessionCookie);
    if (cookie.empty())
      return fail(Errc::Unauthenticated,
                  "send Authorization: Bearer <token> (`nauto token create`) or log in at "
                  "POST /api/v1/login");
    TokenHolder holder;
    const auto* session = live_session(cookie, now, holder);
    if (!session) return fail(Errc::Unauthenticated, "the session has ended; log in again");
    if (request.method != "GET" && request.method != "HEAD" &&
        !equal_in_constant_time(request.header("x-csrf-token"), session->csrf))
      return fail(Errc::PermissionDenied,
                  "a browser session's request that changes something must send the "
                  "session's X-CSRF-Token");
    return Caller{std::move(holder), std::string(cookie)};
  }

  // The session of a cookie while both it and its token live, its token's holder in `holder`;
  // nullptr otherwise.
  const Session* live_session(std::string_view cookie, std::int64_t now, TokenHolder& holder) {
    const auto* session = cookie.empty() ? nullptr : sessions_->use(cookie, now);
    if (!session) return nullptr;
    auto found = tokens_.holder(session->token_id, now);
    if (!found) return nullptr;
    holder = std::move(*found);
    return session;
  }

  // The dashboard's files, with a policy that lets a page load only them and talk only to us.
  static HttpResponse dashboard_file(std::string name) {
    if (name.empty()) name = "index.html";
    for (const auto& file : dashboard_files()) {
      if (file.name != name) continue;
      return HttpResponse{
          200,
          std::string(file.bytes),
          std::string(file.content_type),
          {{"Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
           {"X-Content-Type-Options", "nosniff"},
           {"Referrer-Policy", "no-referrer"},
           {"Cache-Control", "no-cache"}}};
    }
    return error_response(
        Error{Errc::NotFound, "no file /ui/" + name.substr(0, 100) + " in the dashboard", ""});
  }

  // Who the session cookie is, with its CSRF secret, for a dashboard page that was reloaded;
  // {} without a live session (answered 200: the page then shows its login).
  HttpResponse session_of(const HttpRequest& request, std::int64_t now) {
    TokenHolder holder;
    const auto* session =
        live_session(cookie_value(request.header("cookie"), kSessionCookie), now, holder);
    if (!session) return json_response(200, json::object());
    auto response = json_response(
        200, {{"principal", holder.principal}, {"roles", holder.roles}, {"csrf", session->csrf}});
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  }

  void login(const HttpRequest& request, std::int64_t now) {
    auto body = json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string())
      return answer(request.id, error_response(Error{
                                    Errc::InvalidArgument,
                                    "log in with a JSON body {\"token\": \"nat_...\"}", "token"}));
    auto holder = tokens_.verify(body["token"].get<std::string>(), request.peer, now);
    if (!holder) return answer(request.id, unauthenticated(holder.error().message));
    auto opened = sessions_->open(holder->id, now);
    if (!opened) return answer(request.id, error_response(opened.error()));
    auto response = json_response(200, {{"principal", holder->principal},
                                        {"roles", holder->roles},
                                        {"csrf", opened->second.csrf}});
    response.headers.emplace_back("Set-Cookie",
                                  std::string(kSessionCookie) + "=" + opened->first +
                                      "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=" +
                                      std::to_string(settings_.session_max_age_ms / 1000));
    response.headers.emplace_back("Cache-Control", "no-store");
    answer(request.id, std::move(response));
  }

  void logout(const HttpRequest& request, const Caller& caller) {
    if (!caller.session.empty()) sessions_->close(caller.session);
    auto response = json_response(200, {{"logged_out", !caller.session.empty()}});
    response.headers.emplace_back(
        "Set-Cookie",
        std::string(kSessionCookie) + "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    answer(request.id, std::move(response));
  }

  // ---- tokens ----

  void create_token(Context& ctx, schema::ApiTokenCreateRequest args, std::string by, Reply reply) {
    auto lifetime = parse_duration_ms(args.expires);
    if (!lifetime)
      return reply.fail(
          Error{Errc::InvalidArgument, "expires: " + lifetime.error().message, "expires"});
    // Every role must exist: a misspelt one would grant nothing, silently.
    auto shared = std::make_shared<Reply>(std::move(reply));
    ctx.request(schema::BusAuthRequest::kTopic, bus::to_body(json::object()), 5000,
                [this, &ctx, args = std::move(args), by = std::move(by), lifetime = *lifetime,
                 shared](Result<std::string> answer) {
                  if (!answer) return shared->fail(answer.error());
                  auto auth = bus::from_body(*answer);
                  if (!auth) return shared->fail(auth.error());
                  std::set<std::string> known;
                  for (const auto& role : (*auth)["roles"])
                    known.insert(role.value("name", ""));
                  for (const auto& role : args.roles)
                    if (!known.contains(role))
                      return shared->fail(
                          Error{Errc::InvalidArgument,
                                "no role '" + role + "' (`nauto auth roles` lists them)", "roles"});
                  auto created =
                      tokens_.create(args.principal, args.roles, lifetime, args.note, by, now_us());
                  if (!created) return shared->fail(created.error());
                  if (auto written = persist(ctx, true); !written)
                    return shared->fail(written.error());
                  ctx.log().info("token {} created for {} ({}) by {}", created->first.id,
                                 created->first.principal, fmt::join(created->first.roles, ","),
                                 by);
                  shared->ok_json({{"id", created->first.id},
                                   {"token", created->second},
                                   {"principal", created->first.principal},
                                   {"roles", created->first.roles},
                                   {"expires_us", created->first.expires_us}});
                });
  }

  Result<void> load_tokens(Context& ctx) {
    auto* store = ctx.store();
    if (!store) return ok();
    std::vector<std::pair<std::string, json>> rows;
    store::ScanOptions options;
    options.limit = 1'000'000;
    auto entries = store->scan(kTokenTable, options);
    if (!entries) return std::move(entries).error();
    for (const auto& [key, value] : *entries) {
      auto decoded = bus::from_body(value);
      if (decoded) rows.emplace_back(key, std::move(*decoded));
    }
    for (const auto& problem : tokens_.load(rows))
      ctx.log().warn("{}", problem);
    return ok();
  }

  // Writes what changed; `wait`: durable before it returns (a created or revoked token is
  // acknowledged only once it is).
  Result<void> persist(Context& ctx, bool wait) {
    auto* store = ctx.store();
    if (!store) return ok();
    store::WriteBatch batch;
    for (const auto& record : tokens_.take_dirty())
      batch.put(kTokenTable, record.id, bus::to_body(record.to_json(true)));
    for (const auto& id : dropped_)
      batch.erase(kTokenTable, id);
    dropped_.clear();
    if (batch.empty()) return ok();
    if (wait) return store->write_and_wait(std::move(batch));
    store->write(std::move(batch), [log = &ctx.log()](Result<void> done) {
      if (!done) log->error("api tokens not written: {}", done.error().describe());
    });
    return ok();
  }

  void persist_logged(Context& ctx, bool wait) {
    if (auto written = persist(ctx, wait); !written)
      ctx.log().error("api tokens not written: {}", written.error().describe());
  }

  // Retention: tokens that ended (expired or revoked) long ago go.
  void drop_ended_tokens(Context& ctx) {
    for (auto& id : tokens_.drop_ended_before(now_us() - settings_.keep_ended_tokens_ms * 1000))
      dropped_.push_back(std::move(id));
    persist_logged(ctx, false);
  }

  json stats() const {
    json out = {{"tokens", tokens_.size()},
                {"sessions", sessions_ ? sessions_->size() : 0},
                {"calls", calls_},
                {"call_time_us", call_time_us_},
                {"rate_limited",
                 {{"token", by_token_ ? by_token_->refused() : 0},
                  {"address", by_address_ ? by_address_->refused() : 0}}}};
    {
      std::lock_guard lock(inbox_mutex_);
      out["shed"] = shed_;
    }
    if (streams_) {
      const auto& c = streams_->counters();
      out["streams"] = {{"open", streams_->size()}, {"opened", c.opened},
                        {"ended", c.ended},         {"events_sent", c.events_sent},
                        {"replayed", c.replayed},   {"gaps", c.gaps}};
    }
    if (server_) {
      const auto c = server_->counters();
      out["listen"] = (server_->tls() ? "https://" : "http://") + server_->address();
      out["http"] = {
          {"requests", c.requests},       {"2xx", c.status_2xx},         {"3xx", c.status_3xx},
          {"4xx", c.status_4xx},          {"5xx", c.status_5xx},         {"too_large", c.too_large},
          {"connections", c.connections}, {"refused", c.refused},        {"timed_out", c.timed_out},
          {"streams", c.streams_open},    {"streams_cut", c.streams_cut}};
    }
    return out;
  }

  Settings settings_;
  RouteTable routes_;
  std::string openapi_;
  TokenStore tokens_;
  std::vector<std::string> dropped_;
  std::unique_ptr<RateLimiter> by_token_, by_address_;
  std::unique_ptr<SessionTable> sessions_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<EventStreams> streams_;  // sends through server_; reset before it
  Context::TimerId watch_ = 0;
  std::uint64_t calls_ = 0;
  std::int64_t call_time_us_ = 0;

  // Shared with the HTTP thread.
  mutable std::mutex inbox_mutex_;
  std::deque<HttpRequest> inbox_;
  HttpServer* http_ = nullptr;
  std::uint64_t shed_ = 0;
  Doorbell inbox_bell_;
};

NAUTO_REGISTER_MODULE(ApiModule, "api");

}  // namespace nauto::api
