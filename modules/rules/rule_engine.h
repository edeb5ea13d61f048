#pragma once
// RuleEngine: decides, event by event, whether a rule fires — and records why not when it
// does not. It owns the rules' state (windows, dedup, debounce timers, cooldowns, budgets,
// runs in flight, loop guards) and nothing else: the module gives it time, timers and a way
// to publish and to act (Hooks), so it is tested without a bus.
//
// For one event and one rule, in order:
//   topic and `when:` match -> loop guard (the device is being remediated by this rule: the
//   event is its own consequence; suppressed, tagged with the remediation's chain) -> dedup ->
//   threshold window -> debounce -> cooldown -> rule budget -> device budget -> concurrency ->
//   fire: `rule.fired` and the action, with chain = the triggering event's id.
// Decisions worth an operator's attention are events (rule.fired, rule.suppressed,
// rule.skipped, rule.budget_exhausted); dedup, threshold and debounce only count, since a
// flood would otherwise produce a second flood.
// Single-threaded (the module's thread).

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_fields.h"
#include "nauto/base/result.h"
#include "rule.h"

namespace nauto::rules {

struct EngineSettings {
  CountWindow rule_budget{20, 3'600'000};   ///< per rule, all devices (a rule may override)
  CountWindow device_budget{3, 3'600'000};  ///< per device, all rules
  std::int64_t settle_ms = 30'000;          ///< loop guard kept this long after a remediation ends
  std::int64_t guard_max_ms = 3'600'000;    ///< a guard whose run never reports ends anyway
};

struct RuleCounters {
  std::uint64_t matched = 0, fired = 0, deduplicated = 0, below_threshold = 0, debounced = 0,
                suppressed = 0, cooled_down = 0, over_budget = 0, over_concurrency = 0,
                action_failed = 0;
  nlohmann::json to_json() const;
};

class RuleEngine {
 public:
  struct Hooks {
    std::function<std::int64_t()> now_ms;
    std::function<std::uint64_t(std::int64_t delay_ms, std::function<void()>)> after;
    std::function<void(std::uint64_t)> cancel;
    std::function<void(const std::string& topic, nlohmann::json body)> publish;
    /// Carry out the rule's action; call action_started/action_failed when it is known.
    std::function<void(const Rule&, const nlohmann::json& event, const std::string& chain,
                       const std::string& device)>
        act;
    /// Called when a firing has been recorded (budget spent, cooldown and loop guard set) and
    /// before its action: the module makes the state durable here, so that a crash during
    /// the action cannot forget the firing and let the rule fire again. May be empty.
    std::function<void()> fired;
  };

  RuleEngine(EngineSettings settings, Hooks hooks);
  ~RuleEngine();

  /// Installs a new rule set; state of rules that keep their name is kept.
  void replace_rules(std::vector<Rule> rules);
  const std::vector<Rule>& rules() const { return rules_; }

  /// One bus event, its body as msgpack bytes as it came: conditions read the fields they test
  /// in place, and the body is decoded only for a rule whose condition holds.
  void on_packed_event(const std::string& topic, const std::string& id, std::string_view body);
  /// One event, its body decoded already.
  void on_event(const std::string& topic, const std::string& id, nlohmann::json body);
  /// The action of a firing (chain) started a run.
  void action_started(const std::string& rule, const std::string& chain, const std::string& run);
  /// The action of a firing could not be carried out (the run did not start, ...).
  void action_failed(const std::string& rule, const std::string& chain, const std::string& device,
                     const std::string& error);
  /// A run ended (run.finished): frees its concurrency slot; its loop guard settles.
  void run_finished(const std::string& run);

  /// Whether `event` ({topic, body}) would fire `rule` now, and why — without changing state.
  nlohmann::json test(const std::string& rule, const nlohmann::json& event) const;
  nlohmann::json stats() const;

  /// Everything a restart must not lose, as a document for the store: dedup times, threshold
  /// windows, cooldowns, budgets, loop guards, runs in flight and the counters (times are
  /// Hooks::now_ms values, so the module's clock must be the wall clock). Debounces waiting
  /// to fire are not kept: the next event starts them again. Clears dirty().
  nlohmann::json snapshot();
  /// Takes a snapshot() back, after replace_rules(); the state of rules no longer loaded is
  /// dropped. Errc::Malformed (and nothing restored) when the document is not a snapshot.
  Result<void> restore(const nlohmann::json& snapshot);
  /// Whether the state changed since the last snapshot().
  bool dirty() const { return dirty_; }

  /// The device an event is about: body.device, else the topic's second segment for device.*.
  static std::string device_of(const std::string& topic, const nlohmann::json& view);

 private:
  struct RuleState;
  struct Guard {
    std::string chain;
    std::int64_t until_ms = 0;  ///< 0 while the run is going
  };

  void offer(const std::vector<std::size_t>& listening, const EventFields& event);
  void consider(const Rule& rule, RuleState& state, const nlohmann::json& view);
  void fire_stage(const Rule& rule, const nlohmann::json& view);
  std::string group_key(const Rule& rule, const nlohmann::json& view) const;
  bool within_budget(std::deque<std::int64_t>& fires, const CountWindow& budget,
                     std::int64_t now) const;
  const Guard* guard_for(const std::string& rule, const std::string& device) const;
  RuleState& state_of(const std::string& rule);
  const std::vector<std::size_t>& rules_for(const std::string& topic) const;

  static constexpr std::size_t kTopicCacheSize = 65536;
  EngineSettings settings_;
  Hooks hooks_;
  std::vector<Rule> rules_;
  mutable std::unordered_map<std::string, std::vector<std::size_t>> topic_cache_;
  std::map<std::string, std::unique_ptr<RuleState>> states_;
  std::map<std::string, std::deque<std::int64_t>> device_fires_;
  std::map<std::string, std::int64_t> device_budget_noticed_;
  std::map<std::pair<std::string, std::string>, Guard> guards_;  // (rule, device)
  struct Running {
    std::string rule, device;
  };
  std::map<std::string, Running> runs_;      // run id -> its firing
  std::map<std::string, Running> starting_;  // chain -> a firing whose run has no id yet
  bool dirty_ = false;
};

}  // namespace nauto::rules
