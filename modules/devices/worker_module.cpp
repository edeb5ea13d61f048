// The worker module: what `nautod --worker` runs (docs/workers.md, ADR 0020). It connects to a
// control node's bus over tcp with its CURVE key (its principal, with the builtin role
// `worker`), joins its pool (work.join), and runs the WorkerEngine: its pool's items from Redis
// through the devices module's engine and drivers. It serves nothing; it asks the control node
// for the credentials of the devices its items name (work.credentials), which never pass
// through Redis.
//
// Config (built by nautod --worker from its flags): pool, redis (URL), ca_file, cert_file,
// key_file, host, max_sessions, session_threads, device_timeout, attempts, retry_delay,
// platform_dir.

#include <unistd.h>

#include <future>
#include <mutex>

#include "nauto/base/doorbell.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/module.h"
#include "nauto/sdk/registry.h"
#include "worker_engine.h"

namespace nauto::mod::devices {

using namespace nauto::devices;
using nlohmann::json;

namespace {

constexpr std::int64_t kCallTimeoutMs = 30'000;
constexpr auto kJoinRetry = std::chrono::seconds(2);

struct WorkerConfig {
  WorkerSettings settings;
  std::string platform_dir;
};

Result<WorkerConfig> read_config(const json& config) {
  WorkerConfig c;
  auto& s = c.settings;
  ConfigReader r(config, "worker");
  s.pool = r.string("pool", "");
  const auto url = r.string("redis", "");
  const auto ca_file = r.string("ca_file", "");
  const auto cert_file = r.string("cert_file", "");
  const auto key_file = r.string("key_file", "");
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  s.host = r.string("host", hostname);
  s.max_sessions = static_cast<int>(r.integer("max_sessions", 100, 1, 10000));
  s.session_threads = static_cast<int>(r.integer("session_threads", 0, 0, 64));
  s.device_timeout_ms = r.duration_ms("device_timeout", 120'000, 100);
  s.retry.max_attempts = static_cast<int>(r.integer("attempts", 3, 1, 20));
  s.retry.base_delay_ms = r.duration_ms("retry_delay", 500, 1);
  c.platform_dir = r.string("platform_dir", "");
  if (auto done = r.finish(); !done) return std::move(done).error();
  if (s.pool.empty() || s.pool == "local")
    return fail(Errc::InvalidConfig, "worker: --pool NAME (the pool whose items it runs)");
  auto endpoint = parse_redis_url(url);
  if (!endpoint) return fail(Errc::InvalidConfig, "worker: --redis: " + endpoint.error().message);
  s.redis = *endpoint;
  s.redis.ca_file = ca_file;
  s.redis.cert_file = cert_file;
  s.redis.key_file = key_file;
  return c;
}

}  // namespace

class WorkerModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("worker", "a worker node: its pool's items from Redis", {}, {});
  }

  Result<void> validate(const json& config) const override {
    auto read = read_config(config);
    if (!read) return std::move(read).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto config = read_config(ctx.config());
    if (!config) return std::move(config).error();
    config_ = std::move(*config);
    auto catalog = drivers::PlatformCatalog::load_default();
    if (!catalog) return std::move(catalog).error();
    if (!config_.platform_dir.empty())
      if (auto loaded = catalog->load_directory(config_.platform_dir); !loaded)
        return std::move(loaded).error();
    catalog_ = std::make_unique<drivers::PlatformCatalog>(std::move(*catalog));
    auto watched = ctx.watch(asks_bell_.fd(), [this, &ctx] { ask_control(ctx); });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    join(ctx);
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    {
      std::lock_guard lock(asks_mutex_);
      stopping_ = true;
      for (auto& ask : asks_)
        ask.answer.set_value(fail(Errc::Unavailable, "the worker is stopping"));
      asks_.clear();
    }
    engine_.reset();
    if (watch_) ctx.unwatch(watch_);
    watch_ = 0;
  }

