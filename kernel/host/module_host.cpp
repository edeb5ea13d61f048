#include "module_host.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>

#include "module_runner.h"
#include "nauto/base/clock.h"
#include "nauto/base/doorbell.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"

extern char** environ;

namespace nauto::kernel {

using nlohmann::json;

namespace {
constexpr const char* kKernelName = "kernel";
constexpr const char* kVersion = NAUTO_VERSION;  // meson.build's project version
}  // namespace

Result<void> validate_module_specs(const std::vector<ModuleSpec>& specs) {
  std::string problems;
  for (const auto& spec : specs) {
    auto factory = ModuleRegistry::find(spec.name);
    if (!factory) {
      std::string known;
      for (const auto& n : ModuleRegistry::names())
        known += (known.empty() ? "" : ", ") + n;
      problems += (problems.empty() ? "" : "\n") +
                  ("modules." + spec.name + ": no such module; available: " + known);
      continue;
    }
    auto module = factory();
    if (auto valid = module->validate(spec.config); !valid) {
      problems += (problems.empty() ? "" : "\n") + valid.error().message;
    }
  }
  if (!problems.empty()) return fail(Errc::InvalidConfig, problems);
  return ok();
}

/// What a finished in-process runner left behind. Thread-safe.
struct RunOutcome {
  std::mutex mutex;
  bool finished = false;
  std::optional<Error> error;

  void set(Result<void> result) {
    std::lock_guard lock(mutex);
    finished = true;
    if (!result) error = std::move(result).error();
  }
};

struct ModuleHost::State {
  std::shared_ptr<zmq::context_t> context;
  HostOptions options;
  std::vector<ModuleSpec> initial_specs;
  std::shared_ptr<RunnerControl> kernel_control = std::make_shared<RunnerControl>();
  std::promise<Result<void>> ready;
  std::once_flag ready_once;
  std::mutex mutex;
  std::optional<std::vector<ModuleSpec>> pending_specs;
  std::shared_ptr<std::atomic<int>> abandoned_alive = std::make_shared<std::atomic<int>>(0);
  /// Rung when a module's thread ends and when reconfigure() leaves new specs: the supervisor
  /// looks at once instead of on a short period. (Shared: an abandoned thread may outlive us.)
  std::shared_ptr<Doorbell> supervise_bell = std::make_shared<Doorbell>();

  void set_ready(Result<void> r) {
    std::call_once(ready_once, [&] { ready.set_value(std::move(r)); });
  }
};

/// One supervised module.
struct Slot {
  enum class Phase { Running, Backoff, Stopped };
  ModuleSpec spec;
  Phase phase = Phase::Stopped;
  std::shared_ptr<RunnerControl> control;
  std::shared_ptr<RunOutcome> outcome;
  std::thread thread;
  pid_t pid = 0;
  int restarts = 0;
  std::int64_t started_us = 0;  // steady clock
  std::int64_t last_heartbeat_us = 0;
  std::int64_t next_start_us = 0;
  std::int64_t backoff_ms = 0;
  std::string last_error;
  std::string restart_reason;
  std::string reported_error;  // from kernel.module.error, for child processes
};

static const char* phase_name(Slot::Phase p) {
  switch (p) {
    case Slot::Phase::Running:
      return "running";
    case Slot::Phase::Backoff:
      return "backoff";
    case Slot::Phase::Stopped:
      return "stopped";
  }
  return "unknown";
}

/// The kernel's own bus presence: supervises the module slots from a timer and answers
/// kernel.status / kernel.modules.
class KernelModule final : public Module {
 public:
  explicit KernelModule(std::shared_ptr<ModuleHost::State> state) : state_(std::move(state)) {}

  Manifest manifest() const override {
    return Manifest::declared(kKernelName, "module host and supervisor",
                              {kHeartbeatTopic, kModuleErrorTopic}, {});
  }
  Result<void> validate(const json&) const override { return ok(); }

