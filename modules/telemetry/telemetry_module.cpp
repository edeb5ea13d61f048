// The telemetry module: SNMP polls of the inventory's devices on their groups' intervals, the
// answers turned into samples (counters into rates), kept in the store, judged by thresholds
// and served to Prometheus with nauto's own metrics. Reference: modules/telemetry/README.md.
#include <algorithm>
#include <set>

#include "cli_metrics.h"
#include "counter_tracker.h"
#include "exposition.h"
#include "metrics_server.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"
#include "nauto/text/textfsm/template_library.h"
#include "poll_schedule.h"
#include "sample_store.h"
#include "self_metrics.h"
#include "snmp_poller.h"
#include "telemetry_config.h"
#include "thresholds.h"

namespace nauto::mod::telemetry {

using json = nlohmann::json;
using namespace nauto::telemetry;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kHourMs = 3600'000;

const char* kind_name(Threshold::Kind kind) {
  switch (kind) {
    case Threshold::Kind::Above:
      return "above";
    case Threshold::Kind::Below:
      return "below";
    case Threshold::Kind::ChangeAbove:
      return "change_above";
    case Threshold::Kind::ChangeBelow:
      return "change_below";
    case Threshold::Kind::Absent:
      return "absent";
  }
  return "above";
}

/// One timer re-armed for the earliest of what it waits for (polls due, SNMP deadlines).
class WakeTimer {
 public:
  void arm(Context& ctx, std::int64_t at_steady_us, std::function<void()> fn) {
    if (at_steady_us <= 0) return;
    if (id_ && at_ <= at_steady_us) return;  // already due earlier
    if (id_) ctx.cancel(id_);
    at_ = at_steady_us;
    const auto delay_ms = std::max<std::int64_t>(0, (at_steady_us - steady_us() + 999) / 1000);
    id_ = ctx.after(std::chrono::milliseconds(delay_ms), [this, fn = std::move(fn)] {
      id_ = 0;
      at_ = 0;
      fn();
    });
  }
  void cancel(Context& ctx) {
    if (id_) ctx.cancel(id_);
    id_ = 0;
  }

 private:
  Context::TimerId id_ = 0;
  std::int64_t at_ = 0;
};

/// How a target's polls went: what the targets service shows of SNMP and CLI targets alike.
struct PollHistory {
  std::string state = "pending";
  std::string error;
  std::int64_t last_poll_ms = 0;
  std::int64_t duration_ms = 0;
  std::uint64_t polls = 0, failures = 0, overruns = 0;

  json to_json() const {
    return {{"state", state},
            {"error", error},
            {"last_poll_ms", last_poll_ms},
            {"duration_ms", duration_ms},
            {"polls", polls},
            {"failures", failures},
            {"overruns", overruns}};
  }
};

/// What a device's SNMP polls have come to.
struct TargetState : PollHistory {
  std::string group;
  SnmpTarget target;
  Labels device_labels;  // site, role
  std::string problem;   // why it cannot be polled (no credential); "" when it can
  std::uint64_t timeouts = 0, missing = 0, wrong_types = 0;
  std::optional<std::uint64_t> uptime_ticks;
};

/// A show command polled on one device.
struct CliTarget : PollHistory {
  std::string device;
  std::size_t group = 0;  // index into settings.cli
  Labels device_labels;
  bool in_flight = false;
  std::int64_t started_us = 0;
  std::uint64_t skipped = 0;
};

/// The latest value of a series, for the exposition.
struct Exposed {
  SeriesKey key;
  MetricKind kind = MetricKind::Gauge;
  double value = 0;  // gauges: the value; counters: the monotonic total
  std::int64_t time_ms = 0;
};

}  // namespace

class TelemetryModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("telemetry", "SNMP polling, thresholds and Prometheus metrics",
                              {schema::JobFinishedEvent::kTopic, schema::RunFinishedEvent::kTopic,
                               schema::RunStepEvent::kTopic},
                              SampleStore::tables());
  }

  Result<void> validate(const json& config) const override {
    auto s = read_telemetry_settings(config);
    if (!s) return std::move(s).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    ctx_ = &ctx;
    auto s = read_telemetry_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    if (!ctx.store())
      return fail(Errc::Unsupported, "the telemetry module needs the store: run it in-process",
                  "modules.telemetry");
    samples_ = std::make_unique<SampleStore>(*ctx.store(), settings_.retention);
    if (auto loaded = samples_->load(); !loaded) return loaded;
    thresholds_ = std::make_unique<ThresholdEngine>(
        [this](const ThresholdEvent& e) { publish_threshold(e); });
    thresholds_->configure(settings_.thresholds);
    if (!settings_.textfsm_templates.empty()) {
      auto opened = textfsm::TemplateLibrary::open(settings_.textfsm_templates);
      if (!opened) return std::move(opened).error();
      templates_ = std::move(*opened);
    }
    // Nothing can expire between two raw chunks closing, so the sweep runs once a raw chunk
    // (10 min by default), and at least hourly.
    const auto sweep_ms = std::clamp<std::int64_t>(settings_.retention.raw_chunk_ms, 1000, kHourMs);
    ctx.every(std::chrono::milliseconds(sweep_ms), [this] { retention(); });
    if (ctx.passive()) {
      ctx.log().info("passive nautod: metrics are queried here, nothing is polled or served");
      return ok();
    }
    auto poller = SnmpPoller::create();
    if (!poller) return std::move(poller).error();
    poller_ = std::move(*poller);
    auto watched = ctx.watch(poller_->fd(), [this] {
      poller_->on_readable();
      arm_deadline();
    });
    if (!watched) return std::move(watched).error();
    poller_watch_ = *watched;
    if (!settings_.listen.empty()) {
      auto server = MetricsServer::start(settings_.listen, settings_.render_timeout_ms);
      if (!server) return std::move(server).error();
      server_ = std::move(*server);
      auto bell = ctx.watch(server_->bell().fd(), [this] { render(); });
      if (!bell) return std::move(bell).error();
      bell_watch_ = *bell;
      ctx.log().info("serving /metrics on {}", settings_.listen);
    }
    // Time-driven work that no event announces: chunks closing, absent data, `for:` delays.
    ctx.every(std::chrono::seconds(1), [this] {
      const auto now = now_us() / 1000;
      samples_->flush_closed(now);
      thresholds_->tick(now);
    });
    ctx.every(std::chrono::milliseconds(settings_.self_interval_ms), [this] { refresh_self(); });
    ctx.every(std::chrono::milliseconds(settings_.targets_refresh_ms),
              [this] { resolve_targets(); });
    refresh_self();
    resolve_targets();
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    due_timer_.cancel(ctx);
    deadline_timer_.cancel(ctx);
    // Their descriptors close with them: unwatched first (Context::watch).
    if (bell_watch_) ctx.unwatch(bell_watch_);
    if (poller_watch_) ctx.unwatch(poller_watch_);
    server_.reset();
    poller_.reset();
    if (samples_) {
      if (auto flushed = samples_->flush_all(); !flushed)
        ctx.log().warn("samples not all written at stop: {}", flushed.error().message);
    }
  }

  void on_event(const bus::Envelope& event, Context&) override {
    if (event.topic == schema::RunStepEvent::kTopic) {
      if (auto e = schema::decode_body<schema::RunStepEvent>(event.body))
        self_.on_run_step(e->kind, e->state, e->duration_ms);
    } else if (event.topic == schema::RunFinishedEvent::kTopic) {
      if (auto e = schema::decode_body<schema::RunFinishedEvent>(event.body))
        self_.on_run_finished(e->runbook, e->state);
    } else if (event.topic == schema::JobFinishedEvent::kTopic) {
      if (auto e = schema::decode_body<schema::JobFinishedEvent>(event.body))
        self_.on_job_finished(e->state, e->started_us, e->finished_us);
    }
  }

  void on_request(const bus::Envelope& request, Context&, Reply reply) override {
    const auto& topic = request.topic;
    if (topic == schema::TelemetryQueryRequest::kTopic) {
      auto args = schema::decode_body<schema::TelemetryQueryRequest>(request.body);
      if (!args) return reply.fail(args.error());
      auto answer = query(*args);
      if (!answer) return reply.fail(answer.error());
      return reply.ok_json(*answer);
    }
    if (topic == schema::TelemetryMetricsRequest::kTopic) return reply.ok_json(metrics_list());
    if (topic == schema::TelemetryTargetsRequest::kTopic) return reply.ok_json(targets_list());
    if (topic == schema::TelemetryThresholdsRequest::kTopic)
      return reply.ok_json(thresholds_list());
    if (topic == schema::TelemetryStatsRequest::kTopic) return reply.ok_json(stats());
    reply.fail(fail(Errc::Unsupported, "unknown service " + topic));
  }

 private:
  // --- targets ------------------------------------------------------------------------------

  /// Each group's selector through the inventory; SNMP groups then get their credentials
  /// from the vault.
  void resolve_targets() {
    for (std::size_t g = 0; g < settings_.snmp.size(); ++g)
      select("snmp group '" + settings_.snmp[g].name + "'", settings_.snmp[g].target,
             [this, g](json hosts) { with_credentials(g, std::move(hosts)); });
    for (std::size_t g = 0; g < settings_.cli.size(); ++g)
      select("cli group '" + settings_.cli[g].name + "'", settings_.cli[g].target,
             [this, g](json hosts) { apply_cli_group(g, hosts); });
  }

  /// The hosts `selector` picks, to `then`; a failure is logged (the targets stay as they were).
  void select(std::string what, const std::string& selector, std::function<void(json)> then) {
    ctx_->request(schema::InventorySelectRequest::kTopic,
                  bus::to_body(json{{"selector", selector}}), 10'000,
                  [this, what = std::move(what), then = std::move(then)](Result<std::string> body) {
                    auto hosts = bus::from_reply(body);
                    if (!hosts)
                      return ctx_->log().warn("{}: inventory: {}", what, hosts.error().message);
                    then(hosts->value("hosts", json::array()));
                  });
  }

  void apply_cli_group(std::size_t g, const json& hosts) {
    const auto& group = settings_.cli[g];
    const auto prefix = "cli/" + group.name + "/";
    std::set<std::string> present;
    for (const auto& host : hosts) {
      const auto name = host.value("name", "");
      if (name.empty()) continue;
      const auto key = prefix + name;
      present.insert(key);
      auto& t = cli_targets_[key];
      t.device = name;
      t.group = g;
      t.device_labels.clear();
      const auto vars = host.value("vars", json::object());
      for (const char* label : {"site", "role"}) {
        if (vars.contains(label) && vars[label].is_string()) t.device_labels[label] = vars[label];
      }
      schedule_.set(key, group.interval_ms * 1000, steady_us());
    }
    std::erase_if(cli_targets_, [&](const auto& entry) {
      return entry.first.rfind(prefix, 0) == 0 && !present.count(entry.first) &&
             !entry.second.in_flight;
    });
    retain_schedule();
    arm_due();
  }

  /// The schedule keeps what some group still selects.
  void retain_schedule() {
    std::set<std::string> keep;
    for (const auto& [name, t] : targets_)
      keep.insert(name);
    for (const auto& [key, t] : cli_targets_)
      keep.insert(key);
    schedule_.retain(keep);
  }

  /// Each credential the group's devices name, from the vault one by one, so a name the vault
  /// lacks fails only the devices that use it; then the group's targets.
  void with_credentials(std::size_t g, json hosts) {
    const auto& group = settings_.snmp[g];
    std::set<std::string> names;
    for (const auto& host : hosts) {
      const auto vars = host.value("vars", json::object());
      names.insert(vars.value("snmp_credential", group.credential));
    }
    struct Pending {
      std::size_t left = 0;
      json hosts;
      json credentials = json::object();
      std::map<std::string, std::string> problems;  // credential -> why it is missing
    };
    auto pending = std::make_shared<Pending>();
    pending->left = names.size();
    pending->hosts = std::move(hosts);
    if (names.empty()) return apply_group(g, pending->hosts, pending->credentials, {});
    for (const auto& name : names) {
      ctx_->request(schema::VaultResolveRequest::kTopic,
                    bus::to_body(json{{"names", {name}}, {"purpose", "telemetry: SNMP polling"}}),
                    10'000, [this, g, name, pending](Result<std::string> body) {
                      if (auto resolved = bus::from_reply(body)) {
                        const auto found = resolved->value("credentials", json::object());
                        if (found.contains(name)) pending->credentials[name] = found[name];
                      } else {
                        pending->problems[name] = resolved.error().message;
                      }
                      if (--pending->left == 0)
                        apply_group(g, pending->hosts, pending->credentials, pending->problems);
                    });
    }
  }

  void apply_group(std::size_t g, const json& hosts, const json& credentials,
                   const std::map<std::string, std::string>& problems) {
    const auto& group = settings_.snmp[g];
    std::set<std::string> present;
    const auto now = steady_us();
    for (const auto& host : hosts) {
      const auto name = host.value("name", "");
      if (name.empty()) continue;
      const auto vars = host.value("vars", json::object());
      auto& t = targets_[name];
      if (!t.group.empty() && t.group != group.name) {
        continue;  // the first group that selects a device polls it
      }
      present.insert(name);
      t.group = group.name;
      SnmpTarget target;
      target.name = name;
      const auto address = vars.value("snmp_host", host.value("host", name));
      const auto port = vars.value("snmp_port", group.port);
      target.address =
          (address.find(':') != std::string::npos ? "udp6:[" + address + "]" : "udp:" + address) +
          ":" + std::to_string(port);
      target.timeout_ms = group.timeout_ms;
      target.retries = group.retries;
      target.bulk_repetitions = group.bulk_repetitions;
      auto& c = target.credentials;
      c.version = group.version;
      c.auth_protocol = group.auth_protocol;
      c.priv_protocol = group.priv_protocol;
      c.context = group.context;
      const auto credential = vars.value("snmp_credential", group.credential);
      t.problem.clear();
      if (auto why = problems.find(credential); why != problems.end()) {
        t.problem = "credential '" + credential + "': " + why->second;
      } else {
        if (!credentials.contains(credential)) {
          t.problem = "no credential '" + credential + "' in the vault";
        } else {
          const auto& secret = credentials[credential];
          c.community = secret.value("password", "");
          c.user = secret.value("username", "");
          c.auth_password = secret.value("password", "");
          c.priv_password = secret.value("enable_secret", "");
          if (auto valid = validate_credentials(c); !valid)
            t.problem = "credential '" + credential + "': " + valid.error().where + ": " +
                        valid.error().message;
        }
      }
      if (!t.problem.empty()) {
        t.state = "unpollable";
        t.error = t.problem;
      }
      t.target = std::move(target);
      t.device_labels.clear();
      for (const char* key : {"site", "role"}) {
        if (vars.contains(key) && vars[key].is_string()) t.device_labels[key] = vars[key];
      }
      schedule_.set(name, group.interval_ms * 1000, now);
    }
    // Devices the group no longer selects.
    std::erase_if(targets_, [&](const auto& entry) {
      return entry.second.group == group.name && !present.count(entry.first);
    });
    retain_schedule();
    std::vector<std::string> polled;
    for (const auto& [name, t] : targets_)
      polled.push_back(name);
    poller_->retain(polled);
    arm_due();
  }

  // --- polling ------------------------------------------------------------------------------

  void arm_due() {
    due_timer_.arm(*ctx_, schedule_.next_due_us(), [this] { poll_due(); });
  }
  void arm_deadline() {
    deadline_timer_.arm(*ctx_, poller_->next_deadline_us(), [this] {
      poller_->on_deadline();
      arm_deadline();
    });
  }

  void poll_due() {
    std::map<std::string, int> missed;
    for (const auto& name : schedule_.take_due(steady_us(), &missed)) {
      if (name.rfind("cli/", 0) == 0) {
        poll_cli(name);
        continue;
      }
      auto it = targets_.find(name);
      if (it == targets_.end()) continue;
      auto& t = it->second;
      if (!t.problem.empty()) continue;
      if (poller_->busy(name)) {
        ++t.overruns;
        ++overruns_;
        ctx_->log().warn(
            "snmp {}: overrun: the previous poll is still running at the next "
            "interval; this one is skipped",
            name);
        continue;
      }
      const auto* group = find_group(t.group);
      if (!group) continue;
      auto started = poller_->poll(t.target, group->poll_plan,
                                   [this](PollOutcome o) { on_polled(std::move(o)); });
      if (!started) {
        t.state = "failed";
        t.error = started.error().message;
        ++t.failures;
      }
    }
    for (const auto& [name, count] : missed) {
      if (auto it = targets_.find(name); it != targets_.end()) it->second.overruns += count;
      if (auto it = cli_targets_.find(name); it != cli_targets_.end()) it->second.overruns += count;
      overruns_ += count;
    }
    arm_due();
    arm_deadline();
  }

  const SnmpPollGroup* find_group(const std::string& name) const {
    for (const auto& g : settings_.snmp)
      if (g.name == name) return &g;
    return nullptr;
  }

  void on_polled(PollOutcome o) {
    auto it = targets_.find(o.target);
    if (it == targets_.end()) return;
    auto& t = it->second;
    const auto now_ms = now_us() / 1000;
    ++t.polls;
    t.last_poll_ms = now_ms;
    t.duration_ms = (o.finished_us - o.started_us) / 1000;
    poll_seconds_.observe(static_cast<double>(o.finished_us - o.started_us) / 1e6);
    t.missing = o.missing.size();
    if (!o.status) {
      t.state = "failed";
      t.error = o.status.error().message;
      ++t.failures;
      if (o.status.error().code == Errc::Timeout) ++t.timeouts;
      return;
    }
    t.state = "ok";
    t.error.clear();
    const auto* group = find_group(t.group);
    if (!group) return;
    const auto polled = snmp_samples(group->metrics, group->poll_plan, o);
    t.wrong_types = polled.wrong_types;
    const bool restarted =
        t.uptime_ticks && polled.uptime_ticks && *polled.uptime_ticks < *t.uptime_ticks;
    if (polled.uptime_ticks) t.uptime_ticks = polled.uptime_ticks;
    record_samples(o.target, polled.samples, restarted);
  }

  /// A device's samples: gauges as they are, counters as rates (`<metric>_rate`) and totals.
  void record_samples(const std::string& device, const std::vector<RawSample>& samples,
                      bool restarted) {
    const auto time_us = now_us();
    const auto now_ms = time_us / 1000;
    for (const auto& s : samples) {
      SeriesKey key{s.metric, device, s.labels};
      if (s.kind == MetricKind::Gauge) {
        record(key, MetricKind::Gauge, now_ms, s.value, s.value);
        continue;
      }
      auto rate = counters_.update(key.text(),
                                   {s.count, s.counter_bits, s.discontinuity, time_us, restarted});
      expose(key, MetricKind::Counter, now_ms, rate.total);
      if (rate.valid) {
        SeriesKey per_second{s.metric + "_rate", device, s.labels};
        record(per_second, MetricKind::Gauge, now_ms, rate.per_second, std::nullopt);
      }
    }
  }

  /// A show command through the devices module (its session kept open between polls).
  void poll_cli(const std::string& key) {
    auto it = cli_targets_.find(key);
    if (it == cli_targets_.end()) return;
    auto& t = it->second;
    if (t.in_flight) {
      ++t.overruns;
      ++overruns_;
      ctx_->log().warn("{}: overrun: the previous command is still running", key);
      return;
    }
    const auto& g = settings_.cli[t.group];
    json body = {{"device", t.device},
                 {"kind", "commands"},
                 {"commands", {g.command}},
                 {"structured", g.json},
                 {"run", "telemetry"},
                 {"keep_session", static_cast<double>(g.interval_ms) / 1000.0 + 30},
                 {"device_timeout", std::to_string(g.timeout_ms) + "ms"},
                 {"attempts", 1},
                 {"started_by", "telemetry"}};
    t.in_flight = true;
    t.started_us = steady_us();
    ctx_->request(schema::DeviceCallRequest::kTopic, bus::to_body(body), g.timeout_ms + 10'000,
                  [this, key](Result<std::string> reply) { on_cli_reply(key, std::move(reply)); });
  }

  void on_cli_reply(const std::string& key, Result<std::string> reply) {
    auto it = cli_targets_.find(key);
    if (it == cli_targets_.end()) return;
    auto& t = it->second;
    t.in_flight = false;
    ++t.polls;
    t.last_poll_ms = now_us() / 1000;
    t.duration_ms = (steady_us() - t.started_us) / 1000;
    auto outputs = bus::from_reply(reply);
    Result<CliSamples> parsed = fail(Errc::Malformed, "the device call returned no output");
    if (!outputs) {
      parsed = std::move(outputs).error();
    } else if (outputs->is_array() && !outputs->empty()) {
      parsed = cli_samples(settings_.cli[t.group], (*outputs)[0], templates_.get());
    }
    if (!parsed) {
      t.state = "failed";
      t.error = parsed.error().message;
      ++t.failures;
      return;
    }
    t.state = "ok";
    t.error.clear();
    t.skipped = parsed->skipped;
    record_samples(t.device, parsed->samples, false);
  }

  /// A sample into the store and the thresholds (and the exposition when `exposed` is set).
  void record(const SeriesKey& key, MetricKind kind, std::int64_t time_ms, double value,
              std::optional<double> exposed) {
    samples_->add(key, time_ms, value);
    thresholds_->observe(key, time_ms, value);
    if (exposed) expose(key, kind, time_ms, *exposed);
  }

  void expose(const SeriesKey& key, MetricKind kind, std::int64_t time_ms, double value) {
    auto& e = exposed_[key.text()];
    e.key = key;
    e.kind = kind;
    e.value = value;
    e.time_ms = time_ms;
  }

  void publish_threshold(const ThresholdEvent& e) {
    const auto& t = *e.threshold;
    json body = {
        {"threshold", t.name},       {"device", e.series.device}, {"metric", e.series.metric},
        {"labels", e.series.labels}, {"value", e.value},          {"limit", t.limit},
        {"kind", kind_name(t.kind)}, {"severity", t.severity},    {"since_ms", e.since_ms}};
    const auto* topic = e.crossed ? schema::TelemetryThresholdCrossedEvent::kTopic
                                  : schema::TelemetryThresholdClearedEvent::kTopic;
    ctx_->log().info("threshold {} {} on {} {} (value {})", t.name,
                     e.crossed ? "crossed" : "cleared", e.series.device, e.series.metric, e.value);
    if (auto sent = ctx_->publish(topic, bus::to_body(body)); !sent)
      ctx_->log().warn("threshold event not published: {}", sent.error().message);
  }

  /// A target's poll counters, for an SNMP group and a show command alike.
  static void add_poll_history(Exposition& out, const Labels& l, const PollHistory& h) {
    out.add("nauto_telemetry_target_up", Exposition::Type::Gauge,
            "1 when the device's last poll succeeded", l, h.state == "ok" ? 1 : 0);
    out.add("nauto_telemetry_polls_total", Exposition::Type::Counter, "Polls of the device", l,
            static_cast<double>(h.polls));
    out.add("nauto_telemetry_poll_failures_total", Exposition::Type::Counter,
            "Polls of the device that failed (timeouts included)", l,
            static_cast<double>(h.failures));
    out.add("nauto_telemetry_poll_overruns_total", Exposition::Type::Counter,
            "Polls skipped because the previous one was still running", l,
            static_cast<double>(h.overruns));
  }

  // --- nauto's own metrics --------------------------------------------------------------------

  void refresh_self() {
    ctx_->request(schema::KernelStatusRequest::kTopic, bus::to_body(json::object()), 5000,
                  [this](Result<std::string> body) {
                    if (auto status = bus::from_reply(body)) self_.set_status(std::move(*status));
                  });
    // Remote pools, where the devices module has them (an error answer: none here).
    ctx_->request(schema::WorkersListRequest::kTopic, bus::to_body(json::object()), 5000,
                  [this](Result<std::string> body) {
                    auto workers = bus::from_reply(body);
                    self_.set_workers(workers ? std::move(*workers) : json());
                  });
    for (const char* service :
         {schema::SyslogStatsRequest::kTopic, schema::SnmpTrapStatsRequest::kTopic,
          schema::WebhookStatsRequest::kTopic}) {
      ctx_->request(service, bus::to_body(json::object()), 5000,
                    [this, source = std::string(service)](Result<std::string> body) {
                      if (auto stats = bus::from_reply(body))
                        self_.set_ingest(source.substr(0, source.find('.')), std::move(*stats));
                    });
    }
  }

  void render() {
    server_->bell().drain();
    const auto answers = server_->render_wanted();
    Exposition out;
    // Each device's inventory labels (site, role), once.
    std::map<std::string, const Labels*> device_labels;
    for (const auto& [key, t] : cli_targets_)
      device_labels[t.device] = &t.device_labels;
    for (const auto& [name, t] : targets_)
      device_labels[name] = &t.device_labels;
    for (const auto& [text, e] : exposed_) {
      Labels labels = e.key.labels;
      labels["device"] = e.key.device;
      if (auto found = device_labels.find(e.key.device); found != device_labels.end())
        for (const auto& [k, v] : *found->second)
          labels.emplace(k, v);
      const auto* info = builtin_metric(e.key.metric);
      std::string help = info ? info->help : user_help(e.key.metric);
      if (e.kind == MetricKind::Counter) {
        out.add(e.key.metric + "_total", Exposition::Type::Counter, help, labels, e.value);
      } else {
        out.add(e.key.metric, Exposition::Type::Gauge, help, labels, e.value);
      }
    }
    for (const auto& [name, t] : targets_) {
      Labels l{{"device", name}, {"group", t.group}, {"source", "snmp"}};
      add_poll_history(out, l, t);
      out.add("nauto_telemetry_poll_timeouts_total", Exposition::Type::Counter,
              "SNMP polls of the device that timed out", l, static_cast<double>(t.timeouts));
    }
    for (const auto& [key, t] : cli_targets_)
      add_poll_history(
          out, {{"device", t.device}, {"group", settings_.cli[t.group].name}, {"source", "cli"}},
          t);
    out.add_histogram("nauto_telemetry_poll_duration_seconds", "How long SNMP polls took", {},
                      poll_seconds_);
    const auto st = samples_->stats();
    out.add("nauto_telemetry_series", Exposition::Type::Gauge, "Series the module keeps", {},
            static_cast<double>(st.series));
    out.add("nauto_telemetry_samples_total", Exposition::Type::Counter, "Samples recorded", {},
            static_cast<double>(st.samples));
    out.add("nauto_telemetry_store_write_failures_total", Exposition::Type::Counter,
            "Sample chunks the store refused", {}, static_cast<double>(st.write_failures));
    out.add("nauto_telemetry_wraps_total", Exposition::Type::Counter, "Counter32 wraps seen", {},
            static_cast<double>(counters_.wraps()));
    out.add("nauto_telemetry_discontinuities_total", Exposition::Type::Counter,
            "Counter resets and discontinuities seen", {},
            static_cast<double>(counters_.discontinuities()));
    for (const auto& [name, series] : thresholds_->firing())
      out.add(
          "nauto_telemetry_threshold_firing", Exposition::Type::Gauge,
          "1 for each series a threshold is crossed on",
          [&] {
            Labels l = series.labels;
            l["threshold"] = name;
            l["device"] = series.device;
            return l;
          }(),
          1);
    self_.render(out);
    server_->publish(answers, out.text());
  }

  std::string user_help(const std::string& metric) const {
    for (const auto& g : settings_.snmp)
      for (const auto& u : g.metrics.oids)
        if (u.name == metric && !u.help.empty()) return u.help;
    for (const auto& g : settings_.cli)
      for (const auto& m : g.metrics)
        if (m.name == metric) return m.help.empty() ? "'" + g.command + "': " + m.value : m.help;
    return "SNMP metric " + metric;
  }

  // --- services -------------------------------------------------------------------------------

  Result<json> query(const schema::TelemetryQueryRequest& args) {
    SampleQuery q;
    q.metric = args.metric;
    q.device = args.device;
    if (args.labels.is_object()) {
      for (const auto& [k, v] : args.labels.items()) {
        if (!v.is_string())
          return fail(Errc::InvalidArgument, "label values must be strings", "labels." + k);
        q.labels[k] = v.get<std::string>();
      }
    }
    const auto now = now_us() / 1000;
    q.until_ms = args.until_ms > 0 ? args.until_ms : now;
    q.from_ms = q.until_ms - args.since_ms;
    if (!args.resolution.empty() && args.resolution != "raw" && args.resolution != "rollup")
      return fail(Errc::InvalidArgument, "must be raw or rollup", "resolution");
    q.resolution = args.resolution;
    q.now_ms = now;
    auto found = samples_->query(q);
    if (!found) return std::move(found).error();
    const bool raw = q.resolution == "raw" ||
                     (q.resolution.empty() && q.from_ms >= now - settings_.retention.raw_keep_ms);
    json series = json::array();
    for (const auto& s : *found) {
      json points = json::array();
      for (const auto& p : s.points)
        points.push_back({p.time_ms, p.value});
      json buckets = json::array();
      for (const auto& b : s.buckets)
        buckets.push_back({b.start_ms, b.min, b.max, b.average(), b.count, b.last});
      json entry = {{"metric", s.key.metric}, {"device", s.key.device}, {"labels", s.key.labels}};
      if (raw) {
        entry["points"] = std::move(points);
      } else {
        entry["buckets"] = std::move(buckets);
        entry["step_ms"] = settings_.retention.rollup_step_ms;
      }
      series.push_back(std::move(entry));
    }
    return json{{"resolution", raw ? "raw" : "rollup"}, {"series", std::move(series)}};
  }

  json metrics_list() const {
    struct Count {
      std::size_t series = 0;
      std::set<std::string> devices;
    };
    std::map<std::string, Count> counts;
    for (const auto& [key, point] : samples_->latest()) {
      auto& c = counts[key.metric];
      ++c.series;
      c.devices.insert(key.device);
    }
    json out = json::array();
    for (const auto& [name, c] : counts) {
      const bool rate = name.size() > 5 && name.compare(name.size() - 5, 5, "_rate") == 0;
      const auto* info = builtin_metric(rate ? name.substr(0, name.size() - 5) : name);
      out.push_back({{"name", name},
                     {"kind", "gauge"},
                     {"help", rate ? std::string("per second: ") + (info ? info->help : name)
                                   : (info ? info->help : user_help(name))},
                     {"series", c.series},
                     {"devices", c.devices.size()}});
    }
    return json{{"metrics", out}};
  }

  json targets_list() const {
    json out = json::array();
    for (const auto& [name, t] : targets_) {
      auto row = t.to_json();
      row.update({{"device", name},
                  {"group", t.group},
                  {"kind", "snmp"},
                  {"address", t.target.address},
                  {"version", t.target.credentials.version == 3 ? "3" : "2c"},
                  {"timeouts", t.timeouts},
                  {"missing", t.missing},
                  {"wrong_types", t.wrong_types}});
      out.push_back(std::move(row));
    }
    for (const auto& [key, t] : cli_targets_) {
      auto row = t.to_json();
      row.update({{"device", t.device},
                  {"group", settings_.cli[t.group].name},
                  {"kind", "cli"},
                  {"address", settings_.cli[t.group].command},
                  {"version", "cli"},
                  {"timeouts", 0},
                  {"missing", 0},
                  {"wrong_types", t.skipped}});
      out.push_back(std::move(row));
    }
    return json{{"targets", out}};
  }

  json thresholds_list() const {
    std::map<std::string, json> firing;
    for (const auto& [name, series] : thresholds_->firing())
      firing[name].push_back({{"device", series.device}, {"labels", series.labels}});
    json out = json::array();
    for (const auto& t : thresholds_->thresholds()) {
      out.push_back({{"name", t.name},
                     {"metric", t.metric},
                     {"kind", kind_name(t.kind)},
                     {"limit", t.limit},
                     {"clear", t.clear},
                     {"for_ms", t.for_ms},
                     {"severity", t.severity},
                     {"firing", firing.count(t.name) ? firing[t.name] : json::array()}});
    }
    return json{{"thresholds", out}};
  }

  json stats() const {
    const auto st = samples_->stats();
    json out = {{"targets", targets_.size()},
                {"overruns", overruns_},
                {"series", st.series},
                {"samples", st.samples},
                {"chunks_written", st.chunks_written},
                {"chunks_expired", st.chunks_expired},
                {"series_expired", st.series_expired},
                {"write_failures", st.write_failures},
                {"counter_wraps", counters_.wraps()},
                {"counter_discontinuities", counters_.discontinuities()}};
    if (poller_) {
      const auto p = poller_->stats();
      out["snmp"] = {{"polls", p.polls},       {"failed_polls", p.failed_polls},
                     {"timeouts", p.timeouts}, {"auth_failures", p.auth_failures},
                     {"requests", p.requests}, {"discoveries", p.discoveries},
                     {"sessions", p.sessions}};
    }
    if (server_) {
      const auto c = server_->counters();
      out["scrapes"] = {
          {"scrapes", c.scrapes}, {"timed_out", c.timed_out}, {"port", server_->port()}};
    }
    return out;
  }

  void retention() {
    if (auto swept = samples_->apply_retention(now_us() / 1000); !swept)
      ctx_->log().warn("telemetry retention: {}", swept.error().message);
    // Counters and exposed values of series gone quiet for a day.
    const auto day_ago_ms = now_us() / 1000 - 24 * kHourMs;
    counters_.forget_before(day_ago_ms * 1000);
    std::erase_if(exposed_, [&](const auto& e) { return e.second.time_ms < day_ago_ms; });
  }

  Context* ctx_ = nullptr;
  TelemetrySettings settings_;
  std::unique_ptr<SampleStore> samples_;
  std::unique_ptr<ThresholdEngine> thresholds_;
  std::unique_ptr<SnmpPoller> poller_;
  std::unique_ptr<MetricsServer> server_;
  PollSchedule schedule_;
  WakeTimer due_timer_, deadline_timer_;
  Context::TimerId poller_watch_ = 0, bell_watch_ = 0;
  std::map<std::string, TargetState> targets_;
  std::map<std::string, CliTarget> cli_targets_;  // by "cli/<group>/<device>"
  std::shared_ptr<textfsm::TemplateLibrary> templates_;
  CounterTracker counters_;
  std::map<std::string, Exposed> exposed_;
  SelfMetrics self_;
  Histogram poll_seconds_{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  std::uint64_t overruns_ = 0;
};

NAUTO_REGISTER_MODULE(TelemetryModule, "telemetry");

}  // namespace nauto::mod::telemetry
