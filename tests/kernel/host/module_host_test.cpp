#include "host/module_host.h"

#include <sched.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "nauto/sdk/registry.h"
#include "support/bus_fixture.h"
#include "support/thread_wakeups.h"

using namespace nauto;
using namespace nauto::test;
using nlohmann::json;

namespace {

// Test modules. Each serves "<name>.ping"; "crashy.crash" throws; an event "hang.now" blocks the
// hanging module's thread until released (standing in for a module stuck in a blocking call).
std::mutex g_hang_mutex;
std::condition_variable g_hang_cv;
bool g_release_hang = false;
std::atomic<int> g_failing_starts{0};

class PingModule : public Module {
 public:
  explicit PingModule(std::string name, std::vector<std::string> subscribes = {})
      : name_(std::move(name)), subscribes_(std::move(subscribes)) {}
  Manifest manifest() const override {
    return {name_, "test", subscribes_, {name_ + ".ping", name_ + ".crash"}, {}, {}, {}};
  }
  Result<void> validate(const json& config) const override {
    if (config.contains("bad")) return fail(Errc::InvalidConfig, "modules." + name_ + ".bad: no");
    return ok();
  }
  Result<void> start(Context&) override { return ok(); }
  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    if (request.topic == name_ + ".crash") throw std::runtime_error("asked to crash");
    reply.ok_json({{"pong", ctx.name()}});
  }

 protected:
  std::string name_;
  std::vector<std::string> subscribes_;
};

class CrashyModule final : public PingModule {
 public:
  CrashyModule() : PingModule("crashy") {}
};
class SteadyModule final : public PingModule {
 public:
  SteadyModule() : PingModule("steady") {}
};
class HangModule final : public PingModule {
 public:
  HangModule() : PingModule("hang", {"hang."}) {}
  void on_event(const bus::Envelope& event, Context&) override {
    if (event.topic != "hang.now") return;
    std::unique_lock lock(g_hang_mutex);
    g_hang_cv.wait(lock, [] { return g_release_hang; });
  }
};
class FlakyStartModule final : public PingModule {
 public:
  FlakyStartModule() : PingModule("flaky") {}
  Result<void> start(Context&) override {
    if (g_failing_starts.fetch_sub(1) > 0) return fail(Errc::Unavailable, "not yet");
    return ok();
  }
};

// Answers with the scheduling policy of the thread it runs on.
class PolicyModule final : public PingModule {
 public:
  PolicyModule() : PingModule("policy") {}
  void on_request(const bus::Envelope&, Context&, Reply reply) override {
    reply.ok_json({{"batch", sched_getscheduler(0) == SCHED_BATCH}});
  }
};

NAUTO_REGISTER_MODULE(PolicyModule, "policy");
NAUTO_REGISTER_MODULE(CrashyModule, "crashy");
NAUTO_REGISTER_MODULE(SteadyModule, "steady");
NAUTO_REGISTER_MODULE(HangModule, "hang");
NAUTO_REGISTER_MODULE(FlakyStartModule, "flaky");

struct HostFixture : BusFixture {
  std::unique_ptr<kernel::ModuleHost> host;
  bus::BusClient watcher = client("watcher");

  explicit HostFixture(std::vector<std::string> names, std::vector<std::string> batch = {},
                       std::int64_t heartbeat_interval_ms = 50) {
    REQUIRE(watcher.subscribe({"kernel.module."}, 2000));
    kernel::HostOptions options;
    options.inproc_endpoint = endpoint;
    options.supervisor.heartbeat_interval_ms = heartbeat_interval_ms;
    options.supervisor.heartbeat_timeout_ms =
        std::max<std::int64_t>(400, heartbeat_interval_ms * 8);
    options.supervisor.backoff_initial_ms = 50;
    options.supervisor.backoff_max_ms = 400;
    std::vector<kernel::ModuleSpec> specs;
    for (auto& n : names) {
      const bool is_batch = std::find(batch.begin(), batch.end(), n) != batch.end();
      specs.push_back(
          {n, json::object(), false, is_batch ? Scheduling::Batch : Scheduling::Normal});
    }
    auto created = kernel::ModuleHost::create(context, options, specs);
    REQUIRE(created);
    host = std::move(*created);
    REQUIRE(host->start());
  }
  ~HostFixture() { host.reset(); }

  Result<json> call(const std::string& service, int timeout_ms = 2000) {
    auto c = client("caller");
    return c.call(service, json::object(), timeout_ms);
  }
  bool ready(const std::string& name) {
    return eventually([&] { return bool(call(name + ".ping", 300)); });
  }
  json module_row(const std::string& name) {
    auto status = call("kernel.status");
    if (!status) return nullptr;
    for (const auto& m : (*status)["modules"]) {
      if (m["name"] == name) return m;
    }
    return nullptr;
  }
  // Next lifecycle event with `topic` about `module`, within `timeout_ms`.
  json wait_for(const std::string& topic, const std::string& module, int timeout_ms = 3000) {
    const auto give_up = steady_us() + timeout_ms * 1000;
    while (steady_us() < give_up) {
      auto e = watcher.next_event(100);
      if (!e || !*e) continue;
      auto body = bus::from_body((*e)->body);
      if ((*e)->topic == topic && body && (*body)["module"] == module) return *body;
    }
    return nullptr;
  }
};

}  // namespace

