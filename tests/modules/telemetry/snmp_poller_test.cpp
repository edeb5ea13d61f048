// SnmpPoller against real snmpd agents on 127.0.0.1: v2c and v3 GETs, IF-MIB walks, and the
// faults that must stay with their own target (timeouts, a wrong v3 password, missing objects).
#include "snmp_poller.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "modules/telemetry/snmpd_agent.h"
#include "nauto/base/clock.h"

using namespace nauto;
using namespace nauto::telemetry;

namespace {

Oid O(const char* text) {
  return *parse_oid(text);
}

SnmpTarget v2c(const std::string& name, const std::string& address) {
  SnmpTarget t;
  t.name = name;
  t.address = address;
  t.credentials.version = 2;
  t.credentials.community = "public";
  t.timeout_ms = 300;
  t.retries = 1;
  return t;
}

SnmpTarget v3(const std::string& name, const std::string& address,
              const std::string& auth_password = "authpass123") {
  SnmpTarget t;
  t.name = name;
  t.address = address;
  t.credentials.version = 3;
  t.credentials.user = "nauto";
  t.credentials.auth_protocol = "sha";
  t.credentials.auth_password = auth_password;
  t.credentials.priv_protocol = "aes";
  t.credentials.priv_password = "privpass123";
  t.timeout_ms = 300;
  t.retries = 1;
  return t;
}

/// Drives the poller's fd and deadlines until `outcomes` holds `count` results.
void run_until(SnmpPoller& poller, std::map<std::string, PollOutcome>& outcomes, std::size_t count,
               std::int64_t limit_ms = 10000) {
  int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, poller.fd(), &ev);
  const auto give_up = steady_us() + limit_ms * 1000;
  while (outcomes.size() < count && steady_us() < give_up) {
    int wait_ms = 100;
    if (auto due = poller.next_deadline_us())
      wait_ms = static_cast<int>(std::clamp<std::int64_t>((due - steady_us()) / 1000 + 1, 0, 100));
    epoll_event out{};
    if (::epoll_wait(ep, &out, 1, wait_ms) > 0) poller.on_readable();
    poller.on_deadline();
  }
  ::close(ep);
}

SnmpPoller::Done collect(std::map<std::string, PollOutcome>& outcomes) {
  return [&outcomes](PollOutcome o) { outcomes[o.target] = std::move(o); };
}

std::string text_of(const PollOutcome& o, const char* oid) {
  for (const auto& v : o.values) {
    if (v.oid == O(oid)) return value_text(v.value);
  }
  return "<none>";
}

