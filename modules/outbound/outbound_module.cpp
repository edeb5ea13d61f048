// The outbound module: what nauto sends to other systems — HTTP requests for runbooks (and the
// AI analyses the runbook engine shapes as HTTP), and notifications to chat, webhooks and mail.
//   http.request  {method, url, headers, json | data, timeout, retry, expect_status,
//                  retry_unsafe, ca_file, sign} -> {status, headers, text, json, attempts,
//                  elapsed_ms, truncated}
//   notify.send   {channel, text, title, severity, source} -> {channel, type, status, attempts}
//   notify.channels {} -> {channels: [{name, type, target}]}
//   ai.analyze    {prompt, system, max_tokens, url, model, credential, timeout} (modules only)
//                  -> {text, model, prompt, redacted, usage}: the prompt's secrets are redacted
//                  with every platform's secret patterns (those the config archive uses) first
// Vault references (`${vault:NAME:FIELD}`, secret_refs.h) are resolved here, just before a
// request leaves, and only for credentials that `credentials:` allows to the request's host;
// the values never come back (answers and errors are redacted) and never reach a log.
// Transfers run on CurlDispatcher's thread; this module's thread only decides.

#include <memory>

#include "curl_dispatcher.h"
#include "http_call.h"
#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/drivers/platform.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"
#include "nauto/sdk/url_parts.h"
#include "nauto/sdk/webhook_signature.h"
#include "notification.h"
#include "secret_refs.h"

namespace nauto::outbound {

using nlohmann::json;

namespace {

struct Settings {
  std::string ca_file;
  std::map<std::string, std::set<std::string>> credential_hosts;  // credential -> hosts
  std::map<std::string, Channel> channels;
  std::size_t max_in_flight = 256;
  std::size_t max_body = 1 << 20;
};

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.outbound");
  s.ca_file = r.string("ca_file", "");
  s.max_in_flight = static_cast<std::size_t>(r.integer("max_in_flight", 256, 1, 100'000));
  s.max_body = static_cast<std::size_t>(r.size_bytes("max_response", 1 << 20, 1024));
  std::string problems;
  const auto credentials = r.section("credentials");
  if (credentials.is_object()) {
    for (const auto& [name, hosts] : credentials.items()) {
      if (!hosts.is_array() || hosts.empty()) {
        problems += "modules.outbound.credentials." + name +
                    ": expected the hosts it may be sent to ([hooks.slack.com])\n";
        continue;
      }
      for (const auto& host : hosts) {
        if (host.is_string())
          s.credential_hosts[name].insert(url_host("x://" + host.get<std::string>()));
      }
    }
  }
  auto channels = parse_channels(r.section("channels"));
  if (!channels)
    problems += channels.error().message + "\n";
  else
    s.channels = std::move(*channels);
  if (auto done = r.finish(); !done) problems += done.error().message + "\n";
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return s;
}

// The error a finished call ends with, in words that name the URL's origin only.
Error call_error(const HttpCall& call, const Attempt& a, int attempts,
                 const std::set<std::string>& secrets) {
  const auto origin = url_origin(call.url);
  const auto tries = attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "";
  if (a.status != 0) {
    auto start = redact_values(a.body.substr(0, 200), secrets);
    return fail(Errc::Rejected, call.method + " " + origin + ": HTTP " + std::to_string(a.status) +
                                    tries + (start.empty() ? "" : ": " + start));
  }
  const auto what = redact_values(a.error, secrets);
  if (a.tls_failure)
    return fail(Errc::Untrusted, call.method + " " + origin + ": TLS: " + what +
                                     " (the server's certificate did not verify; give ca_file for "
                                     "a private CA)");
  const bool timed_out = what.find("imed out") != std::string::npos;
  return fail(timed_out ? Errc::Timeout : Errc::Unreachable,
              call.method + " " + origin + ": " + what + tries +
                  (a.sent && !idempotent(call.method) && !call.retry_unsafe
                       ? "; it was sent, so it is not repeated (retry_unsafe: true allows it)"
                       : ""));
}

}  // namespace

class OutboundModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("outbound",
                              "HTTP requests, notifications (Slack, Teams, Mattermost, webhook, "
                              "mail) and AI calls that runbooks and rules send out",
                              {}, {});
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
    auto platforms = drivers::PlatformCatalog::load_default();
    if (!platforms) return std::move(platforms).error();
    platforms_ = std::move(*platforms);
    dispatcher_ = std::make_unique<CurlDispatcher>(settings_.max_body);
    auto watched = ctx.watch(dispatcher_->fd(), [this, &ctx] { on_finished(ctx); });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    if (watch_) ctx.unwatch(*watch_);
    watch_.reset();
    for (auto& [id, timer] : retry_timers_)
      ctx.cancel(timer);
    retry_timers_.clear();
    dispatcher_.reset();
    for (auto& [id, call] : calls_)
      call.done(fail(Errc::Cancelled, "nautod is stopping"));
    calls_.clear();
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    namespace schema = bus::schema;
    auto answer = std::make_shared<Reply>(std::move(reply));
    auto done = [answer](Result<json> result) {
      if (result)
        answer->ok_json(*result);
      else
        answer->fail(result.error());
    };
    auto body = bus::from_body(request.body);
    if (!body) return done(body.error());
    const auto who = caller_of(request.header);
    if (request.topic == schema::HttpRequestRequest::kTopic) {
      auto call = parse_http_call(*body);
      if (!call) return done(call.error());
      if (call->ca_file.empty()) call->ca_file = settings_.ca_file;
      return send(ctx, std::move(*call), "http.request by " + who, std::move(done));
    }
    if (request.topic == schema::NotifySendRequest::kTopic)
      return notify(ctx, request, who, std::move(done));
    if (request.topic == schema::AiAnalyzeRequest::kTopic)
      return analyze(ctx, request, std::move(done));
    if (request.topic == schema::NotifyChannelsRequest::kTopic) {
      json channels = json::array();
      for (const auto& [name, c] : settings_.channels) {
        channels.push_back(
            {{"name", name},
             {"type", c.type},
             {"target", c.type == "email" ? url_origin(c.server) : url_origin(c.url)}});
      }
      return done(json{{"channels", channels}});
    }
    done(fail(Errc::NotFound, "no service " + request.topic + " here"));
  }