  Result<void> start(Context& ctx) override {
    ctx_ = &ctx;
    started_us_ = now_us();
    for (const auto& spec : state_->initial_specs) {
      slots_.push_back(std::make_unique<Slot>());
      slots_.back()->spec = spec;
      launch(*slots_.back());
    }
    // Woken by the bell (a thread ended, a reload), by a restart's backoff timer, and every
    // heartbeat interval for what only time shows: a silent module, a child that exited, the
    // store's fill level.
    if (auto watched = ctx.watch(state_->supervise_bell->fd(),
                                 [this] {
                                   state_->supervise_bell->drain();
                                   supervise();
                                 });
        !watched)
      return std::move(watched).error();
    ctx.every(std::chrono::milliseconds(state_->options.supervisor.heartbeat_interval_ms),
              [this] { supervise(); });
    state_->set_ready(ok());
    return ok();
  }

  void stop(Context&) noexcept override {
    for (auto it = slots_.rbegin(); it != slots_.rend(); ++it)
      halt(**it);
  }

  void on_event(const bus::Envelope& event, Context& ctx) override {
    // Heartbeats and error reports, typed (bus/schema/kernel.yaml); a malformed one from any
    // bus client is logged and ignored.
    std::string name, error;
    std::int64_t pid = 0;
    if (event.topic == kModuleErrorTopic) {
      auto report = bus::schema::decode_body<bus::schema::KernelModuleErrorEvent>(event.body);
      if (!report) return ctx.log().warn("ignored: {}", report.error().message);
      name = report->module, pid = report->pid, error = report->error;
    } else {
      auto beat = bus::schema::decode_body<bus::schema::KernelHeartbeatEvent>(event.body);
      if (!beat) return ctx.log().warn("ignored: {}", beat.error().message);
      name = beat->module, pid = beat->pid;
    }
    for (auto& slot : slots_) {
      if (slot->spec.name != name || slot->phase != Slot::Phase::Running) continue;
      // A child's pid guards against a late message from a replaced instance.
      if (slot->pid != 0 && pid != slot->pid) continue;
      if (event.topic == kModuleErrorTopic) {
        slot->reported_error = error;
      } else {
        slot->last_heartbeat_us = steady_us();
      }
      return;
    }
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    auto shared = std::make_shared<Reply>(std::move(reply));
    const bool full_status = request.topic == bus::schema::KernelStatusRequest::kTopic;
    ctx.request(
        bus::schema::BusStatsRequest::kTopic, bus::to_body(json::object()), 2000,
        [this, shared, full_status](Result<std::string> stats_body) {
          json router = json::object();
          if (stats_body) {
            auto parsed = bus::from_body(*stats_body);
            if (parsed) router = std::move(*parsed);
          }
          shared->ok_json(full_status ? status(router) : json{{"modules", modules(router)}});
        });
  }

 private:
  json modules(const json& router) const {
    json out = json::array();
    auto peer_of = [&](const std::string& name) -> json {
      if (router.contains("peers")) {
        for (const auto& p : router["peers"]) {
          if (p.value("name", "") == name) return p;
        }
      }
      return json::object();
    };
    auto row = [&](const std::string& name, const char* state, const char* isolation, int restarts,
                   std::int64_t pid, const std::string& error, std::int64_t heartbeat_age_ms) {
      const json peer = peer_of(name);
      return json{{"name", name},
                  {"state", state},
                  {"isolation", isolation},
                  {"restarts", restarts},
                  {"pid", pid},
                  {"last_error", error},
                  {"heartbeat_age_ms", heartbeat_age_ms},
                  {"queue_depth", peer.value("queue_depth", 0)},
                  {"events_delivered", peer.value("events_delivered", 0)},
                  {"events_dropped", peer.value("events_dropped", 0)},
                  {"requests_delivered", peer.value("requests_delivered", 0)},
                  {"requests_rejected", peer.value("requests_rejected", 0)},
                  {"subscribes", peer.value("subscribes", json::array())},
                  {"excludes", peer.value("excludes", json::array())},
                  {"serves", peer.value("serves", json::array())}};
    };
    out.push_back(row(kKernelName, "running", "kernel", 0, ::getpid(), "", 0));
    const auto now = steady_us();
    for (const auto& slot : slots_) {
      const auto age =
          slot->phase == Slot::Phase::Running ? (now - slot->last_heartbeat_us) / 1000 : -1;
      out.push_back(row(slot->spec.name, phase_name(slot->phase),
                        slot->spec.out_of_process ? "process" : "thread", slot->restarts,
                        slot->pid ? slot->pid : ::getpid(), slot->last_error, age));
    }
    return out;
  }

