#include "rule_engine.h"

#include <algorithm>

#include "nauto/bus/schema_types.h"
#include "nauto/bus/topic_match.h"

namespace nauto::rules {

using nlohmann::json;

struct RuleEngine::RuleState {
  RuleCounters counters;
  std::map<std::string, std::int64_t> last_passed;         // dedup, by group
  std::map<std::string, std::deque<std::int64_t>> window;  // threshold, by group
  std::map<std::string, std::uint64_t> debounce_timers;    // by group
  std::map<std::string, json> debounced_event;             // by group: the latest event
  std::map<std::string, std::int64_t> cooldown_until;      // by group
  std::deque<std::int64_t> fires;                          // rule budget
  std::int64_t budget_noticed_until = 0;
  int in_flight = 0;
};

json RuleCounters::to_json() const {
  return {{"matched", matched},
          {"fired", fired},
          {"deduplicated", deduplicated},
          {"below_threshold", below_threshold},
          {"debounced", debounced},
          {"suppressed", suppressed},
          {"cooled_down", cooled_down},
          {"over_budget", over_budget},
          {"over_concurrency", over_concurrency},
          {"action_failed", action_failed}};
}

RuleEngine::RuleEngine(EngineSettings settings, Hooks hooks)
    : settings_(settings), hooks_(std::move(hooks)) {}

RuleEngine::~RuleEngine() {
  for (auto& [name, state] : states_) {
    for (const auto& [group, timer] : state->debounce_timers)
      hooks_.cancel(timer);
  }
}

void RuleEngine::replace_rules(std::vector<Rule> rules) {
  std::set<std::string> names;
  for (const auto& rule : rules)
    names.insert(rule.name);
  for (auto it = states_.begin(); it != states_.end();) {
    if (names.contains(it->first)) {
      ++it;
      continue;
    }
    for (const auto& [group, timer] : it->second->debounce_timers)
      hooks_.cancel(timer);
    it = states_.erase(it);
  }
  rules_ = std::move(rules);
  topic_cache_.clear();
}

RuleEngine::RuleState& RuleEngine::state_of(const std::string& rule) {
  auto& state = states_[rule];
  if (!state) state = std::make_unique<RuleState>();
  return *state;
}

std::string RuleEngine::device_of(const std::string& topic, const json& view) {
  if (auto it = view.find("device"); it != view.end() && it->is_string() && !it->empty())
    return it->get<std::string>();
  if (topic.rfind("device.", 0) == 0) {
    const auto end = topic.find('.', 7);
    return topic.substr(7, end == std::string::npos ? std::string::npos : end - 7);
  }
  return {};
}

std::string RuleEngine::group_key(const Rule& rule, const json& view) const {
  std::string key;
  for (const auto& path : rule.group_by) {
    const json* field = field_of(view, path);
    key += field ? (field->is_string() ? field->get<std::string>() : field->dump()) : "";
    key += '\x1f';
  }
  return key;
}

const RuleEngine::Guard* RuleEngine::guard_for(const std::string& rule,
                                               const std::string& device) const {
  const auto it = guards_.find({rule, device});
  if (it == guards_.end()) return nullptr;
  if (it->second.until_ms && it->second.until_ms <= hooks_.now_ms()) return nullptr;
  return &it->second;
}

// Topics repeat (device.<name>.<kind>), and matching every rule's patterns against each event
// was most of the rules' cost under load: the rules listening on a topic are worked out once.
const std::vector<std::size_t>& RuleEngine::rules_for(const std::string& topic) const {
  if (auto it = topic_cache_.find(topic); it != topic_cache_.end()) return it->second;
  if (topic_cache_.size() >= kTopicCacheSize) topic_cache_.clear();  // bounded: forget, relearn
  std::vector<std::size_t> listening;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i].enabled) continue;
    for (const auto& pattern : rules_[i].topics) {
      if (bus::topic_matches(pattern, topic)) {
        listening.push_back(i);
        break;
      }
    }
  }
  return topic_cache_.emplace(topic, std::move(listening)).first->second;
}

void RuleEngine::on_event(const std::string& topic, const std::string& id, json body) {
  const auto& listening = rules_for(topic);
  if (listening.empty()) return;
  const json view = event_view(topic, id, std::move(body));
  offer(listening, JsonEventFields(view));
}