 private:
  struct Call {
    HttpCall http;
    Transfer transfer;  // secrets in place
    std::set<std::string> secrets;
    int attempt = 0;
    std::int64_t last_delay_ms = 0;
    std::int64_t started_us = 0;
    std::function<void(Result<json>)> done;
  };

  // Resolves the call's vault references (refusing credentials not allowed to its host), then
  // sends it.
  void send(Context& ctx, HttpCall call, const std::string& purpose,
            std::function<void(Result<json>)> done, bool trusted = false) {
    if (calls_.size() >= settings_.max_in_flight) {
      return done(fail(Errc::Overloaded, "too many outgoing requests in flight (max_in_flight " +
                                             std::to_string(settings_.max_in_flight) + ")"));
    }
    std::set<std::string> names = referenced_credentials(call.url);
    for (const auto& [name, value] : call.headers)
      names.merge(referenced_credentials(value));
    names.merge(referenced_credentials(call.body));
    if (!call.sign_credential.empty()) names.insert(call.sign_credential);
    if (names.empty()) return dispatch(std::move(call), {}, std::move(done));
    json list = json::array();
    for (const auto& n : names)
      list.push_back(n);
    ctx.request(
        bus::schema::VaultResolveRequest::kTopic,
        bus::to_body({{"names", list}, {"purpose", purpose + " to " + url_origin(call.url)}}),
        10'000,
        [this, call = std::move(call), names, trusted,
         done = std::move(done)](Result<std::string> reply) mutable {
          auto body = bus::from_reply(reply);
          if (!body) return done(std::move(body).error());
          std::map<std::string, json> resolved;
          for (const auto& n : names)
            resolved[n] = (*body)["credentials"].value(n, json::object());
          auto url = substitute_secrets(call.url, resolved);
          if (!url) return done(std::move(url).error());
          // A credential goes only to the hosts it is allowed to (the final URL's host, after
          // its own references are filled in); configured channels are trusted as configured.
          const auto host = url_host(*url);
          for (const auto& n : names) {
            const auto allowed = settings_.credential_hosts.find(n);
            if (!trusted &&
                (allowed == settings_.credential_hosts.end() || !allowed->second.count(host))) {
              return done(
                  fail(Errc::PermissionDenied, "vault credential '" + n + "' may not be sent to " +
                                                   (host.empty() ? "this URL" : "'" + host + "'") +
                                                   " (allow it in modules.outbound.credentials: {" +
                                                   n + ": [" + host + "]})"));
            }
          }
          call.url = std::move(*url);
          for (auto& [name, value] : call.headers) {
            auto filled = substitute_secrets(value, resolved);
            if (!filled) return done(std::move(filled).error());
            value = std::move(*filled);
          }
          auto filled = substitute_secrets(call.body, resolved);
          if (!filled) return done(std::move(filled).error());
          call.body = std::move(*filled);
          dispatch(std::move(call), resolved, std::move(done));
        });
  }

