// From SNMP answers to named metrics, and from counters to rates: wraps, resets and
// discontinuities; then the same against a real snmpd's IF-MIB.
#include "snmp_metrics.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "counter_tracker.h"
#include "modules/telemetry/snmpd_agent.h"
#include "nauto/base/clock.h"

using namespace nauto;
using namespace nauto::telemetry;

namespace {

Oid O(const std::string& text) {
  return *parse_oid(text);
}

SnmpValue counter32(std::uint64_t v) {
  return {SnmpType::Counter32, static_cast<std::int64_t>(v), {}};
}
SnmpValue counter64(std::uint64_t v) {
  return {SnmpType::Counter64, static_cast<std::int64_t>(v), {}};
}
SnmpValue gauge(std::int64_t v) {
  return {SnmpType::Gauge32, v, {}};
}
SnmpValue text(const std::string& t) {
  return {SnmpType::OctetString, 0, t};
}

const RawSample* find(const PolledSamples& s, const std::string& metric, const Labels& labels) {
  for (const auto& sample : s.samples) {
    if (sample.metric == metric && sample.labels == labels) return &sample;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("IF-MIB, HOST-RESOURCES and BGP4-MIB answers become labelled metrics",
          "[telemetry][metrics]") {
  SnmpMetricPlan plan;
  plan.sets = {"system", "interfaces", "host", "bgp"};
  plan.oids = {
      {"temperature", O("1.3.6.1.4.1.9.9.13.1.3.1.3"), MetricKind::Gauge, true, "sensor", 0.1, ""},
      {"sessions", O("1.3.6.1.4.1.99999.2.0"), MetricKind::Counter, false, "", 1, ""}};
  const auto poll = snmp_poll_plan(plan);
  CHECK(poll.get.front() == O("1.3.6.1.2.1.1.3.0"));
  CHECK(std::count(poll.get.begin(), poll.get.end(), O("1.3.6.1.4.1.99999.2.0")) == 1);
  CHECK(std::count(poll.walk.begin(), poll.walk.end(), O("1.3.6.1.2.1.31.1.1.1.1")) == 1);

  PollOutcome o;
  auto add = [&](const std::string& oid, SnmpValue v) { o.values.push_back({O(oid), v}); };
  add("1.3.6.1.2.1.1.3.0", {SnmpType::TimeTicks, 123456, {}});
  add("1.3.6.1.4.1.99999.2.0", counter32(7));
  // ifIndex 1 has ifName and 64-bit counters; ifIndex 2 only ifDescr and 32-bit ones.
  add("1.3.6.1.2.1.31.1.1.1.1.1", text("Gi0/1"));
  add("1.3.6.1.2.1.2.2.1.2.1", text("GigabitEthernet0/1"));
  add("1.3.6.1.2.1.2.2.1.2.2", text("Serial0"));
  add("1.3.6.1.2.1.2.2.1.10.1", counter32(100));
  add("1.3.6.1.2.1.2.2.1.10.2", counter32(200));
  add("1.3.6.1.2.1.31.1.1.1.6.1", counter64(5'000'000'000));
  add("1.3.6.1.2.1.31.1.1.1.19.1", {SnmpType::TimeTicks, 42, {}});
  add("1.3.6.1.2.1.2.2.1.8.1", {SnmpType::Integer, 1, {}});
  add("1.3.6.1.2.1.2.2.1.8.2", {SnmpType::Integer, 2, {}});
  add("1.3.6.1.2.1.25.3.3.1.2.196608", {SnmpType::Integer, 37, {}});
  add("1.3.6.1.2.1.25.2.3.1.2.1", {SnmpType::ObjectId, 0, "1.3.6.1.2.1.25.2.1.2"});
  add("1.3.6.1.2.1.25.2.3.1.3.1", text("Physical memory"));
  add("1.3.6.1.2.1.25.2.3.1.5.1", gauge(1000));
  add("1.3.6.1.2.1.25.2.3.1.6.1", gauge(250));
  add("1.3.6.1.2.1.15.3.1.2.192.0.2.1", {SnmpType::Integer, 6, {}});
  add("1.3.6.1.2.1.15.3.1.10.192.0.2.1", counter32(12));
  add("1.3.6.1.4.1.9.9.13.1.3.1.3.1", gauge(415));
  // An agent that answers a counter column with text: left out and counted, the rest kept.
  add("1.3.6.1.2.1.2.2.1.14.2", text("many"));

  const auto s = snmp_samples(plan, poll, o);
  REQUIRE(s.uptime_ticks == 123456u);
  CHECK(find(s, "uptime_seconds", {})->value == Approx(1234.56));
  const auto* hc = find(s, "if_in_octets", {{"interface", "Gi0/1"}});
  REQUIRE(hc);
  CHECK(hc->count == 5'000'000'000u);
  CHECK(hc->counter_bits == 64);
  CHECK(hc->discontinuity == 42);
  const auto* legacy = find(s, "if_in_octets", {{"interface", "Serial0"}});
  REQUIRE(legacy);
  CHECK(legacy->count == 200);
  CHECK(legacy->counter_bits == 32);
  CHECK(find(s, "if_oper_status", {{"interface", "Serial0"}})->value == 2);
  CHECK(find(s, "cpu_load_percent", {{"cpu", "196608"}})->value == 37);
  CHECK(find(s, "memory_used_percent", {})->value == 25);
  CHECK(find(s, "storage_used_percent", {{"storage", "Physical memory"}})->value == 25);
  CHECK(find(s, "bgp_peer_state", {{"peer", "192.0.2.1"}})->value == 6);
  CHECK(find(s, "bgp_peer_in_updates", {{"peer", "192.0.2.1"}})->kind == MetricKind::Counter);
  CHECK(find(s, "temperature", {{"sensor", "1"}})->value == Approx(41.5));
  CHECK(find(s, "sessions", {})->count == 7);
  CHECK(s.wrong_types == 1);
  CHECK(find(s, "if_in_errors", {{"interface", "Serial0"}}) == nullptr);
  CHECK(builtin_metric("if_in_octets")->kind == MetricKind::Counter);
  CHECK(validate_sets({"interfaces", "bogus"}).error().message.find("bogus") != std::string::npos);
}

TEST_CASE("counter rates: wraps, resets and discontinuities", "[telemetry][counters]") {
  CounterTracker t;
  const std::int64_t s = 1'000'000;
  CounterReading r{4'294'967'000, 32, 0, 10 * s, false};
  auto first = t.update("a", r);
  CHECK_FALSE(first.valid);
  CHECK(first.total == 4'294'967'000.0);

  r = {4'294'967'200, 32, 0, 20 * s, false};
  auto normal = t.update("a", r);
  REQUIRE(normal.valid);
  CHECK(normal.delta == 200);
  CHECK(normal.per_second == 20);

  r = {104, 32, 0, 30 * s, false};  // passed 2^32: 95 to the top, then 105 more
  auto wrapped = t.update("a", r);
  REQUIRE(wrapped.valid);
  CHECK(wrapped.wrapped);
  CHECK(wrapped.delta == 200);
  CHECK(wrapped.total == 4'294'967'000.0 + 400);
  CHECK(t.wraps() == 1);

  r = {50, 32, 0, 40 * s, true};  // the agent restarted
  auto restarted = t.update("a", r);
  CHECK_FALSE(restarted.valid);
  CHECK(restarted.discontinuity);
  CHECK(restarted.total == wrapped.total);  // monotonic
  r = {150, 32, 0, 50 * s, false};
  CHECK(t.update("a", r).per_second == 10);

  // A 64-bit counter that goes back was reset, not wrapped.
  t.update("b", {1000, 64, 0, 10 * s, false});
  auto reset = t.update("b", {10, 64, 0, 20 * s, false});
  CHECK_FALSE(reset.valid);
  // ifCounterDiscontinuityTime changed: no rate for that interval.
  t.update("c", {1000, 64, 5, 10 * s, false});
  auto changed = t.update("c", {2000, 64, 9, 20 * s, false});
  CHECK_FALSE(changed.valid);
  CHECK(t.update("c", {3000, 64, 9, 30 * s, false}).per_second == 100);
  CHECK(t.discontinuities() == 3);
  t.forget_before(25 * s);
  CHECK(t.size() == 2);
}

TEST_CASE("a real snmpd's interfaces become metrics, and a wrapping Counter32 a right rate",
          "[telemetry][metrics]") {
  test::SnmpdAgent agent;
  agent.set_value("3.0", "counter", "4294967000");
  auto created = SnmpPoller::create();
  REQUIRE(created);
  auto poller = std::move(created.value());
  SnmpTarget target;
  target.name = "r1";
  target.address = agent.address();
  target.credentials.community = "public";
  SnmpMetricPlan plan;
  plan.sets = {"system", "interfaces", "host"};
  plan.oids = {{"wrapping", O("1.3.6.1.4.1.99999.3.0"), MetricKind::Counter, false, "", 1, ""}};

  auto poll_once = [&] {
    std::optional<PollOutcome> outcome;
    REQUIRE(
        poller->poll(target, snmp_poll_plan(plan), [&](PollOutcome o) { outcome = std::move(o); }));
    int ep = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, poller->fd(), &ev);
    const auto give_up = steady_us() + 5'000'000;
    while (!outcome && steady_us() < give_up) {
      epoll_event out{};
      if (::epoll_wait(ep, &out, 1, 50) > 0) poller->on_readable();
      poller->on_deadline();
    }
    ::close(ep);
    REQUIRE(outcome);
    REQUIRE(outcome->status);
    return snmp_samples(plan, snmp_poll_plan(plan), *outcome);
  };
  CounterTracker counters;
  auto first = poll_once();
  REQUIRE(first.uptime_ticks);
  const auto* lo = find(first, "if_in_octets", {{"interface", "lo"}});
  REQUIRE(lo);
  CHECK(lo->counter_bits == 64);
  CHECK(find(first, "if_oper_status", {{"interface", "lo"}})->value == 1);
  CHECK(find(first, "memory_used_percent", {}) != nullptr);
  const auto* w = find(first, "wrapping", {});
  REQUIRE(w);
  CHECK(counters.update("wrapping", {w->count, w->counter_bits, 0, 1'000'000, false}).valid ==
        false);

  agent.set_value("3.0", "counter", "704");  // 296 to the top, then 705
  auto second = poll_once();
  REQUIRE(*second.uptime_ticks >= *first.uptime_ticks);
  w = find(second, "wrapping", {});
  REQUIRE(w);
  auto rate = counters.update("wrapping", {w->count, w->counter_bits, 0, 11'000'000, false});
  REQUIRE(rate.valid);
  CHECK(rate.wrapped);
  CHECK(rate.delta == 1000);
  CHECK(rate.per_second == 100);
}
