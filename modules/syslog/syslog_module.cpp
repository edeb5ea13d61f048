// The syslog module: receives syslog over UDP and TCP (RFC 5424 and RFC 3164, octet-counted or
// newline-framed, IPv4 and IPv6), finds the sending device in the inventory, recognises known
// messages (MessageClassifier) and publishes each as the event `device.<name>.<kind>`:
//   {device, known, address, hostname, facility, severity, program, procid, msgid, message,
//    kind, rule, fields, timestamp, format, received_us[, structured_data]}
// Unknown senders publish as `device._unknown.<kind>` with known=false.
// Serves syslog.stats -> {counters, listener, listening, devices}.
// A flood is shed, never queued without bound: per-source token buckets, a bounded batch per
// wake-up, the bus's own high-water mark; the kernel's receive-buffer drops are read back.
// Malformed input is counted and logged (at most once a second, with a sample).

#include <msgpack.hpp>
#include <set>

#include "message_classifier.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_directory.h"
#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/registry.h"
#include "syslog_listener.h"
#include "syslog_message.h"

namespace nauto::syslog {

using nlohmann::json;

namespace {

struct Settings {
  std::vector<ListenEndpoint> listen;
  ListenerLimits limits;
  double rate_per_source = 0;
  double burst_per_source = 0;
  std::vector<MessageRuleSpec> message_rules;
  std::int64_t inventory_refresh_ms = 30'000;
  /// Relays (collectors that forward for many devices): only from these addresses does the
  /// message's HOSTNAME name the device; from anywhere else the source address does, so a
  /// spoofed UDP packet cannot speak for a device it does not come from.
  std::set<std::string> trust_hostname_from;
};

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.syslog");
  auto listen = r.strings("listen");
  if (!config.is_object() || !config.contains("listen")) listen = {"udp://127.0.0.1:5514"};
  s.limits.max_message_bytes = r.size_bytes("max_message_size", 8192, 480);
  s.limits.max_connections =
      static_cast<std::size_t>(r.integer("max_connections", 256, 1, 100'000));
  s.limits.receive_buffer_bytes = r.size_bytes("receive_buffer", 4u << 20, 65536);
  s.limits.idle_timeout_ms = r.duration_ms("tcp_idle_timeout", 300'000, 100);
  s.rate_per_source = static_cast<double>(r.integer("rate_per_source", 0, 0, 100'000'000));
  s.burst_per_source = static_cast<double>(r.integer(
      "burst_per_source", static_cast<std::int64_t>(s.rate_per_source) * 2, 0, 1'000'000'000));
  s.inventory_refresh_ms = r.duration_ms("inventory_refresh", 30'000, 1000);
  s.trust_hostname_from = r.addresses("trust_hostname_from");
  auto rules = r.section("message_rules");
  if (auto done = r.finish(); !done) return std::move(done).error();
  std::string problems;
  for (const auto& text : listen) {
    auto endpoint = parse_endpoint(text);
    if (!endpoint)
      problems += "modules.syslog.listen: " + endpoint.error().message + "\n";
    else
      s.listen.push_back(*endpoint);
  }
  if (s.listen.empty() && problems.empty())
    problems += "modules.syslog.listen: give at least one endpoint (udp://0.0.0.0:514)\n";
  auto specs = MessageClassifier::read_specs(rules, "modules.syslog.message_rules");
  if (!specs)
    problems += specs.error().message + "\n";
  else
    s.message_rules = std::move(*specs);
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return s;
}

// msgpack's packer writes to any stream with write(); this one appends to the body itself.
struct AppendTo {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};

// The event body, packed straight to msgpack: at tens of thousands of messages a second,
// building a JSON document first and converting it was the ingest thread's largest cost.
std::string event_body(const SyslogMessage& message, const Classification& classification,
                       const std::string& device, const std::string& address,
                       std::int64_t received_us) {
  std::string body;
  body.reserve(256 + message.text.size());
  AppendTo buffer{body};
  msgpack::packer<AppendTo> pack(buffer);
  const bool structured = !message.structured_data.empty();
  pack.pack_map(17 + (structured ? 1 : 0));
  auto str = [&](std::string_view value) {
    pack.pack_str(static_cast<std::uint32_t>(value.size()));
    pack.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
  };
  auto text = [&](std::string_view key, std::string_view value) {
    str(key);
    str(value);
  };
  text("device", device);
  str("known");
  pack.pack(!device.empty());
  text("address", address);
  text("hostname", message.hostname);
  text("facility", facility_name(message.facility));
  str("severity");
  pack.pack(message.severity);
  text("severity_name", severity_name(message.severity));
  text("program", message.program);
  text("procid", message.procid);
  text("msgid", message.msgid);
  text("message", message.text);
  text("kind", classification.kind);
  text("rule", classification.rule);
  str("fields");
  // Fields are captures (strings) and the rule's constant `set` values (JSON scalars).
  if (classification.fields.empty())
    pack.pack_map(0);
  else
    json::to_msgpack(classification.fields, body);
  text("timestamp", message.timestamp);
  text("format", message.rfc5424 ? "rfc5424" : "rfc3164");
  str("received_us");
  pack.pack(received_us);
  if (structured) {
    str("structured_data");
    pack.pack_map(static_cast<std::uint32_t>(message.structured_data.size()));
    for (const auto& element : message.structured_data) {
      str(element.id);
      pack.pack_map(static_cast<std::uint32_t>(element.params.size()));
      for (const auto& [name, value] : element.params) {
        text(name, value);
      }
    }
  }
  return body;
}

}  // namespace

class SyslogModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "syslog", "syslog receiver (UDP/TCP, RFC 5424/3164) publishing device.<name>.<kind> events",
        {}, {});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    auto classifier = MessageClassifier::create(s->message_rules);
    if (!classifier) return std::move(classifier).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    auto classifier = MessageClassifier::create(settings_.message_rules);
    if (!classifier) return std::move(classifier).error();
    classifier_ = std::make_unique<MessageClassifier>(std::move(*classifier));
    limiter_ =
        std::make_unique<SourceRateLimiter>(settings_.rate_per_source, settings_.burst_per_source);
    auto listener = SyslogListener::open(
        settings_.listen, settings_.limits,
        [this, &ctx](std::string_view raw, const std::string& address, std::int64_t received_us) {
          handle(ctx, raw, address, received_us);
        });
    if (!listener) return std::move(listener).error();
    listener_ = std::move(*listener);
    auto watched = ctx.watch(listener_->fd(), [this, &ctx] {
      listener_->on_readable();
      publish_pending(ctx);
    });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    for (const auto& endpoint : listener_->bound())
      ctx.log().info("listening on {}", endpoint);
    directory_.keep_current(ctx, std::chrono::milliseconds(settings_.inventory_refresh_ms));
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    if (watch_) ctx.unwatch(watch_);
    listener_.reset();
  }

  void on_request(const bus::Envelope& request, Context&, Reply reply) override {
    if (request.topic != bus::schema::SyslogStatsRequest::kTopic)
      return reply.fail(Error{Errc::Unsupported, "unknown service " + request.topic, "syslog"});
    const auto& l = listener_->counters();
    reply.ok_json({{"counters", counters_.to_json()},
                   {"listener",
                    {{"udp_datagrams", l.udp_datagrams},
                     {"tcp_messages", l.tcp_messages},
                     {"kernel_dropped", l.kernel_dropped},
                     {"connections_accepted", l.connections_accepted},
                     {"connections_refused", l.connections_refused},
                     {"connections_open", listener_->open_connections()},
                     {"tcp_truncated", l.tcp_truncated},
                     {"tcp_broken", l.tcp_broken},
                     {"connections_idle_closed", l.connections_idle_closed},
                     {"connections_evicted", l.connections_evicted}}},
                   {"listening", listener_->bound()},
                   {"devices", directory_.size()},
                   {"message_rules", classifier_->size()}});
  }

 private:
  void handle(Context& ctx, std::string_view raw, const std::string& address,
              std::int64_t received_us) {
    ++counters_.received;
    if (!limiter_->admit(address, received_us)) {
      ++counters_.rate_limited;
      if (rate_warning_.allow(received_us))
        ctx.log().warn("shedding syslog from {}: over rate_per_source {} msg/s ({} shed so far)",
                       address, settings_.rate_per_source, counters_.rate_limited);
      return;
    }
    auto parsed = parse_syslog(raw);
    if (!parsed) {
      ++counters_.malformed;
      if (malformed_warning_.allow(received_us)) {
        auto sample = text::to_valid_utf8(raw.substr(0, 120));
        ctx.log().warn("malformed syslog from {} ({} so far): {}; starts: {:?}", address,
                       counters_.malformed, parsed.error().message, sample);
      }
      return;
    }
    const auto& message = *parsed;
    auto classification = classifier_->classify(message.text);
    if (!classification.rule.empty()) ++counters_.classified;
    const bool relayed = settings_.trust_hostname_from.contains(address);
    auto device = directory_.resolve(relayed ? message.hostname : std::string(), address);
    if (device.empty()) {
      ++counters_.unresolved;
      directory_.refresh_after_miss(ctx, received_us);
    }
    pending_.push_back({device_event_topic(device, classification.kind),
                        event_body(message, classification, device, address, received_us),
                        received_us});
    if (pending_.size() >= kPublishBatch) publish_pending(ctx);
  }

  // Messages are parsed a few at a time and then published back to back: the router takes them
  // in one wake-up of its own instead of one per message (each wake-up is a system call and a
  // context switch on both sides, a large share of ingest's cost under load). At most
  // kPublishBatch wait, so the first of them is held back by tens of microseconds, not by a
  // whole wake-up's budget of 2,048.
  void publish_pending(Context& ctx) {
    for (auto& event : pending_) {
      if (auto sent = ctx.publish(std::move(event.topic), std::move(event.body)); !sent) {
        ++counters_.shed;
        if (shed_warning_.allow(event.received_us))
          ctx.log().warn("shedding syslog: the bus would not take more ({}; {} shed so far)",
                         sent.error().message, counters_.shed);
        continue;
      }
      ++counters_.published;
    }
    pending_.clear();
  }

  struct PendingEvent {
    std::string topic, body;
    std::int64_t received_us;
  };
  static constexpr std::size_t kPublishBatch = 16;
  std::vector<PendingEvent> pending_;

  Settings settings_;
  std::unique_ptr<MessageClassifier> classifier_;
  std::unique_ptr<SourceRateLimiter> limiter_;
  std::unique_ptr<SyslogListener> listener_;
  Context::TimerId watch_ = 0;
  DeviceDirectory directory_;
  IngestCounters counters_;
  WarningThrottle rate_warning_, malformed_warning_, shed_warning_;
};

NAUTO_REGISTER_MODULE(SyslogModule, "syslog");

}  // namespace nauto::syslog