  void dispatch(HttpCall http, const std::map<std::string, json>& resolved,
                std::function<void(Result<json>)> done) {
    Call call;
    call.secrets = secret_values(resolved);
    call.transfer.kind = Transfer::Kind::Http;
    call.transfer.method = http.method;
    call.transfer.url = http.url;
    call.transfer.body = http.body;
    call.transfer.timeout_ms = http.timeout_ms;
    call.transfer.ca_file = http.ca_file;
    for (const auto& [name, value] : http.headers)
      call.transfer.headers.push_back(name + ": " + value);
    if (!http.sign_credential.empty()) {
      const auto key = resolved.count(http.sign_credential)
                           ? resolved.at(http.sign_credential).value("password", "")
                           : std::string();
      if (key.empty()) {
        return done(fail(Errc::NotFound, "vault credential '" + http.sign_credential +
                                             "' has no password to sign with"));
      }
      if (http.sign_scheme == "nauto") {
        auto headers = webhook_signature_headers(key, http.body, now_us() / 1'000'000);
        if (!headers) return done(std::move(headers).error());
        for (auto& h : *headers)
          call.transfer.headers.push_back(std::move(h));
      } else {
        call.transfer.headers.push_back(http.sign_header +
                                        ": sha256=" + hmac_sha256_hex(key, http.body));
      }
    }
    call.http = std::move(http);
    call.done = std::move(done);
    launch(std::move(call));
  }

  // Tracks a call whose transfer is ready and sends its first attempt.
  void launch(Call call) {
    const auto id = ++next_id_;
    call.transfer.id = id;
    call.attempt = 1;
    call.started_us = now_us();
    auto transfer = call.transfer;
    calls_.emplace(id, std::move(call));
    dispatcher_->submit(std::move(transfer));
  }

  void on_finished(Context& ctx) {
    for (auto& finished : dispatcher_->take()) {
      const auto it = calls_.find(finished.id);
      if (it == calls_.end()) continue;
      auto& call = it->second;
      const auto& a = finished.attempt;
      if (const auto delay = retry_after(call.http, a, call.attempt, call.last_delay_ms)) {
        ctx.log().info(
            "{} {}: attempt {} failed ({}); again in {} ms", call.http.method,
            url_origin(call.http.url), call.attempt,
            a.status ? "HTTP " + std::to_string(a.status) : redact_values(a.error, call.secrets),
            *delay);
        call.last_delay_ms = *delay;
        ++call.attempt;
        const auto id = finished.id;
        retry_timers_[id] = ctx.after(std::chrono::milliseconds(*delay), [this, id] {
          retry_timers_.erase(id);
          const auto again = calls_.find(id);
          if (again != calls_.end()) dispatcher_->submit(again->second.transfer);
        });
        continue;
      }
      auto done = std::move(call.done);
      const auto attempts = call.attempt;
      if (a.status != 0 && expected_status(call.http, a.status)) {
        json out{{"status", a.status},
                 {"attempts", attempts},
                 {"elapsed_ms", (now_us() - call.started_us) / 1000},
                 {"truncated", a.truncated}};
        json headers = json::object();
        for (const auto& [name, value] : a.headers)
          headers[name] = redact_values(value, call.secrets);
        out["headers"] = headers;
        auto text = redact_values(a.body, call.secrets);
        const auto type = a.headers.count("content-type") ? a.headers.at("content-type") : "";
        if (type.find("json") != std::string::npos) {
          auto parsed = json::parse(text, nullptr, false);
          if (!parsed.is_discarded()) out["json"] = std::move(parsed);
        }
        out["text"] = std::move(text);
        calls_.erase(it);
        done(std::move(out));
      } else {
        auto error = call_error(call.http, a, attempts, call.secrets);
        ctx.log().warn("{}", error.message);
        calls_.erase(it);
        done(std::move(error));
      }
    }
  }