  json status(const json& router) const {
    json store = nullptr;
    if (auto* s = ctx_->store()) {
      const auto st = s->stats();
      store = {{"commits", st.commits},
               {"batches", st.batches},
               {"ops", st.ops},
               {"failed_batches", st.failed_batches},
               {"map_size", st.map_size},
               {"max_size", st.max_map_size},
               {"used_bytes", st.used_bytes},
               {"grown", st.grown},
               {"full", st.full},
               {"filling", st.filling},
               {"blocked_writes", st.blocked_writes},
               {"shed_writes", st.shed_writes}};
    }
    json clients = json::array();
    if (router.contains("peers")) {
      for (const auto& p : router["peers"]) {
        const auto name = p.value("name", "");
        bool supervised = name == kKernelName;
        for (const auto& slot : slots_)
          supervised = supervised || slot->spec.name == name;
        if (!supervised) clients.push_back(name);
      }
    }
    return json{{"version", kVersion},
                {"pid", ::getpid()},
                {"started_us", started_us_},
                {"uptime_s", (now_us() - started_us_) / 1000000.0},
                {"modules", modules(router)},
                {"clients", clients},
                {"router", router.value("totals", json::object())},
                {"pending_requests", router.value("pending_requests", 0)},
                {"store", store},
                {"abandoned_threads", state_->abandoned_alive->load()}};
  }

  void launch(Slot& slot) {
    slot.control = std::make_shared<RunnerControl>();
    slot.outcome = std::make_shared<RunOutcome>();
    slot.phase = Slot::Phase::Running;
    slot.started_us = steady_us();
    slot.last_heartbeat_us = slot.started_us;  // a grace period until the first heartbeat
    slot.pid = 0;
    slot.reported_error.clear();
    const auto& options = state_->options;
    if (slot.spec.out_of_process) {
      if (auto spawned = spawn_child(slot); !spawned) {
        slot.outcome->set(std::move(spawned));
      }
      publish_lifecycle(bus::schema::KernelModuleStartedEvent::kTopic, slot, {});
      return;
    }
    RunnerOptions runner;
    runner.endpoint = options.inproc_endpoint;
    runner.heartbeat_interval_ms = options.supervisor.heartbeat_interval_ms;
    runner.config = slot.spec.config;
    runner.store = options.store;
    runner.passive = options.passive;
    auto factory = ModuleRegistry::find(slot.spec.name);
    auto context = state_->context;
    auto control = slot.control;
    auto outcome = slot.outcome;
    auto abandoned_alive = state_->abandoned_alive;
    auto supervise_bell = state_->supervise_bell;
    const std::string thread_name = ("mod/" + slot.spec.name).substr(0, 15);
    const auto scheduling = slot.spec.scheduling;
    const auto module_name = slot.spec.name;
    slot.thread = std::thread([=]() mutable {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      if (auto applied = apply_scheduling(scheduling); !applied)
        logger("host")->warn("modules.{}.scheduling not applied: {}", module_name,
                             applied.error().message);
      Result<void> result = ok();
      {
        ModuleRunner module_runner(*context, factory(), std::move(runner), control);
        result = module_runner.run();
      }
      // Under the outcome's lock, so abandon() sees either "finished" or counts us exactly once.
      std::lock_guard lock(outcome->mutex);
      if (control->abandoned) abandoned_alive->fetch_sub(1);
      outcome->finished = true;
      if (!result) outcome->error = std::move(result).error();
      supervise_bell->ring();
    });
    publish_lifecycle(bus::schema::KernelModuleStartedEvent::kTopic, slot, {});
  }

