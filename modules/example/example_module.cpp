// The example module: a small, complete module to copy when writing a new one.
//   - serves example.echo: answers with the request body, plus the configured greeting;
//   - serves example.fail: throws, to show (and test) supervision: the module is restarted
//     with backoff and kernel.module.failed / kernel.module.restarted are published;
//   - serves example.stall {seconds}: blocks the module's thread that long without answering,
//     to show heartbeat supervision: past supervisor.heartbeat_timeout the module is declared
//     hung (a child process is killed) and restarted;
//   - publishes example.tick every tick_interval if that key is set.
// Runs in-process or with `isolation: process` alike.

#include <chrono>
#include <thread>

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"

namespace nauto::mod::example {

using nlohmann::json;

struct ExampleSettings {
  std::string greeting = "hello";
  std::int64_t tick_interval_ms = 0;  // 0 = no ticks
};

Result<ExampleSettings> read_settings(const json& config) {
  ExampleSettings s;
  ConfigReader r(config, "modules.example");
  s.greeting = r.string("greeting", s.greeting);
  s.tick_interval_ms = r.duration_ms("tick_interval", 0, 0);
  if (auto done = r.finish(); !done) return std::move(done).error();
  return s;
}

class ExampleModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("example", "copy-me template: echo and a deliberate failure", {}, {});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = *s;
    if (settings_.tick_interval_ms > 0) {
      ctx.every(std::chrono::milliseconds(settings_.tick_interval_ms), [this, &ctx] {
        (void)ctx.publish(bus::schema::ExampleTickEvent::kTopic,
                          bus::to_body(json{{"tick", ++ticks_}}));
      });
    }
    return ok();
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    namespace schema = bus::schema;
    if (request.topic == schema::ExampleFailRequest::kTopic) {
      throw std::runtime_error("example.fail was called: failing on purpose");
    }
    if (request.topic == schema::ExampleStallRequest::kTopic) {
      auto args = schema::decode_body<schema::ExampleStallRequest>(request.body);
      if (!args) return reply.fail(args.error());
      const auto seconds = args->seconds;
      if (seconds < 1 || seconds > 3600) {
        return reply.fail(fail(Errc::InvalidArgument, "seconds: expected 1 to 3600",
                               bus::schema::ExampleStallRequest::kTopic));
      }
      // Deliberately blocks this module's thread: no events, no heartbeats until it returns.
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      return reply.ok_json({{"stalled_s", seconds}});
    }
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    reply.ok_json({{"echo", *body}, {"greeting", settings_.greeting}, {"from", ctx.name()}});
  }

 private:
  ExampleSettings settings_;
  std::uint64_t ticks_ = 0;
};

NAUTO_REGISTER_MODULE(ExampleModule, "example");

}  // namespace nauto::mod::example