  // The secrets a device's output may hold (passwords, hashes, communities, keys), as the
  // config archive redacts them, for every platform: a prompt names no platform.
  std::string redact_prompt(std::string text, std::size_t& replaced) const {
    for (const auto& name : platforms_.names()) {
      auto platform = platforms_.find(name);
      if (!platform) continue;
      std::size_t n = 0;
      text = drivers::redact_secrets(text, **platform, &n);
      replaced += n;
    }
    return text;
  }

  void analyze(Context& ctx, const bus::Envelope& request, std::function<void(Result<json>)> done) {
    auto args = bus::schema::decode_body<bus::schema::AiAnalyzeRequest>(request.body);
    if (!args) return done(std::move(args).error());
    std::size_t redacted = 0;
    auto prompt = redact_prompt(args->prompt, redacted);
    const auto system =
        args->system.empty()
            ? std::string("You are an experienced network engineer. Answer briefly and plainly.")
            : args->system;
    json chat{{"messages", json::array({{{"role", "system"}, {"content", system}},
                                        {{"role", "user"}, {"content", prompt}}})},
              {"max_tokens", args->max_tokens}};
    if (!args->model.empty()) chat["model"] = args->model;
    HttpCall call;
    call.method = "POST";
    call.url = args->url;
    if (call.url.rfind("http://", 0) != 0 && call.url.rfind("https://", 0) != 0)
      return done(fail(Errc::InvalidArgument, "url: expected an http:// or https:// endpoint",
                       "ai.analyze"));
    call.headers.emplace_back("Content-Type", "application/json");
    if (!args->credential.empty())
      call.headers.emplace_back("Authorization",
                                "Bearer ${vault:" + args->credential + ":password}");
    call.body = chat.dump(-1, ' ', false, json::error_handler_t::replace);
    call.timeout_ms = static_cast<std::int64_t>(std::clamp(args->timeout, 1.0, 600.0) * 1000);
    call.attempts = 2;
    call.retry_unsafe = true;  // a question changes nothing: asking again is safe
    call.ca_file = settings_.ca_file;
    // The provider comes from a module's configuration (access: module), so its credential is
    // trusted for its URL as configured.
    send(
        ctx, std::move(call), "ai.analyze for " + caller_of(request.header),
        [done = std::move(done), prompt, redacted](Result<json> sent) {
          if (!sent) return done(std::move(sent).error());
          const auto& answer = (*sent).contains("json") ? (*sent)["json"] : json();
          const auto choices =
              answer.is_object() ? answer.value("choices", json::array()) : json::array();
          if (!choices.is_array() || choices.empty() || !choices[0].is_object() ||
              !choices[0].contains("message") || !choices[0]["message"].is_object() ||
              !choices[0]["message"].value("content", json()).is_string()) {
            return done(fail(Errc::Malformed,
                             "the AI endpoint's answer has no choices[0].message.content (is it "
                             "OpenAI-compatible?)"));
          }
          done(json{{"text", choices[0]["message"]["content"]},
                    {"model", answer.value("model", "")},
                    {"prompt", prompt},
                    {"redacted", redacted},
                    {"usage", answer.value("usage", json::object())}});
        },
        true);
  }