  Result<void> spawn_child(Slot& slot) {
    const auto& options = state_->options;
    std::vector<std::string> args = {options.executable,
                                     "--run-module",
                                     slot.spec.name,
                                     "--connect",
                                     options.process_endpoint,
                                     "--module-config",
                                     slot.spec.config.dump(),
                                     "--heartbeat-interval-ms",
                                     std::to_string(options.supervisor.heartbeat_interval_ms),
                                     "--supervised"};
    for (const auto& a : options.child_arguments)
      args.push_back(a);
    if (options.passive) args.push_back("--passive");
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    // A child process takes its scheduling from the spawn (every thread it starts inherits it).
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    if (slot.spec.scheduling == Scheduling::Batch) {
      sched_param param{};
      posix_spawnattr_setschedpolicy(&attributes, SCHED_BATCH);
      posix_spawnattr_setschedparam(&attributes, &param);
      posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSCHEDULER);
    }
    const int rc =
        posix_spawn(&pid, options.executable.c_str(), nullptr, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
      return fail(Errc::System, std::string("cannot start child process: ") + std::strerror(rc),
                  options.executable);
    }
    slot.pid = pid;
    return ok();
  }

  // Returns a failure description if the module's run has ended, without blocking.
  std::optional<std::string> finished(Slot& slot) {
    if (slot.spec.out_of_process && slot.pid != 0) {
      int status = 0;
      const pid_t r = ::waitpid(slot.pid, &status, WNOHANG);
      if (r != slot.pid) return std::nullopt;
      slot.pid = 0;
      const auto how = WIFSIGNALED(status)
                           ? "process killed by signal " + std::to_string(WTERMSIG(status))
                           : "process exited with status " + std::to_string(WEXITSTATUS(status));
      if (slot.reported_error.empty()) return how;
      return slot.reported_error + " (" + how + ")";
    }
    std::lock_guard lock(slot.outcome->mutex);
    if (!slot.outcome->finished) return std::nullopt;
    if (slot.thread.joinable()) slot.thread.join();
    if (slot.outcome->error) return slot.outcome->error->describe();
    return std::string("returned without being asked to stop");
  }

  // The store's alarm: an event when writes start being refused for space, and when they are
  // taken again (each once per change; `nauto status` shows the state meanwhile).
  // The store's state edges become kernel events and log lines: filling (a warning at
  // store.warn_percent of store.max_size, while retention can still free room), full (writes
  // refused) and recovered.
  void watch_store() {
    auto* store = ctx_->store();
    if (!store) return;
    const auto st = store->stats();
    if (st.filling == store_filling_ && st.full == store_full_) return;
    json body = {{"full", st.full},
                 {"filling", st.filling},
                 {"map_size", st.map_size},
                 {"max_size", st.max_map_size},
                 {"used_bytes", st.used_bytes}};
    if (st.filling != store_filling_) {
      store_filling_ = st.filling;
      if (st.filling)
        ctx_->log().warn(
            "the store is filling: {} MiB of at most {} MiB in use; retention or a larger "
            "store.max_size is needed before writes are refused",
            st.used_bytes >> 20, st.max_map_size >> 20);
      publish_store_event(bus::schema::KernelStoreFillingEvent::kTopic, body);
    }
    if (st.full != store_full_) {
      store_full_ = st.full;  // the store logs this edge itself, with its size
      publish_store_event(st.full ? bus::schema::KernelStoreFullEvent::kTopic
                                  : bus::schema::KernelStoreRecoveredEvent::kTopic,
                          body);
    }
  }

  void publish_store_event(const char* topic, const json& body) {
    if (auto sent = ctx_->publish(topic, bus::to_body(body)); !sent)
      ctx_->log().warn("could not publish {}: {}", topic, sent.error().message);
  }