 private:
  // Asks the control node until it answers: it may start after this worker, or be restarting.
  void join(Context& ctx) {
    ctx.request(
        bus::schema::WorkJoinRequest::kTopic,
        bus::to_body(json{{"pool", config_.settings.pool}, {"host", config_.settings.host}}),
        kCallTimeoutMs, [this, &ctx](Result<std::string> answer) {
          using Joined = bus::schema::WorkJoinReply;
          auto joined =
              answer ? bus::schema::decode_body<Joined>(*answer) : Result<Joined>(answer.error());
          if (!joined) {
            ctx.log().warn("cannot join pool {}: {}; asking again in 2 s", config_.settings.pool,
                           joined.error().describe());
            ctx.after(kJoinRetry, [this, &ctx] { join(ctx); });
            return;
          }
          auto settings = config_.settings;
          settings.name = joined->worker;
          settings.redis.username = joined->redis.value("username", settings.redis.username);
          settings.redis.password = joined->redis.value("password", "");
          settings.control_key = joined->control_key;
          settings.result_key = joined->result_key;
          settings.min_idle_ms = joined->min_idle_ms;
          settings.max_deliveries = static_cast<int>(joined->max_deliveries);
          ctx.log().info("joined pool {} as {}; items from {}", settings.pool, settings.name,
                         describe(settings.redis));
          engine_ = std::make_unique<WorkerEngine>(
              std::move(settings), *catalog_,
              [this](const std::vector<std::string>& devices) { return credentials(devices); });
        });
  }

  // On the engine's intake thread: hands the question to the module's thread and waits.
  Result<json> credentials(const std::vector<std::string>& devices) {
    std::future<Result<json>> answer;
    {
      std::lock_guard lock(asks_mutex_);
      if (stopping_) return fail(Errc::Unavailable, "the worker is stopping");
      asks_.push_back({devices, {}});
      answer = asks_.back().answer.get_future();
    }
    asks_bell_.ring();
    if (answer.wait_for(std::chrono::milliseconds(kCallTimeoutMs + 1000)) !=
        std::future_status::ready)
      return fail(Errc::Timeout, "the control node did not answer work.credentials");
    return answer.get();
  }

  // On the module's thread: each waiting question becomes a work.credentials request.
  void ask_control(Context& ctx) {
    asks_bell_.drain();
    std::vector<Ask> asks;
    {
      std::lock_guard lock(asks_mutex_);
      asks.swap(asks_);
    }
    for (auto& ask : asks) {
      auto promise = std::make_shared<std::promise<Result<json>>>(std::move(ask.answer));
      ask_credentials(ctx, std::move(ask.devices), promise, true);
    }
  }

  // A control node that restarted has forgotten who joined: the worker joins again, once, and
  // asks again.
  void ask_credentials(Context& ctx, std::vector<std::string> devices,
                       std::shared_ptr<std::promise<Result<json>>> promise, bool may_rejoin) {
    ctx.request(bus::schema::WorkCredentialsRequest::kTopic,
                bus::to_body(json{{"devices", devices}}), kCallTimeoutMs,
                [this, &ctx, devices, promise, may_rejoin](Result<std::string> answer) {
                  auto body = bus::from_reply(answer);
                  if (!body && may_rejoin && body.error().code == Errc::PermissionDenied &&
                      body.error().message.find("has not joined") != std::string::npos) {
                    return ctx.request(bus::schema::WorkJoinRequest::kTopic,
                                       bus::to_body(json{{"pool", config_.settings.pool},
                                                         {"host", config_.settings.host}}),
                                       kCallTimeoutMs,
                                       [this, &ctx, devices, promise](Result<std::string> joined) {
                                         if (!joined) return promise->set_value(joined.error());
                                         ask_credentials(ctx, devices, promise, false);
                                       });
                  }
                  if (!body) return promise->set_value(body.error());
                  promise->set_value(body->value("credentials", json::object()));
                });
  }

  struct Ask {
    std::vector<std::string> devices;
    std::promise<Result<json>> answer;
  };
  WorkerConfig config_;
  std::unique_ptr<drivers::PlatformCatalog> catalog_;
  std::unique_ptr<WorkerEngine> engine_;
  Doorbell asks_bell_;
  std::mutex asks_mutex_;
  std::vector<Ask> asks_;
  bool stopping_ = false;
  Context::TimerId watch_ = 0;
};

NAUTO_REGISTER_MODULE(WorkerModule, "worker");

}  // namespace nauto::mod::devices