  void notify(Context& ctx, const bus::Envelope& request, const std::string& who,
              std::function<void(Result<json>)> done) {
    auto args = bus::schema::decode_body<bus::schema::NotifySendRequest>(request.body);
    if (!args) return done(std::move(args).error());
    const auto it = settings_.channels.find(args->channel);
    if (it == settings_.channels.end()) {
      std::string names;
      for (const auto& [name, c] : settings_.channels)
        names += (names.empty() ? "" : ", ") + name;
      return done(
          fail(Errc::NotFound, "no notification channel '" + args->channel + "' (" +
                                   (names.empty() ? "none configured in modules.outbound.channels"
                                                  : "channels: " + names) +
                                   ")"));
    }
    const auto& channel = it->second;
    Message message{args->text, args->title, args->severity,
                    args->source.empty() ? who : args->source};
    const auto reply = [done = std::move(done), channel](Result<json> sent) {
      if (!sent) return done(std::move(sent).error());
      done(json{{"channel", channel.name},
                {"type", channel.type},
                {"status", (*sent).value("status", 0)},
                {"attempts", (*sent).value("attempts", 1)}});
    };
    if (channel.type == "email") return mail(ctx, channel, message, reply);
    HttpCall call;
    call.method = "POST";
    call.url = channel.url;
    call.headers.emplace_back("Content-Type", "application/json");
    call.body = chat_payload(channel, message).dump(-1, ' ', false, json::error_handler_t::replace);
    call.timeout_ms = channel.timeout_ms;
    call.ca_file = channel.ca_file.empty() ? settings_.ca_file : channel.ca_file;
    if (!channel.sign.empty()) call.sign_credential = channel.sign;
    send(ctx, std::move(call), "notify " + channel.name + " by " + who, reply, true);
  }

  void mail(Context& ctx, const Channel& channel, const Message& message,
            std::function<void(Result<json>)> done) {
    Transfer t;
    t.kind = Transfer::Kind::Smtp;
    t.url = channel.server;
    t.mail_from = "<" + channel.from + ">";
    for (const auto& to : channel.to)
      t.mail_to.push_back("<" + to + ">");
    t.timeout_ms = channel.timeout_ms;
    t.ca_file = channel.ca_file.empty() ? settings_.ca_file : channel.ca_file;
    t.require_tls = channel.require_tls;
    auto id = random_hex(16);
    t.body = mail_text(channel, message, now_us() / 1'000'000,
                       (id ? *id : std::to_string(now_us())) + "@" +
                           channel.from.substr(channel.from.find('@') + 1));
    HttpCall plan;  // the retry rules: mail is never repeated once sent
    plan.method = "POST";
    plan.url = channel.server;
    plan.timeout_ms = channel.timeout_ms;
    plan.expect_status = {250};
    if (channel.credential.empty())
      return dispatch_mail(std::move(plan), std::move(t), {}, std::move(done));
    ctx.request(
        bus::schema::VaultResolveRequest::kTopic,
        bus::to_body({{"names", json::array({channel.credential})},
                      {"purpose", "mail to notification channel " + channel.name}}),
        10'000,
        [this, plan = std::move(plan), t = std::move(t), credential = channel.credential,
         done = std::move(done)](Result<std::string> reply) mutable {
          auto body = bus::from_reply(reply);
          if (!body) return done(std::move(body).error());
          const auto fields = (*body)["credentials"].value(credential, json::object());
          t.username = fields.value("username", "");
          t.password = fields.value("password", "");
          dispatch_mail(std::move(plan), std::move(t), {{credential, fields}}, std::move(done));
        });
  }

  void dispatch_mail(HttpCall plan, Transfer transfer, const std::map<std::string, json>& resolved,
                     std::function<void(Result<json>)> done) {
    Call call;
    call.http = std::move(plan);
    call.secrets = secret_values(resolved);
    call.done = std::move(done);
    call.transfer = std::move(transfer);
    launch(std::move(call));
  }

  Settings settings_;
  drivers::PlatformCatalog platforms_;
  std::unique_ptr<CurlDispatcher> dispatcher_;
  std::optional<Context::TimerId> watch_;
  std::map<std::uint64_t, Call> calls_;
  std::map<std::uint64_t, Context::TimerId> retry_timers_;
  std::uint64_t next_id_ = 0;
};

NAUTO_REGISTER_MODULE(OutboundModule, "outbound");

}  // namespace nauto::outbound