void RuleEngine::on_packed_event(const std::string& topic, const std::string& id,
                                 std::string_view body) {
  const auto& listening = rules_for(topic);
  if (listening.empty()) return;
  offer(listening, PackedEventFields(topic, id, body));
}

void RuleEngine::offer(const std::vector<std::size_t>& listening, const EventFields& event) {
  for (const auto index : listening) {
    const auto& rule = rules_[index];
    if (!rule.when.evaluate(event)) continue;
    // The rest of the way wants the whole event; a body that cannot be decoded matches nothing.
    const json* view = event.document();
    if (!view) return;
    consider(rule, state_of(rule.name), *view);
  }
}

void RuleEngine::consider(const Rule& rule, RuleState& state, const json& view) {
  ++state.counters.matched;
  dirty_ = true;
  const auto now = hooks_.now_ms();
  const auto device = device_of(view.value("topic", ""), view);
  if (const auto* guard = guard_for(rule.name, device)) {
    ++state.counters.suppressed;
    hooks_.publish(bus::schema::RuleSuppressedEvent::kTopic,
                   {{"rule", rule.name},
                    {"device", device},
                    {"chain", guard->chain},
                    {"event", view.value("id", "")},
                    {"topic", view.value("topic", "")},
                    {"reason", "a consequence of this rule's own remediation (chain " +
                                   guard->chain + ") on " + device}});
    return;
  }
  const auto group = group_key(rule, view);
  if (rule.dedup_ms > 0) {
    auto [it, fresh] = state.last_passed.emplace(group, now);
    if (!fresh) {
      if (now - it->second < rule.dedup_ms) {
        ++state.counters.deduplicated;
        return;
      }
      it->second = now;
    }
  }
  if (rule.threshold.count > 1) {
    auto& times = state.window[group];
    times.push_back(now);
    while (!times.empty() && now - times.front() > rule.threshold.window_ms)
      times.pop_front();
    if (static_cast<int>(times.size()) < rule.threshold.count) {
      ++state.counters.below_threshold;
      return;
    }
    times.clear();
  }
  if (rule.debounce_ms > 0) {
    ++state.counters.debounced;
    if (auto timer = state.debounce_timers.find(group); timer != state.debounce_timers.end())
      hooks_.cancel(timer->second);
    state.debounced_event[group] = view;
    const auto name = rule.name;
    state.debounce_timers[group] = hooks_.after(rule.debounce_ms, [this, name, group] {
      auto* rule = static_cast<const Rule*>(nullptr);
      for (const auto& r : rules_) {
        if (r.name == name) rule = &r;
      }
      auto it = states_.find(name);
      if (!rule || it == states_.end()) return;
      auto& state = *it->second;
      state.debounce_timers.erase(group);
      auto event = std::move(state.debounced_event[group]);
      state.debounced_event.erase(group);
      fire_stage(*rule, event);
    });
    return;
  }
  fire_stage(rule, view);
}

bool RuleEngine::within_budget(std::deque<std::int64_t>& fires, const CountWindow& budget,
                               std::int64_t now) const {
  while (!fires.empty() && now - fires.front() >= budget.window_ms)
    fires.pop_front();
  return budget.count <= 0 || static_cast<int>(fires.size()) < budget.count;
}