/// A UDP port that receives and never answers: an agent that is down but whose host is up.
struct SilentPort {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int port = 0;
  SilentPort() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentPort() { ::close(fd); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_CASE("OIDs parse, print and compare as SNMP orders them", "[telemetry][oid]") {
  CHECK(oid_text(O(".1.3.6.1.2.1.1.3.0")) == "1.3.6.1.2.1.1.3.0");
  CHECK_FALSE(parse_oid("1.3.x"));
  CHECK_FALSE(parse_oid("1.3."));
  CHECK_FALSE(parse_oid("1"));
  CHECK_FALSE(parse_oid("1.3.99999999999"));
  CHECK(is_prefix_of(O("1.3.6.1.2.1.2.2.1.10"), O("1.3.6.1.2.1.2.2.1.10.4")));
  CHECK_FALSE(is_prefix_of(O("1.3.6.1.2.1.2.2.1.1"), O("1.3.6.1.2.1.2.2.1.10.4")));
  CHECK(index_after(O("1.3.6.1.2.1.15.3.1.2"), O("1.3.6.1.2.1.15.3.1.2.192.0.2.1")) == "192.0.2.1");
}

TEST_CASE("credentials are checked before anything is sent", "[telemetry][snmp]") {
  SnmpCredentials c;
  c.version = 3;
  c.user = "u";
  c.auth_protocol = "sha1000";
  CHECK(validate_credentials(c).error().where == "auth_protocol");
  c.auth_protocol = "sha";
  c.auth_password = "short";
  CHECK(validate_credentials(c).error().where == "auth_password");
  c.auth_password = "long enough";
  c.priv_protocol = "aes";
  c.priv_password = "long enough";
  CHECK(validate_credentials(c));
  c.version = 2;
  CHECK(validate_credentials(c).error().where == "community");
}

TEST_CASE("one poller polls real snmpd agents over v2c and v3", "[telemetry][snmp]") {
  test::SnmpdAgent agent;
  agent.set_value("1.0", "counter", "4294967000");
  auto created = SnmpPoller::create();
  REQUIRE(created);
  auto& poller = **created;
  std::map<std::string, PollOutcome> outcomes;

  SECTION("v2c GET: values, and an object the agent lacks is missing, not an error") {
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0"), O("1.3.6.1.4.1.99999.1.0"), O("1.3.6.1.4.1.99998.1.0")};
    REQUIRE(poller.poll(v2c("r1", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    REQUIRE(outcomes.count("r1"));
    const auto& o = outcomes["r1"];
    REQUIRE(o.status);
    CHECK(text_of(o, "1.3.6.1.4.1.99999.1.0") == "4294967000");
    CHECK(o.values.size() == 2);
    REQUIRE(o.missing.size() == 1);
    CHECK(o.missing[0] == O("1.3.6.1.4.1.99998.1.0"));
    CHECK(o.values[1].value.type == SnmpType::Counter32);
  }

  SECTION("v2c bulk walk of IF-MIB columns, several columns per GETBULK") {
    PollPlan plan;
    // ifName, ifDescr, ifOperStatus, ifHCInOctets, and a column no agent has
    plan.walk = {O("1.3.6.1.2.1.31.1.1.1.1"), O("1.3.6.1.2.1.2.2.1.2"), O("1.3.6.1.2.1.2.2.1.8"),
                 O("1.3.6.1.2.1.31.1.1.1.6"), O("1.3.6.1.2.1.31.1.1.1.99")};
    auto target = v2c("r1", agent.address());
    target.bulk_repetitions = 2;  // several rounds of GETBULK
    REQUIRE(poller.poll(target, plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    const auto& o = outcomes["r1"];
    REQUIRE(o.status);
    std::map<std::string, std::string> names;
    std::size_t octets = 0;
    for (const auto& v : o.values) {
      if (is_prefix_of(O("1.3.6.1.2.1.31.1.1.1.1"), v.oid))
        names[index_after(O("1.3.6.1.2.1.31.1.1.1.1"), v.oid)] = value_text(v.value);
      if (is_prefix_of(O("1.3.6.1.2.1.31.1.1.1.6"), v.oid)) {
        CHECK(v.value.type == SnmpType::Counter64);
        ++octets;
      }
    }
    CHECK(names["1"] == "lo");
    CHECK(octets == names.size());
    CHECK(o.requests > 1);
    REQUIRE(o.missing.size() == 1);
    CHECK(o.missing[0] == O("1.3.6.1.2.1.31.1.1.1.99"));
  }

  SECTION("v3 authPriv: the engine ID is discovered once, without blocking") {
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0"), O("1.3.6.1.4.1.99999.1.0")};
    REQUIRE(poller.poll(v3("r3", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    REQUIRE(outcomes["r3"].status);
    CHECK(text_of(outcomes["r3"], "1.3.6.1.4.1.99999.1.0") == "4294967000");
    outcomes.clear();
    agent.set_value("1.0", "counter", "12");
    REQUIRE(poller.poll(v3("r3", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    REQUIRE(outcomes["r3"].status);
    CHECK(text_of(outcomes["r3"], "1.3.6.1.4.1.99999.1.0") == "12");
    CHECK(poller.stats().discoveries == 1);
  }

  SECTION("over IPv6 loopback, v2c and v3 alike") {
    if (!test::has_ipv6_loopback()) {
      WARN("this host has no IPv6 loopback: not tested");
      return;
    }
    PollPlan plan;
    plan.get = {O("1.3.6.1.4.1.99999.1.0")};
    plan.walk = {O("1.3.6.1.2.1.31.1.1.1.1")};  // ifName
    REQUIRE(poller.poll(v2c("six", agent.address6()), plan, collect(outcomes)));
    REQUIRE(poller.poll(v3("six3", agent.address6()), plan, collect(outcomes)));
    run_until(poller, outcomes, 2);
    for (const auto* name : {"six", "six3"}) {
      INFO(name);
      REQUIRE(outcomes[name].status);
      CHECK(text_of(outcomes[name], "1.3.6.1.4.1.99999.1.0") == "4294967000");
      CHECK(outcomes[name].values.size() >= 2);  // the value and at least lo's ifName
    }
  }

  SECTION("a wrong v3 password fails that target alone, and works once corrected") {
    // net-snmp keeps one USM user per agent (engine ID) and name: a second agent for the bad
    // password, as in a network where each device is its own agent.
    test::SnmpdAgent other;
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0")};
    REQUIRE(poller.poll(v3("bad", other.address(), "wrong-password"), plan, collect(outcomes)));
    REQUIRE(poller.poll(v3("good", agent.address()), plan, collect(outcomes)));
    REQUIRE(poller.poll(v2c("v2", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 3);
    REQUIRE(outcomes.size() == 3);
    REQUIRE_FALSE(outcomes["bad"].status);
    CHECK(outcomes["bad"].status.error().code == Errc::Unauthenticated);
    CHECK_THAT(outcomes["bad"].status.error().message, Catch::Contains("auth"));
    CHECK(outcomes["good"].status);
    CHECK(outcomes["v2"].status);
    CHECK(poller.stats().auth_failures == 1);
    outcomes.clear();
    REQUIRE(poller.poll(v3("bad", other.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    CHECK(outcomes["bad"].status);
  }

  SECTION("agents that do not answer time out on their own; the others are answered meanwhile") {
    SilentPort silent_v2, silent_v3;
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0")};
    const auto before = steady_us();
    REQUIRE(poller.poll(v2c("dead2", silent_v2.address()), plan, collect(outcomes)));
    REQUIRE(poller.poll(v3("dead3", silent_v3.address()), plan, collect(outcomes)));
    // v3 discovery of a dead agent does not block the thread (net-snmp's own probe would).
    CHECK(steady_us() - before < 100'000);
    REQUIRE(poller.poll(v2c("alive", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    CHECK(outcomes.count("alive") == 1);
    CHECK(outcomes.count("dead2") == 0);
    run_until(poller, outcomes, 3);
    REQUIRE(outcomes.size() == 3);
    CHECK(outcomes["dead2"].status.error().code == Errc::Timeout);
    CHECK(outcomes["dead3"].status.error().code == Errc::Timeout);
    CHECK_THAT(outcomes["dead2"].status.error().message, Catch::Contains("2 tries of 300 ms"));
    // 2 tries of 300 ms, not more
    CHECK(outcomes["dead2"].finished_us - outcomes["dead2"].started_us < 1'200'000);
    CHECK(outcomes["dead2"].finished_us - outcomes["dead2"].started_us >= 550'000);
    CHECK(poller.stats().timeouts == 2);
  }

  SECTION("a target with a poll in flight refuses another; a restarted agent is polled again") {
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0")};
    REQUIRE(poller.poll(v3("r", agent.address()), plan, collect(outcomes)));
    auto again = poller.poll(v3("r", agent.address()), plan, collect(outcomes));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::Overloaded);
    run_until(poller, outcomes, 1);
    REQUIRE(outcomes["r"].status);
    agent.restart();  // a new engine boot: net-snmp resynchronizes the time window
    outcomes.clear();
    REQUIRE(poller.poll(v3("r", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    INFO((outcomes["r"].status ? std::string() : outcomes["r"].status.error().message));
    CHECK(outcomes["r"].status);
    // A replaced device (another engine ID): the first poll times out, the next discovers it.
    agent.restart(true);
    outcomes.clear();
    REQUIRE(poller.poll(v3("r", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    CHECK(outcomes["r"].status.error().code == Errc::Timeout);
    outcomes.clear();
    REQUIRE(poller.poll(v3("r", agent.address()), plan, collect(outcomes)));
    run_until(poller, outcomes, 1);
    CHECK(outcomes["r"].status);
    CHECK(poller.stats().discoveries == 2);
  }

  SECTION("a poller destroyed with polls in flight answers none of them, and does not crash") {
    // snmp_sess_close calls back for outstanding requests (a shutdown used to crash here).
    SilentPort silent_v2, silent_v3;
    PollPlan plan;
    plan.get = {O("1.3.6.1.2.1.1.3.0")};
    auto other = SnmpPoller::create();
    REQUIRE_FALSE(other);  // one per process
    REQUIRE(poller.poll(v2c("dead2", silent_v2.address()), plan, collect(outcomes)));
    REQUIRE(poller.poll(v3("dead3", silent_v3.address()), plan, collect(outcomes)));
    REQUIRE(poller.poll(v2c("alive", agent.address()), plan, collect(outcomes)));
    created->reset();
    CHECK(outcomes.empty());
    CHECK(SnmpPoller::create());  // and a new one may be made
  }

  SECTION("nothing to poll is the caller's mistake") {
    CHECK(poller.poll(v2c("r", agent.address()), {}, collect(outcomes)).error().code ==
          Errc::InvalidArgument);
  }
}