  void supervise() {
    apply_pending_specs();
    watch_store();
    const auto now = steady_us();
    const auto& sup = state_->options.supervisor;
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (slot.phase == Slot::Phase::Running) {
        if (auto why = finished(slot)) {
          schedule_restart(slot, *why);
        } else if (now - slot.last_heartbeat_us > sup.heartbeat_timeout_ms * 1000) {
          const auto silent_ms = (now - slot.last_heartbeat_us) / 1000;
          abandon(slot);
          schedule_restart(slot, "no heartbeat for " + std::to_string(silent_ms) + "ms");
        }
      } else if (slot.phase == Slot::Phase::Backoff && now >= slot.next_start_us) {
        ++slot.restarts;
        launch(slot);
        publish_lifecycle(bus::schema::KernelModuleRestartedEvent::kTopic, slot,
                          {{"restarts", slot.restarts}, {"reason", slot.restart_reason}});
        ctx_->log().info("restarted module '{}' (restart {}; after: {})", slot.spec.name,
                         slot.restarts, slot.restart_reason);
      }
    }
  }

  void abandon(Slot& slot) {
    if (slot.spec.out_of_process) {
      if (slot.pid != 0) {
        ::kill(slot.pid, SIGKILL);
        ::waitpid(slot.pid, nullptr, 0);
        slot.pid = 0;
      }
      return;
    }
    slot.control->request_stop();
    {
      std::lock_guard lock(slot.outcome->mutex);
      if (!slot.outcome->finished) {
        slot.control->abandon();
        state_->abandoned_alive->fetch_add(1);
        slot.thread.detach();
        return;
      }
    }
    if (slot.thread.joinable()) slot.thread.join();  // it ended just now: nothing to abandon
  }

  void schedule_restart(Slot& slot, const std::string& why) {
    const auto& sup = state_->options.supervisor;
    const auto ran_ms = (steady_us() - slot.started_us) / 1000;
    if (slot.backoff_ms == 0 || ran_ms >= sup.stable_after_ms) {
      slot.backoff_ms = sup.backoff_initial_ms;
    } else {
      slot.backoff_ms = std::min(slot.backoff_ms * 2, sup.backoff_max_ms);
    }
    slot.phase = Slot::Phase::Backoff;
    slot.last_error = why;
    slot.restart_reason = why;
    slot.next_start_us = steady_us() + slot.backoff_ms * 1000;
    ctx_->after(std::chrono::milliseconds(slot.backoff_ms), [this] { supervise(); });
    ctx_->log().warn("module '{}' failed: {}; restarting in {}ms", slot.spec.name, why,
                     slot.backoff_ms);
    publish_lifecycle(bus::schema::KernelModuleFailedEvent::kTopic, slot,
                      {{"reason", why}, {"retry_in_ms", slot.backoff_ms}});
  }

  // Stops a slot for good (shutdown, removal or reconfiguration).
  void halt(Slot& slot) {
    if (slot.phase != Slot::Phase::Running) {
      slot.phase = Slot::Phase::Stopped;
      return;
    }
    slot.control->request_stop();
    const auto give_up = steady_us() + state_->options.supervisor.stop_timeout_ms * 1000;
    if (slot.spec.out_of_process && slot.pid != 0) {
      ::kill(slot.pid, SIGTERM);
      while (slot.pid != 0 && steady_us() < give_up) {
        if (::waitpid(slot.pid, nullptr, WNOHANG) == slot.pid) slot.pid = 0;
        if (slot.pid) usleep(10000);  // waiting for a child process to exit
      }
      if (slot.pid != 0) {
        ::kill(slot.pid, SIGKILL);
        ::waitpid(slot.pid, nullptr, 0);
        slot.pid = 0;
      }
    } else {
      bool done = false;
      while (!done && steady_us() < give_up) {
        {
          std::lock_guard lock(slot.outcome->mutex);
          done = slot.outcome->finished;
        }
        if (!done) usleep(5000);  // waiting for the module thread to leave its loop
      }
      if (done) {
        if (slot.thread.joinable()) slot.thread.join();
      } else {
        ctx_->log().error("module '{}' did not stop within {}ms; abandoning its thread",
                          slot.spec.name, state_->options.supervisor.stop_timeout_ms);
        abandon(slot);
      }
    }
    slot.phase = Slot::Phase::Stopped;
    publish_lifecycle(bus::schema::KernelModuleStoppedEvent::kTopic, slot, {});
  }

  void apply_pending_specs() {
    std::optional<std::vector<ModuleSpec>> specs;
    {
      std::lock_guard lock(state_->mutex);
      specs.swap(state_->pending_specs);
    }
    if (!specs) return;
    // Remove or restart changed modules, then add new ones, keeping the configured order.
    std::vector<std::unique_ptr<Slot>> kept;
    for (auto& slot : slots_) {
      auto wanted = std::find_if(specs->begin(), specs->end(),
                                 [&](const ModuleSpec& s) { return s.name == slot->spec.name; });
      if (wanted == specs->end() || !(*wanted == slot->spec)) {
        halt(*slot);
        ctx_->log().info("module '{}' {} by reload", slot->spec.name,
                         wanted == specs->end() ? "removed" : "reconfigured");
        continue;
      }
      kept.push_back(std::move(slot));
    }
    slots_ = std::move(kept);
    for (const auto& spec : *specs) {
      const bool running = std::any_of(slots_.begin(), slots_.end(),
                                       [&](const auto& s) { return s->spec.name == spec.name; });
      if (running) continue;
      slots_.push_back(std::make_unique<Slot>());
      slots_.back()->spec = spec;
      launch(*slots_.back());
    }
  }

  void publish_lifecycle(const char* topic, const Slot& slot, json extra) {
    extra["module"] = slot.spec.name;
    extra["isolation"] = slot.spec.out_of_process ? "process" : "thread";
    if (auto sent = ctx_->publish(topic, bus::to_body(extra)); !sent) {
      ctx_->log().warn("could not publish {}: {}", topic, sent.error().message);
    }
  }

  std::shared_ptr<ModuleHost::State> state_;
  bool store_full_ = false;
  bool store_filling_ = false;
  Context* ctx_ = nullptr;  // valid between start() and stop()
  std::int64_t started_us_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;
};