void RuleEngine::fire_stage(const Rule& rule, const json& view) {
  auto& state = state_of(rule.name);
  const auto now = hooks_.now_ms();
  const auto device = device_of(view.value("topic", ""), view);
  const auto group = group_key(rule, view);
  const auto event_id = view.value("id", "");
  auto skipped = [&](const char* reason, const std::string& detail) {
    hooks_.publish(bus::schema::RuleSkippedEvent::kTopic, {{"rule", rule.name},
                                                           {"device", device},
                                                           {"chain", event_id},
                                                           {"event", event_id},
                                                           {"reason", reason},
                                                           {"detail", detail}});
  };
  if (auto until = state.cooldown_until.find(group);
      until != state.cooldown_until.end() && now < until->second) {
    ++state.counters.cooled_down;
    skipped("cooldown", "fired " +
                            std::to_string((now - (until->second - rule.cooldown_ms)) / 1000) +
                            " s ago; cooldown " + std::to_string(rule.cooldown_ms / 1000) + " s");
    return;
  }
  const auto& rule_budget = rule.budget.count ? rule.budget : settings_.rule_budget;
  if (!within_budget(state.fires, rule_budget, now)) {
    ++state.counters.over_budget;
    const auto detail = "rule budget of " + std::to_string(rule_budget.count) + " per " +
                        std::to_string(rule_budget.window_ms / 1000) + " s spent";
    skipped("budget", detail);
    if (now >= state.budget_noticed_until) {
      state.budget_noticed_until = state.fires.front() + rule_budget.window_ms;
      hooks_.publish(bus::schema::RuleBudgetExhaustedEvent::kTopic,
                     {{"rule", rule.name},
                      {"scope", "rule"},
                      {"device", device},
                      {"count", rule_budget.count},
                      {"window_ms", rule_budget.window_ms},
                      {"chain", event_id}});
    }
    return;
  }
  // The device budget counts remediations (runbooks), not notifications.
  const bool remediates = rule.action.kind == RuleAction::Kind::Runbook && !device.empty();
  auto& device_fires = device_fires_[device];
  if (remediates && !within_budget(device_fires, settings_.device_budget, now)) {
    ++state.counters.over_budget;
    skipped("budget", "device budget of " + std::to_string(settings_.device_budget.count) +
                          " remediations per " +
                          std::to_string(settings_.device_budget.window_ms / 1000) +
                          " s spent on " + device);
    auto& noticed = device_budget_noticed_[device];
    if (now >= noticed) {
      noticed = device_fires.front() + settings_.device_budget.window_ms;
      hooks_.publish(bus::schema::RuleBudgetExhaustedEvent::kTopic,
                     {{"rule", rule.name},
                      {"scope", "device"},
                      {"device", device},
                      {"count", settings_.device_budget.count},
                      {"window_ms", settings_.device_budget.window_ms},
                      {"chain", event_id}});
    }
    return;
  }
  if (rule.concurrency > 0 && state.in_flight >= rule.concurrency) {
    ++state.counters.over_concurrency;
    skipped("concurrency", std::to_string(state.in_flight) + " run(s) of this rule going; limit " +
                               std::to_string(rule.concurrency));
    return;
  }
  ++state.counters.fired;
  state.fires.push_back(now);
  if (remediates) device_fires.push_back(now);
  if (rule.cooldown_ms > 0) state.cooldown_until[group] = now + rule.cooldown_ms;
  ++state.in_flight;
  // Only a runbook changes devices; an emitted event has no consequences on the network.
  if (remediates) guards_[{rule.name, device}] = Guard{event_id, now + settings_.guard_max_ms};
  // Until the run reports, the guard has no end of its own (until_ms is the safety limit).
  starting_[event_id] = Running{rule.name, device};
  dirty_ = true;
  if (hooks_.fired) hooks_.fired();
  hooks_.publish(bus::schema::RuleFiredEvent::kTopic, {{"rule", rule.name},
                                                       {"device", device},
                                                       {"chain", event_id},
                                                       {"event", event_id},
                                                       {"topic", view.value("topic", "")},
                                                       {"action", rule.action.describe()}});
  hooks_.act(rule, view, event_id, device);
}

void RuleEngine::action_started(const std::string& rule, const std::string& chain,
                                const std::string& run) {
  auto it = starting_.find(chain);
  if (it == starting_.end()) return;
  dirty_ = true;
  if (run.empty()) {
    // An action with no run to wait for (emit, webhook): done once it is done.
    auto firing = it->second;
    starting_.erase(it);
    if (auto state = states_.find(rule); state != states_.end()) --state->second->in_flight;
    if (auto guard = guards_.find({firing.rule, firing.device}); guard != guards_.end())
      guard->second.until_ms = hooks_.now_ms() + settings_.settle_ms;
    return;
  }
  runs_[run] = it->second;
  starting_.erase(it);
}

void RuleEngine::action_failed(const std::string& rule, const std::string& chain,
                               const std::string& device, const std::string& error) {
  if (auto state = states_.find(rule); state != states_.end()) {
    ++state->second->counters.action_failed;
    if (starting_.erase(chain)) --state->second->in_flight;
  }
  guards_.erase({rule, device});
  dirty_ = true;
  hooks_.publish(bus::schema::RuleActionFailedEvent::kTopic,
                 {{"rule", rule}, {"device", device}, {"chain", chain}, {"error", error}});
}

