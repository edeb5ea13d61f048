#pragma once
// A RunEngine on a temporary store with a scripted bus: services answer after a delay chosen
// by the test, timers fire in real time, events are kept for inspection.

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/runbook/run_engine.h"

namespace nauto::runbook::testing {

using nlohmann::json;

struct Answer {
  Result<json> result;
  std::int64_t delay_ms = 0;
};

class ScriptedBus final : public BusPort {
 public:
  using Service = std::function<Answer(const json& body)>;
  std::map<std::string, Service> services;
  std::vector<std::pair<std::string, json>> events;
  int in_flight = 0;
  int peak_in_flight = 0;

  void request(const std::string& service, const json& body, std::int64_t,
               ReplyFn on_reply) override {
    const auto it = services.find(service);
    Answer answer = it == services.end()
                        ? Answer{fail(Errc::Unavailable, "nobody serves " + service), 0}
                        : it->second(body);
    ++in_flight;
    peak_in_flight = std::max(peak_in_flight, in_flight);
    after(answer.delay_ms, [this, on_reply, result = answer.result]() mutable {
      --in_flight;
      on_reply(std::move(result));
    });
  }
  void publish(const std::string& topic, const json& body) override {
    events.emplace_back(topic, body);
  }
  std::uint64_t after(std::int64_t delay_ms, std::function<void()> fn) override {
    timers_[next_id_] = {steady_us() + delay_ms * 1000, std::move(fn)};
    return next_id_++;
  }
  void cancel_timer(std::uint64_t id) override { timers_.erase(id); }
  std::uint64_t watch(int fd, std::function<void()> on_readable) override {
    watches_[next_id_] = {fd, std::move(on_readable)};
    return next_id_++;
  }
  void unwatch(std::uint64_t id) override { watches_.erase(id); }

  /// Fires due timers until `done()` or `limit_ms` passes. False on the time limit.
  bool run_until(const std::function<bool()>& done, std::int64_t limit_ms = 10'000) {
    const auto give_up = steady_us() + limit_ms * 1000;
    while (!done()) {
      if (steady_us() > give_up) return false;
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (next == timers_.end() || it->second.first < next->second.first) next = it;
      }
      const auto wait_us = next == timers_.end() ? 1000 : next->second.first - steady_us();
      // Sleeps in poll() on the watched fds, as a module's loop does, so a Doorbell wakes it;
      // a due timer does not starve them.
      const int wait_ms = static_cast<int>(std::clamp<std::int64_t>((wait_us + 999) / 1000, 0, 5));
      serve_watches(wait_ms);
      if (wait_us > 0) continue;
      auto fn = std::move(next->second.second);
      timers_.erase(next);
      fn();
    }
    return true;
  }
  /// Runs the callbacks of the watched fds that turn readable within `wait_ms`.
  void serve_watches(int wait_ms) {
    std::vector<pollfd> fds;
    for (const auto& [id, w] : watches_)
      fds.push_back({w.first, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), wait_ms) <= 0) return;
    for (const auto& p : fds) {
      if (!(p.revents & POLLIN)) continue;
      for (const auto& [id, w] : watches_) {
        if (w.first != p.fd) continue;
        auto fn = w.second;  // a copy: the callback may unwatch
        fn();
        break;
      }
    }
  }
  /// Drops every pending timer and answer (a crash: nothing in flight is delivered).
  void crash() {
    timers_.clear();
    in_flight = 0;
  }
  std::size_t count(const std::string& topic) const {
    std::size_t n = 0;
    for (const auto& e : events)
      n += e.first == topic;
    return n;
  }

 private:
  std::map<std::uint64_t, std::pair<std::int64_t, std::function<void()>>> timers_;
  std::map<std::uint64_t, std::pair<int, std::function<void()>>> watches_;
  std::uint64_t next_id_ = 1;
};

class Harness {
 public:
  explicit Harness(EngineOptions options = {}, std::vector<std::string> dirs = {})
      : options_(std::move(options)), dirs_(std::move(dirs)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("nauto-runbook-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(dir_);
    store::StoreOptions store_options;
    store_options.path = dir_.string();
    store_options.tables = {kRunsTable, kRunStepsTable, kRunbookStateTable};
    store_ = store::Store::open(store_options).value();
    restart();
  }
  ~Harness() {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// A new engine on the same store, as after nautod restarts (the old one is dropped).
  void restart() {
    bus.crash();
    engine_.reset();
    engine_ = std::make_unique<RunEngine>(options_, *store_, RunbookCatalog(dirs_), bus);
  }
  RunEngine& engine() { return *engine_; }

  /// Starts a runbook given as text; the start's error, or the run id.
  Result<std::string> start(const std::string& source, json params = json::object(),
                            const std::string& name = "test.lua", bool dry_run = false) {
    StartRequest request;
    request.runbook = name;
    request.source = source;
    request.params = std::move(params);
    request.dry_run = dry_run;
    request.started_by = "tester";
    std::optional<Result<json>> started;
    engine_->start(request, [&](Result<json> r) { started = std::move(r); });
    bus.run_until([&] { return started.has_value(); });
    if (!started) return fail(Errc::Timeout, "run.start was not answered");
    if (!*started) return started->error();
    return (**started)["id"].get<std::string>();
  }

  json record(const std::string& id) { return *engine_->status(id); }
  std::string state(const std::string& id) { return record(id).value("state", ""); }
  /// Waits for the run to end; its record.
  json finish(const std::string& id, std::int64_t limit_ms = 10'000) {
    bus.run_until([&] { return state(id) != "running"; }, limit_ms);
    return record(id);
  }
  /// Starts and waits; the record (or {"start_error": ...}).
  json run(const std::string& source, json params = json::object(),
           const std::string& name = "test.lua") {
    auto id = start(source, std::move(params), name);
    if (!id) return json{{"start_error", id.error().describe()}};
    return finish(*id);
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  EngineOptions options_;
  std::vector<std::string> dirs_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RunEngine> engine_;

 public:
  ScriptedBus bus;
};

}  // namespace nauto::runbook::testing