Result<std::unique_ptr<ModuleHost>> ModuleHost::create(std::shared_ptr<zmq::context_t> context,
                                                       HostOptions options,
                                                       std::vector<ModuleSpec> specs) {
  if (auto valid = validate_module_specs(specs); !valid) return std::move(valid).error();
  auto host = std::unique_ptr<ModuleHost>(new ModuleHost());
  host->state_ = std::make_shared<State>();
  host->state_->context = std::move(context);
  host->state_->options = std::move(options);
  host->state_->initial_specs = std::move(specs);
  return host;
}

ModuleHost::~ModuleHost() {
  stop();
}

Result<void> ModuleHost::start() {
  auto state = state_;
  auto ready = state->ready.get_future();
  thread_ = std::thread([state] {
    pthread_setname_np(pthread_self(), "host");
    RunnerOptions runner;
    runner.endpoint = state->options.inproc_endpoint;
    runner.heartbeat_interval_ms = state->options.supervisor.heartbeat_interval_ms;
    runner.store = state->options.store;
    ModuleRunner kernel_runner(*state->context, std::make_unique<KernelModule>(state),
                               std::move(runner), state->kernel_control);
    auto result = kernel_runner.run();
    if (!result) logger("kernel.host")->error("module host stopped: {}", result.error().describe());
    state->set_ready(std::move(result));
  });
  return ready.get();
}

void ModuleHost::stop() {
  if (!state_) return;
  state_->kernel_control->request_stop();
  if (thread_.joinable()) thread_.join();
}

Result<void> ModuleHost::reconfigure(std::vector<ModuleSpec> specs) {
  if (auto valid = validate_module_specs(specs); !valid) return valid;
  std::lock_guard lock(state_->mutex);
  state_->pending_specs = std::move(specs);
  state_->supervise_bell->ring();
  return ok();
}

int ModuleHost::abandoned_threads() const {
  return state_ ? state_->abandoned_alive->load() : 0;
}

}  // namespace nauto::kernel
