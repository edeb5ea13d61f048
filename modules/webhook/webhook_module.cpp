// The webhook module: receives events over HTTP — POST /hooks/<hook>, a JSON body signed with
// the hook's shared secret (HMAC-SHA-256, X-Nauto-Signature: sha256=<hex>) — and publishes each
// as `device.<name>.<kind>` with the same fields as a syslog event:
//   {device, known, address, hostname, facility: "webhook", severity, severity_name, program:
//    <hook>, message, kind, rule: "", fields, timestamp, format: "webhook", received_us,
//    hook, peer, payload}
// Each hook's secret is a vault credential's password (vault.resolve, re-read every
// `secret_refresh` so a rotated secret takes effect without a restart); it never appears in a
// log, an error or an event. Serves webhook.stats.

#include <set>

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_directory.h"
#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/registry.h"
#include "webhook_server.h"

namespace nauto::webhook {

using nlohmann::json;

namespace {

struct Settings {
  ServerOptions server;
  std::map<std::string, std::string> hooks;  // hook -> vault credential
  std::set<std::string> trust_device_from;   // relays whose body may name the device
  std::int64_t secret_refresh_ms = 300'000;
  std::int64_t inventory_refresh_ms = 30'000;
};

bool valid_hook_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.webhook");
  const auto listen = r.string("listen", "127.0.0.1:8089");
  s.server.max_body = r.size_bytes("max_body", 65536, 1024);
  s.server.queue = static_cast<std::size_t>(r.integer("queue", 4096, 1, 1'000'000));
  s.server.max_connections =
      static_cast<std::size_t>(r.integer("max_connections", 256, 1, 100'000));
  s.server.per_address_connections =
      static_cast<std::size_t>(r.integer("per_address_connections", 16, 1, 100'000));
  s.server.request_timeout_ms = r.duration_ms("request_timeout", 10'000, 100);
  s.server.idle_timeout_s = static_cast<int>(r.duration_ms("idle_timeout", 5000, 1000) / 1000);
  s.server.replay_window_s = r.duration_ms("replay_window", 300'000, 1000) / 1000;
  s.server.max_nonces = static_cast<std::size_t>(r.integer("max_nonces", 100'000, 1, 10'000'000));
  s.trust_device_from = r.addresses("trust_device_from");
  s.secret_refresh_ms = r.duration_ms("secret_refresh", 300'000, 1000);
  s.inventory_refresh_ms = r.duration_ms("inventory_refresh", 30'000, 1000);
  const auto hooks = r.section("hooks");
  if (auto done = r.finish(); !done) return std::move(done).error();
  std::string problems;
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  if (colon != std::string::npos) {
    try {
      std::size_t used = 0;
      port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (host.empty() || port < 0 || port > 65535)
    problems += "modules.webhook.listen: '" + listen +
                "' is not ADDRESS:PORT (127.0.0.1:8089, [::1]:8089, 0.0.0.0:8089)\n";
  s.server.host = host;
  s.server.port = static_cast<std::uint16_t>(port < 0 ? 0 : port);
  if (!hooks.is_object() || hooks.empty()) {
    problems +=
        "modules.webhook.hooks: name at least one hook and its secret's vault credential "
        "(hooks: {monitoring: {credential: webhook-monitoring}})\n";
  } else {
    for (const auto& [name, hook] : hooks.items()) {
      const auto where = "modules.webhook.hooks." + name;
      if (!valid_hook_name(name)) {
        problems += where +
                    ": a hook name is letters, digits, '_', '-' and '.' (it is a URL "
                    "path segment)\n";
        continue;
      }
      ConfigReader h(hook, where);
      const auto credential = h.string("credential", "");
      if (auto done = h.finish(); !done) problems += done.error().message + "\n";
      if (credential.empty())
        problems += where +
                    ".credential: name the vault credential whose password is the "
                    "hook's shared secret\n";
      s.hooks[name] = credential;
    }
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return s;
}

}  // namespace

class WebhookModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "webhook",
        "HTTP webhook receiver (HMAC-signed JSON) publishing device.<name>.<kind> events", {}, {});
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
    std::vector<std::string> hooks;
    for (const auto& [name, credential] : settings_.hooks)
      hooks.push_back(name);
    auto server = WebhookServer::start(settings_.server, hooks);
    if (!server) return fail(server.error().code, server.error().message, "modules.webhook");
    server_ = std::move(*server);
    auto watched = ctx.watch(server_->fd(), [this, &ctx] { publish_waiting(ctx); });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    ctx.log().info("listening on http://{}/hooks/ ({})", server_->address(),
                   fmt::join(hooks, ", "));
    resolve_secrets(ctx);
    ctx.every(std::chrono::milliseconds(settings_.secret_refresh_ms),
              [this, &ctx] { resolve_secrets(ctx); });
    directory_.keep_current(ctx, std::chrono::milliseconds(settings_.inventory_refresh_ms));
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    if (watch_) ctx.unwatch(watch_);
    server_.reset();
  }

  void on_request(const bus::Envelope& request, Context&, Reply reply) override {
    if (request.topic != bus::schema::WebhookStatsRequest::kTopic)
      return reply.fail(Error{Errc::Unsupported, "unknown service " + request.topic, "webhook"});
    const auto c = server_->counters();
    auto counters = counters_.to_json();
    // The HTTP threads' view of the same requests: what was refused before the module saw it.
    counters["received"] = c.requests;
    counters["malformed"] = c.malformed + c.too_large;
    counters["rejected"] = c.rejected;
    counters["shed"] = c.shed + counters_.shed;
    reply.ok_json({{"counters", counters},
                   {"http",
                    {{"requests", c.requests},
                     {"accepted", c.accepted},
                     {"rejected", c.rejected},
                     {"malformed", c.malformed},
                     {"replayed", c.replayed},
                     {"too_large", c.too_large},
                     {"unknown_hook", c.unknown_hook},
                     {"not_ready", c.not_ready},
                     {"shed", c.shed},
                     {"connections", c.connections},
                     {"connections_refused", c.refused},
                     {"connections_timed_out", c.timed_out}}},
                   {"listening", server_->address()},
                   {"hooks_ready", hooks_ready_},
                   {"devices", directory_.size()}});
  }

 private:
  void publish_waiting(Context& ctx) {
    for (auto& delivery : server_->take())
      publish(ctx, delivery);
  }

  void publish(Context& ctx, Delivery& delivery) {
    auto& event = delivery.event;
    // The device is the sender unless the sender is a relay (a monitoring system) the
    // configuration trusts to name it: a body's claim alone never steers a runbook to a device.
    const bool relayed = settings_.trust_device_from.contains(delivery.peer);
    std::string device;
    if (!relayed)
      device = directory_.resolve("", delivery.peer);
    else if (!event.device.empty() && directory_.contains(event.device))
      device = event.device;
    else
      device = directory_.resolve(event.device.empty() ? event.host : event.device, event.host);
    if (device.empty()) {
      ++counters_.unresolved;
      directory_.refresh_after_miss(ctx, delivery.received_us);
    }
    if (event.kind != "webhook") ++counters_.classified;
    json body = {{"device", device},
                 {"known", !device.empty()},
                 {"address", relayed ? event.host : delivery.peer},
                 {"hostname", event.device.empty() ? event.host : event.device},
                 {"facility", "webhook"},
                 {"severity", event.severity},
                 {"severity_name", severity_name(event.severity)},
                 {"program", delivery.hook},
                 {"procid", ""},
                 {"msgid", ""},
                 {"message", event.message},
                 {"kind", event.kind},
                 {"rule", ""},
                 {"fields", std::move(event.fields)},
                 {"timestamp", event.timestamp},
                 {"format", "webhook"},
                 {"received_us", delivery.received_us},
                 {"hook", delivery.hook},
                 {"peer", delivery.peer},
                 {"payload", std::move(event.payload)}};
    if (auto sent = ctx.publish(device_event_topic(device, event.kind), bus::to_body(body));
        !sent) {
      ++counters_.shed;
      if (shed_warning_.allow(now_us()))
        ctx.log().warn("shedding webhook events: the bus would not take more ({}; {} so far)",
                       sent.error().message, counters_.shed);
      return;
    }
    ++counters_.published;
  }

  void resolve_secrets(Context& ctx) {
    json names = json::array();
    for (const auto& [hook, credential] : settings_.hooks)
      names.push_back(credential);
    ctx.request(
        bus::schema::VaultResolveRequest::kTopic,
        bus::to_body({{"names", names}, {"purpose", "webhook signature check"}}), 5000,
        [this, &ctx](Result<std::string> reply) {
          auto body = bus::from_reply(reply);
          if (!body) {
            ctx.log().warn("webhook secrets not read from the vault: {}; retrying in 2 s",
                           body.error().message);
            ctx.after(std::chrono::milliseconds(2000), [this, &ctx] { resolve_secrets(ctx); });
            return;
          }
          std::size_t ready = 0;
          for (const auto& [hook, credential] : settings_.hooks) {
            const auto secret =
                (*body)["credentials"].value(credential, json::object()).value("password", "");
            if (secret.empty()) {
              ctx.log().warn(
                  "hook '{}': vault credential '{}' has no password; the hook "
                  "answers 503 until it has one",
                  hook, credential);
              continue;
            }
            server_->set_secret(hook, secret);
            ++ready;
          }
          hooks_ready_ = ready;
        });
  }

  Settings settings_;
  std::unique_ptr<WebhookServer> server_;
  Context::TimerId watch_ = 0;
  DeviceDirectory directory_;
  IngestCounters counters_;
  WarningThrottle shed_warning_;
  std::size_t hooks_ready_ = 0;
};

NAUTO_REGISTER_MODULE(WebhookModule, "webhook");

}  // namespace nauto::webhook