void RuleEngine::run_finished(const std::string& run) {
  auto it = runs_.find(run);
  if (it == runs_.end()) return;
  const auto firing = it->second;
  runs_.erase(it);
  dirty_ = true;
  if (auto state = states_.find(firing.rule); state != states_.end()) --state->second->in_flight;
  if (auto guard = guards_.find({firing.rule, firing.device}); guard != guards_.end())
    guard->second.until_ms = hooks_.now_ms() + settings_.settle_ms;
}

json RuleEngine::test(const std::string& name, const json& event) const {
  const Rule* rule = nullptr;
  for (const auto& r : rules_) {
    if (r.name == name) rule = &r;
  }
  if (!rule) return {{"error", "no rule named '" + name + "'"}};
  const auto topic = event.value("topic", "");
  const auto body = event.contains("body") ? event["body"] : json::object();
  const auto view = event_view(topic, event.value("id", "test"), body);
  std::vector<std::string> why;
  bool fires = rule->enabled;
  if (!rule->enabled) why.push_back("the rule is disabled (enabled: false)");
  bool topic_matches = false;
  for (const auto& pattern : rule->topics)
    topic_matches = topic_matches || bus::topic_matches(pattern, topic);
  std::string patterns;
  for (const auto& p : rule->topics)
    patterns += (patterns.empty() ? "" : ", ") + p;
  why.push_back("topic " + topic + " matches " + patterns + ": " + (topic_matches ? "yes" : "no"));
  fires = fires && topic_matches;
  if (!rule->when.empty()) {
    why.push_back("when:");
    const bool passed = rule->when.explain(view, why);
    fires = fires && passed;
  }
  const auto device = device_of(topic, view);
  const auto now = hooks_.now_ms();
  std::vector<std::string> holds;
  if (const auto* guard = guard_for(rule->name, device))
    holds.push_back("suppressed: " + device + " is being remediated by this rule (chain " +
                    guard->chain + ")");
  if (auto state = states_.find(rule->name); state != states_.end()) {
    const auto group = group_key(*rule, view);
    const auto& s = *state->second;
    if (auto until = s.cooldown_until.find(group);
        until != s.cooldown_until.end() && now < until->second)
      holds.push_back("cooldown: " + std::to_string((until->second - now) / 1000) + " s left");
    if (rule->concurrency > 0 && s.in_flight >= rule->concurrency)
      holds.push_back("concurrency: " + std::to_string(s.in_flight) + " run(s) going");
    if (rule->threshold.count > 1) {
      int recent = 0;
      if (auto w = s.window.find(group); w != s.window.end()) {
        for (auto t : w->second)
          recent += now - t <= rule->threshold.window_ms;
      }
      if (recent + 1 < rule->threshold.count)
        holds.push_back("threshold: this would be event " + std::to_string(recent + 1) + " of " +
                        std::to_string(rule->threshold.count) + " within " +
                        std::to_string(rule->threshold.window_ms / 1000) + " s");
    }
  } else if (rule->threshold.count > 1) {
    holds.push_back("threshold: this would be event 1 of " + std::to_string(rule->threshold.count));
  }
  if (rule->debounce_ms > 0)
    why.push_back("debounce: fires " + std::to_string(rule->debounce_ms) +
                  " ms after the last matching event");
  for (const auto& h : holds)
    why.push_back(h);
  json out = {{"rule", rule->name},
              {"matches", fires},
              {"would_fire", fires && holds.empty()},
              {"why", why},
              {"device", device}};
  if (fires) {
    auto payload = action_payload(rule->action, view);
    if (payload)
      out["action"] = {{"does", rule->action.describe()}, {"sends", *payload}};
    else
      out["action_error"] = payload.error().message;
  }
  return out;
}

json RuleEngine::stats() const {
  json out = json::object();
  for (const auto& [name, state] : states_) {
    auto counters = state->counters.to_json();
    counters["in_flight"] = state->in_flight;
    out[name] = counters;
  }
  return out;
}