TEST_CASE("a module that throws is restarted and the others keep serving", "[host]") {
  HostFixture fx({"crashy", "steady"});
  REQUIRE(fx.ready("crashy"));
  REQUIRE(fx.ready("steady"));
  auto crashed = fx.call("crashy.crash", 500);
  CHECK_FALSE(crashed);  // the thread died mid-request: the router answers at the deadline
  const auto failed = fx.wait_for("kernel.module.failed", "crashy");
  REQUIRE(failed.is_object());
  CHECK(failed["reason"].get<std::string>().find("asked to crash") != std::string::npos);
  CHECK(fx.call("steady.ping"));  // unaffected
  const auto restarted = fx.wait_for("kernel.module.restarted", "crashy");
  REQUIRE(restarted.is_object());
  CHECK(restarted["restarts"] == 1);
  REQUIRE(fx.ready("crashy"));
  const auto row = fx.module_row("crashy");
  CHECK(row["restarts"] == 1);
  CHECK(row["state"] == "running");
  CHECK(row["last_error"].get<std::string>().find("asked to crash") != std::string::npos);
  CHECK(fx.module_row("steady")["restarts"] == 0);
}

TEST_CASE("a module's thread runs with the scheduling its config asks for", "[host]") {
  {
    HostFixture f({"policy"}, {"policy"});
    REQUIRE(f.ready("policy"));
    CHECK((*f.call("policy.ping"))["batch"] == true);
  }
  HostFixture normal({"policy"});
  REQUIRE(normal.ready("policy"));
  CHECK((*normal.call("policy.ping"))["batch"] == false);
}

TEST_CASE("idle module and supervisor threads sleep until something is due",
          "[host]") {
  auto fx = std::make_unique<HostFixture>(std::vector<std::string>{"steady"},
                                          std::vector<std::string>{}, 5000);
  REQUIRE(fx->ready("steady"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto before = thread_wakeups("mod/steady");
  const auto host_before = thread_wakeups("host");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto woken = thread_wakeups("mod/steady") - before;
  const auto host_woken = thread_wakeups("host") - host_before;
  INFO("wake-ups in 1 s idle: module " << woken << ", supervisor " << host_woken);
  CHECK(woken <= 2);               // its loop polled every 50 ms: 20 a second
  CHECK(host_woken <= 2);          // the supervisor looked every 50 ms too
  CHECK(fx->call("steady.ping"));  // and a request still wakes it
  const auto stopping = steady_us();
  fx.reset();  // the host stops the module (and the kernel's own runner) through their bells
  CHECK(steady_us() - stopping < 200'000);
}

TEST_CASE("repeated failures back off exponentially", "[host]") {
  HostFixture fx({"crashy"});
  std::vector<std::int64_t> retry_in;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(fx.ready("crashy"));
    (void)fx.call("crashy.crash", 200);
    const auto failed = fx.wait_for("kernel.module.failed", "crashy");
    REQUIRE(failed.is_object());
    retry_in.push_back(failed["retry_in_ms"].get<std::int64_t>());
  }
  CHECK(retry_in == std::vector<std::int64_t>{50, 100, 200, 400});
}

TEST_CASE("a module that stops sending heartbeats is replaced", "[host]") {
  {
    std::lock_guard lock(g_hang_mutex);
    g_release_hang = false;
  }
  HostFixture fx({"hang", "steady"});
  REQUIRE(fx.ready("hang"));
  auto publisher = fx.client("pub");
  REQUIRE(publisher.publish("hang.now", json::object()));
  const auto failed = fx.wait_for("kernel.module.failed", "hang");
  REQUIRE(failed.is_object());
  CHECK(failed["reason"].get<std::string>().find("no heartbeat") != std::string::npos);
  REQUIRE(fx.wait_for("kernel.module.restarted", "hang").is_object());
  REQUIRE(fx.ready("hang"));  // the new instance answers while the old thread is still stuck
  CHECK(fx.call("steady.ping"));
  {
    auto status = fx.call("kernel.status");
    REQUIRE(status);
    CHECK((*status)["abandoned_threads"] == 1);
  }
  {
    std::lock_guard lock(g_hang_mutex);
    g_release_hang = true;
  }
  g_hang_cv.notify_all();
  CHECK(eventually([&] { return fx.host->abandoned_threads() == 0; }));
  CHECK(fx.call("hang.ping"));  // the released old instance did not take the identity back
}

TEST_CASE("a module whose start fails is retried until it starts", "[host]") {
  g_failing_starts = 2;
  HostFixture fx({"flaky"});
  REQUIRE(fx.wait_for("kernel.module.failed", "flaky").is_object());
  REQUIRE(fx.ready("flaky"));
  CHECK(fx.module_row("flaky")["restarts"] == 2);
}

TEST_CASE("unknown modules and invalid module config are rejected before anything starts",
          "[host]") {
  auto unknown = kernel::validate_module_specs({{"nosuch", json::object(), false}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("modules.nosuch: no such module") != std::string::npos);
  auto bad = kernel::validate_module_specs({{"steady", json{{"bad", 1}}, false}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("modules.steady.bad") != std::string::npos);
}

TEST_CASE("reconfigure adds and removes modules", "[host]") {
  HostFixture fx({"steady"});
  REQUIRE(fx.ready("steady"));
  REQUIRE(fx.host->reconfigure({{"crashy", json::object(), false}}));
  REQUIRE(fx.ready("crashy"));
  REQUIRE(eventually([&] {
    auto r = fx.call("steady.ping", 200);
    return !r && r.error().code == Errc::Unavailable;
  }));
  auto rejected = fx.host->reconfigure({{"nosuch", json::object(), false}});
  CHECK_FALSE(rejected);
  CHECK(fx.call("crashy.ping"));  // a rejected reload changes nothing
}