// The snapshot's layout (version 1); times are Hooks::now_ms values:
//   {version, rules: {name: {counters, last_passed: {group: t}, window: {group: [t]},
//    cooldown_until: {group: t}, fires: [t], budget_noticed_until: t}},
//    device_fires: {device: [t]}, device_budget_noticed: {device: t},
//    guards: [[rule, device, chain, until]], runs: {run: [rule, device]},
//    starting: {chain: [rule, device]}}
json RuleEngine::snapshot() {
  dirty_ = false;
  json rules = json::object();
  for (const auto& [name, state] : states_) {
    const auto& c = state->counters;
    rules[name] = {
        {"counters",
         {c.matched, c.fired, c.deduplicated, c.below_threshold, c.debounced, c.suppressed,
          c.cooled_down, c.over_budget, c.over_concurrency, c.action_failed}},
        {"last_passed", state->last_passed},
        {"window", state->window},
        {"cooldown_until", state->cooldown_until},
        {"fires", state->fires},
        {"budget_noticed_until", state->budget_noticed_until}};
  }
  json guards = json::array();
  for (const auto& [key, guard] : guards_)
    guards.push_back({key.first, key.second, guard.chain, guard.until_ms});
  auto firings = [](const std::map<std::string, Running>& from) {
    json out = json::object();
    for (const auto& [id, firing] : from)
      out[id] = {firing.rule, firing.device};
    return out;
  };
  return {{"version", 1},
          {"rules", std::move(rules)},
          {"device_fires", device_fires_},
          {"device_budget_noticed", device_budget_noticed_},
          {"guards", std::move(guards)},
          {"runs", firings(runs_)},
          {"starting", firings(starting_)}};
}

Result<void> RuleEngine::restore(const json& snapshot) {
  // The document is our own, read back from the store; nlohmann's typed getters throw on
  // anything else, which is caught here and leaves the engine as it was.
  decltype(states_) states;
  decltype(device_fires_) device_fires;
  decltype(device_budget_noticed_) device_budget_noticed;
  decltype(guards_) guards;
  decltype(runs_) runs, starting;
  try {
    if (snapshot.at("version").get<int>() != 1)
      return fail(Errc::Malformed, "rules state: unknown version", "rules");
    for (const auto& [name, saved] : snapshot.at("rules").items()) {
      if (std::none_of(rules_.begin(), rules_.end(),
                       [&wanted = name](const Rule& r) { return r.name == wanted; }))
        continue;  // a rule no longer loaded
      auto state = std::make_unique<RuleState>();
      const auto counters = saved.at("counters").get<std::vector<std::uint64_t>>();
      auto& c = state->counters;
      std::uint64_t* fields[] = {
          &c.matched,    &c.fired,       &c.deduplicated, &c.below_threshold,  &c.debounced,
          &c.suppressed, &c.cooled_down, &c.over_budget,  &c.over_concurrency, &c.action_failed};
      for (std::size_t i = 0; i < counters.size() && i < std::size(fields); ++i)
        *fields[i] = counters[i];
      saved.at("last_passed").get_to(state->last_passed);
      saved.at("window").get_to(state->window);
      saved.at("cooldown_until").get_to(state->cooldown_until);
      saved.at("fires").get_to(state->fires);
      saved.at("budget_noticed_until").get_to(state->budget_noticed_until);
      states[name] = std::move(state);
    }
    snapshot.at("device_fires").get_to(device_fires);
    snapshot.at("device_budget_noticed").get_to(device_budget_noticed);
    for (const auto& guard : snapshot.at("guards")) {
      guards[{guard.at(0).get<std::string>(), guard.at(1).get<std::string>()}] =
          Guard{guard.at(2).get<std::string>(), guard.at(3).get<std::int64_t>()};
    }
    for (auto [from, into] : {std::pair{"runs", &runs}, {"starting", &starting}}) {
      for (const auto& [id, firing] : snapshot.at(from).items())
        (*into)[id] = Running{firing.at(0).get<std::string>(), firing.at(1).get<std::string>()};
    }
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("rules state unreadable: ") + e.what(), "rules");
  }
  // Runs in flight hold their rule's concurrency slots until run.finished frees them.
  for (const auto* firings : {&runs, &starting}) {
    for (const auto& [id, firing] : *firings) {
      if (auto state = states.find(firing.rule); state != states.end()) ++state->second->in_flight;
    }
  }
  for (auto& [name, state] : states_) {  // debounce timers of the state being replaced
    for (const auto& [group, timer] : state->debounce_timers)
      hooks_.cancel(timer);
  }
  states_ = std::move(states);
  device_fires_ = std::move(device_fires);
  device_budget_noticed_ = std::move(device_budget_noticed);
  guards_ = std::move(guards);
  runs_ = std::move(runs);
  starting_ = std::move(starting);
  dirty_ = false;
  return ok();
}

}  // namespace nauto::rules
