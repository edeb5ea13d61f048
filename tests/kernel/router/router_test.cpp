#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <zmq_addon.hpp>

#include "nauto/bus/codec.h"
#include "support/bus_fixture.h"
#include "support/temp_dir.h"
#include "support/thread_wakeups.h"

using namespace nauto;
using namespace nauto::test;
using nlohmann::json;

namespace {
// Answers one request on `service_client`'s socket with `reply_body`; the request's header, as
// the router stamped it.
bus::Header serve_one(bus::BusClient& service_client, const json& reply_body) {
  for (;;) {
    auto request = bus::receive_envelope(service_client.socket());
    REQUIRE(request);
    if (!*request || (*request)->header.kind != bus::Kind::Request) continue;
    REQUIRE(bus::send_envelope(service_client.socket(),
                               bus::make_reply(**request, "svc", bus::to_body(reply_body))));
    return (*request)->header;
  }
}
}  // namespace

TEST_CASE("events fan out to every matching subscriber and no one else", "[router]") {
  BusFixture bus;
  auto a = bus.client("a");
  auto b = bus.client("b");
  auto c = bus.client("c");
  REQUIRE(a.subscribe({"device."}, 2000));
  REQUIRE(b.subscribe({"device.*.changed"}, 2000));
  REQUIRE(c.subscribe({"kernel.>"}, 2000));
  auto publisher = bus.client("pub");
  REQUIRE(publisher.publish("device.config.changed", {{"device", "r1"}}));
  REQUIRE(publisher.publish("device.iface.down", {{"iface", "Gi0/1"}}));

  auto first_a = a.next_event(2000);
  auto second_a = a.next_event(2000);
  REQUIRE(first_a);
  REQUIRE(*first_a);
  CHECK((*first_a)->topic == "device.config.changed");
  REQUIRE(second_a);
  REQUIRE(*second_a);
  CHECK((*second_a)->topic == "device.iface.down");
  CHECK((*bus::from_body((*second_a)->body))["iface"] == "Gi0/1");

  auto only_b = b.next_event(2000);
  REQUIRE(only_b);
  REQUIRE(*only_b);
  CHECK((*only_b)->topic == "device.config.changed");
  auto none_b = b.next_event(100);
  REQUIRE(none_b);
  CHECK_FALSE(*none_b);
  auto none_c = c.next_event(100);
  REQUIRE(none_c);
  CHECK_FALSE(*none_c);

  const auto stats = bus.stats();
  CHECK(stats["totals"]["events_in"] == 2);
  CHECK(stats["totals"]["events_delivered"] == 3);
}

TEST_CASE("a subscriber's exclusions are never delivered to it", "[router]") {
  BusFixture bus;
  auto journal = bus.client("journal");
  auto everything = bus.client("everything");
  REQUIRE(journal.call("bus.register",
                       {{"name", "journal"},
                        {"subscribes", {""}},
                        {"excludes", {"device.*.syslog", "device.*.bgp.>"}}},
                       2000));
  REQUIRE(everything.subscribe({""}, 2000));
  auto publisher = bus.client("pub");
  for (const char* topic : {"device.r1.syslog", "device.r1.bgp.down", "device.r1.interface.down",
                            "device.r1.syslog.extra"})
    REQUIRE(publisher.publish(topic, {{"device", "r1"}}));

  std::vector<std::string> kept, all;
  for (auto* client : {&journal, &everything}) {
    for (;;) {
      auto event = client->next_event(client == &journal ? 300 : 2000);
      REQUIRE(event);
      if (!*event) break;
      (client == &journal ? kept : all).push_back((*event)->topic);
      if (client == &everything && all.size() == 4) break;
    }
  }
  CHECK(kept == std::vector<std::string>{"device.r1.interface.down", "device.r1.syslog.extra"});
  CHECK(all.size() == 4);
  const auto peers = bus.stats()["peers"];
  bool listed = false;
  for (const auto& peer : peers)
    listed = listed || (peer["name"] == "journal" && peer["excludes"].size() == 2);
  CHECK(listed);
  // An exclusion is a topic pattern, checked like a subscription.
  auto bad = publisher.call("bus.register", {{"name", "pub"}, {"excludes", {"a.b*"}}}, 2000);
  CHECK_FALSE(bad);
}

TEST_CASE("an idle router sleeps until a message comes or stop() wakes it", "[router]") {
  auto bus = std::make_unique<BusFixture>();
  {
    auto a = bus->client("a");  // registered: the router has a peer
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto before = thread_wakeups("router");
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto woken = thread_wakeups("router") - before;
    INFO("router wake-ups in 1 s idle: " << woken);
    CHECK(woken <= 2);  // it polled every 20 ms: 50 a second
    CHECK(a.publish("x.y", json::object()));
  }
  const auto stopping = steady_us();
  bus.reset();  // stop() rings the router awake: no timeout to wait out
  CHECK(steady_us() - stopping < 15'000);
}

TEST_CASE("requests reach the service owner and replies return by correlation id", "[router]") {
  BusFixture bus;
  auto service = bus.client("svc");
  REQUIRE(service.call("bus.register", {{"name", "svc"}, {"serves", {"svc.echo"}}}, 2000));
  auto caller = bus.client("caller");
  std::thread server([&] { serve_one(service, {{"answer", 42}}); });
  auto reply = caller.call("svc.echo", {{"q", 1}}, 2000);
  server.join();
  REQUIRE(reply);
  CHECK((*reply)["answer"] == 42);
}

TEST_CASE("a request for a service nobody serves gets an Unavailable error at once", "[router]") {
  BusFixture bus;
  auto caller = bus.client("caller");
  const auto start = steady_us();
  auto reply = caller.call("nobody.home", json::object(), 5000);
  REQUIRE_FALSE(reply);
  CHECK(reply.error().code == Errc::Unavailable);
  CHECK(reply.error().message.find("no module serves 'nobody.home'") != std::string::npos);
  CHECK(steady_us() - start < 1000000);
}

TEST_CASE("a request past its deadline is answered with Timeout by the router", "[router]") {
  BusFixture bus;
  auto silent = bus.client("silent");
  REQUIRE(silent.call("bus.register", {{"name", "silent"}, {"serves", {"silent.wait"}}}, 2000));
  auto caller = bus.client("caller");
  const auto start = steady_us();
  auto reply = caller.call("silent.wait", json::object(), 150);
  const auto took_ms = (steady_us() - start) / 1000;
  REQUIRE_FALSE(reply);
  CHECK(reply.error().code == Errc::Timeout);
  CHECK(reply.error().where == "silent.wait");
  CHECK(took_ms >= 140);
  CHECK(took_ms < 1000);
  // The late reply is counted, not delivered.
  serve_one(silent, {{"too", "late"}});
  REQUIRE(eventually([&] { return bus.stats()["totals"]["late_replies"] == 1; }));
  CHECK(bus.stats()["totals"]["timeouts"] == 1);
}

TEST_CASE("requests owed by a module that restarts are answered at once", "[router]") {
  BusFixture bus;
  bus::ClientOptions first_id, second_id;
  first_id.routing_id = "svc#1";
  second_id.routing_id = "svc#2";  // a restart connects with a new routing id
  auto service = bus.client("svc", first_id);
  REQUIRE(service.call("bus.register", {{"name", "svc"}, {"serves", {"svc.slow"}}}, 2000));
  auto caller = bus.client("caller");
  auto request = bus::make_request("svc.slow", "caller", bus::to_body(json::object()), 30000);
  REQUIRE(bus::send_envelope(caller.socket(), request));
  auto received = bus::receive_envelope(service.socket());  // delivered, never answered
  REQUIRE(received);
  REQUIRE(*received);
  // A new instance (same name, same principal) registers: the old one's debts are settled.
  auto restarted = bus.client("svc", second_id);
  const auto start = steady_us();
  REQUIRE(restarted.call("bus.register", {{"name", "svc"}, {"serves", {"svc.slow"}}}, 2000));
  auto answer = bus::receive_envelope(caller.socket());
  REQUIRE(answer);
  REQUIRE(*answer);
  CHECK((*answer)->header.kind == bus::Kind::Error);
  CHECK((*answer)->header.correlation_id == request.header.id);
  const auto error = bus::error_from_body((*answer)->body);
  CHECK(error.code == Errc::Unavailable);
  CHECK(error.message.find("restarted before answering") != std::string::npos);
  CHECK(steady_us() - start < 2000000);
}

TEST_CASE("a subscriber that does not read loses events, counted against it", "[router]") {
  kernel::RouterOptions options;
  options.peer_high_water_mark = 10;
  BusFixture bus(options);
  bus::ClientOptions small;
  small.receive_high_water_mark = 10;
  auto slow = bus.client("slow", small);
  REQUIRE(slow.subscribe({"flood."}, 2000));
  auto fast = bus.client("fast");
  REQUIRE(fast.subscribe({"flood."}, 2000));
  auto publisher = bus.client("pub");
  constexpr int kEvents = 3000;
  int fast_received = 0;
  for (int i = 0; i < kEvents; ++i) {
    REQUIRE(publisher.publish("flood.event", {{"n", i}}));
    // The fast subscriber keeps up; the slow one never reads.
    while (true) {
      auto e = fast.next_event(0);
      REQUIRE(e);
      if (!*e) break;
      ++fast_received;
    }
  }
  REQUIRE(eventually([&] {
    const auto p = peer(bus.stats(), "slow");
    return p["events_delivered"].get<int>() + p["events_dropped"].get<int>() == kEvents;
  }));
  const auto stats = bus.stats();
  const auto slow_peer = peer(stats, "slow");
  CHECK(slow_peer["events_dropped"].get<int>() > 0);
  CHECK(slow_peer["events_delivered"].get<int>() <= 40);
  while (fast_received < kEvents) {
    auto e = fast.next_event(2000);
    REQUIRE(e);
    REQUIRE(*e);
    ++fast_received;
  }
  CHECK(peer(stats, "fast")["events_dropped"] == 0);
  CHECK(stats["totals"]["events_dropped"] == slow_peer["events_dropped"]);
}

TEST_CASE("requests to a full service are answered with Overloaded, never dropped", "[router]") {
  kernel::RouterOptions options;
  options.peer_high_water_mark = 5;
  BusFixture bus(options);
  bus::ClientOptions small;
  small.receive_high_water_mark = 5;
  auto stuck = bus.client("stuck", small);
  REQUIRE(stuck.call("bus.register", {{"name", "stuck"}, {"serves", {"stuck.work"}}}, 2000));
  auto caller = bus.client("caller");
  constexpr int kRequests = 200;
  std::set<std::string> ids;
  for (int i = 0; i < kRequests; ++i) {
    auto request = bus::make_request("stuck.work", "caller", bus::to_body({{"n", i}}), 300);
    ids.insert(request.header.id);
    REQUIRE(bus::send_envelope(caller.socket(), request));
  }
  int overloaded = 0, timed_out = 0;
  while (!ids.empty()) {
    auto answer = bus::receive_envelope(caller.socket());
    REQUIRE(answer);
    REQUIRE(*answer);
    REQUIRE((*answer)->header.kind == bus::Kind::Error);
    REQUIRE(ids.erase((*answer)->header.correlation_id) == 1);
    const auto error = bus::error_from_body((*answer)->body);
    if (error.code == Errc::Overloaded) ++overloaded;
    if (error.code == Errc::Timeout) ++timed_out;
  }
  CHECK(overloaded > 0);
  CHECK(timed_out > 0);
  CHECK(overloaded + timed_out == kRequests);
  const auto stats = bus.stats();
  CHECK(stats["totals"]["requests_overloaded"] == overloaded);
  CHECK(peer(stats, "stuck")["requests_rejected"] == overloaded);
}

TEST_CASE("malformed messages are counted and the router keeps working", "[router]") {
  BusFixture bus;
  auto bad = bus.client("bad");
  bad.socket().send(zmq::buffer(std::string("only-one-frame")));
  std::vector<zmq::message_t> frames;
  frames.emplace_back("topic", 5);
  frames.emplace_back("\xc1\xc1", 2);
  frames.emplace_back("", 0);
  zmq::send_multipart(bad.socket(), frames);
  REQUIRE(eventually([&] { return bus.stats()["totals"]["malformed"] == 2; }));
  auto caller = bus.client("caller");
  CHECK(caller.call("bus.stats", json::object(), 1000));
}

TEST_CASE("registration rejects taken services and bad patterns", "[router]") {
  BusFixture bus;
  auto first = bus.client("first");
  REQUIRE(first.call("bus.register", {{"name", "first"}, {"serves", {"x.get"}}}, 2000));
  auto second = bus.client("second");
  auto clash = second.call("bus.register", {{"name", "second"}, {"serves", {"x.get"}}}, 2000);
  REQUIRE_FALSE(clash);
  CHECK(clash.error().message.find("already served by 'first'") != std::string::npos);
  auto pattern = second.call("bus.register", {{"name", "second"}, {"subscribes", {"a.b*"}}}, 2000);
  REQUIRE_FALSE(pattern);
  CHECK(pattern.error().code == Errc::InvalidArgument);
  auto reserved = second.call("bus.register", {{"name", "second"}, {"serves", {"bus.evil"}}}, 2000);
  REQUIRE_FALSE(reserved);
}

namespace {
// A loopback port derived from the pid and a salt, so parallel test runs do not collide.
std::string loopback_tcp(int salt) {
  return "tcp://127.0.0.1:" + std::to_string(39000 + (::getpid() * 7 + salt) % 2000);
}

Result<json> curve_call(BusFixture& bus, const std::string& endpoint, const bus::CurveKeys& server,
                        const bus::CurveKeys& client, int timeout_ms) {
  bus::ClientOptions secure;
  secure.curve_client = client;
  secure.curve_server_public_key = server.public_key;
  auto c = bus::BusClient::connect(*bus.context, endpoint, "curve-client", secure);
  if (!c) return std::move(c).error();
  return c->call("bus.stats", json::object(), timeout_ms);
}
}  // namespace

TEST_CASE("tcp with CURVE admits only listed client keys; ipc is unaffected", "[router]") {
  auto server_keys = bus::make_curve_keys();
  auto listed = bus::make_curve_keys();
  auto stranger = bus::make_curve_keys();
  REQUIRE(server_keys);
  REQUIRE(listed);
  REQUIRE(stranger);
  kernel::RouterOptions options;
  options.curve_server = *server_keys;
  options.curve_allowed_clients = {listed->public_key};
  options.tcp_endpoint = loopback_tcp(1);
  options.auth.default_roles = {"viewer"};  // bus.stats is a viewer's
  BusFixture bus(options);
  CHECK(curve_call(bus, options.tcp_endpoint, *server_keys, *listed, 3000));
  auto refused = curve_call(bus, options.tcp_endpoint, *server_keys, *stranger, 300);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Timeout);
  auto plain = bus::BusClient::connect(*bus.context, options.tcp_endpoint, "plain");
  REQUIRE(plain);
  CHECK_FALSE(plain->call("bus.stats", json::object(), 300));
  // Plain inproc on the same router still works: CURVE applies to the tcp bind only.
  auto local = bus.client("local");
  CHECK(local.call("bus.stats", json::object(), 1000));
}

TEST_CASE("tcp with CURVE and no allow-list admits any client key", "[router]") {
  auto server_keys = bus::make_curve_keys();
  auto anyone = bus::make_curve_keys();
  REQUIRE(server_keys);
  REQUIRE(anyone);
  kernel::RouterOptions options;
  options.curve_server = *server_keys;
  options.tcp_endpoint = loopback_tcp(2);
  options.auth.default_roles = {"viewer"};
  BusFixture bus(options);
  CHECK(curve_call(bus, options.tcp_endpoint, *server_keys, *anyone, 3000));
  auto wrong_server = bus::make_curve_keys();
  REQUIRE(wrong_server);
  CHECK_FALSE(curve_call(bus, options.tcp_endpoint, *wrong_server, *anyone, 300));
}

TEST_CASE("only the peer a request went to may answer it: a forged reply is dropped",
          "[router][auth]") {
  BusFixture bus;
  auto service = bus.client("svc");
  REQUIRE(service.call("bus.register", {{"name", "svc"}, {"serves", {"svc.slow"}}}, 2000));
  auto caller = bus.client("caller");
  auto forger = bus.client("forger");
  auto request = bus::make_request("svc.slow", "caller", bus::to_body(json::object()), 5000);
  REQUIRE(bus::send_envelope(caller.socket(), request));
  auto received = bus::receive_envelope(service.socket());
  REQUIRE(received);
  REQUIRE(*received);
  // The forger knows the request's id and answers first.
  REQUIRE(bus::send_envelope(forger.socket(),
                             bus::make_reply(request, "svc", bus::to_body({{"who", "forger"}}))));
  REQUIRE(eventually([&] { return bus.stats()["totals"]["replies_forged"] == 1; }));
  REQUIRE(bus::send_envelope(service.socket(),
                             bus::make_reply(**received, "svc", bus::to_body({{"who", "svc"}}))));
  auto answer = bus::receive_envelope(caller.socket());
  REQUIRE(answer);
  REQUIRE(*answer);
  CHECK((*bus::from_body((*answer)->body))["who"] == "svc");
  CHECK(bus.stats()["totals"]["replies_routed"] == 1);
}

TEST_CASE("every request carries its caller's verified principal, whatever the caller wrote",
          "[router][auth]") {
  TempDir dir("nauto-router-auth");
  const std::string ipc = "ipc://" + dir.path + "/nautod.sock";
  kernel::RouterOptions options;
  options.endpoints = {bus::endpoints::kRouterInproc, ipc};
  options.in_process_modules = {"mod"};
  options.auth.roles.emplace(
      "dc1", kernel::RoleDefinition{"dc1", {"@read", "@operate"}, {}, "site=dc1", false});
  options.auth.users.push_back({"tester", ::geteuid(), std::nullopt, "", {"dc1"}});
  BusFixture bus(options);
  auto service = bus.client("svc");
  // In-process, a test client may serve a declared service under any name.
  REQUIRE(
      service.call("bus.register", {{"name", "svc"}, {"serves", {"svc.who", "job.run"}}}, 2000));
  auto ask = [&](bus::BusClient& client, const std::string& claimed, const std::string& scope) {
    auto request = bus::make_request("job.run", "x", bus::to_body(json::object()), 5000);
    request.header.principal = claimed;  // a lie the router must not pass on
    request.header.roles = "admin";      // another
    request.header.scope = scope;        // may narrow, never widen
    REQUIRE(bus::send_envelope(client.socket(), request));
    auto header = serve_one(service, json::object());
    auto answer = bus::receive_envelope(client.socket());
    REQUIRE(answer);
    REQUIRE(*answer);
    return header;
  };

  // Over ipc: the unix user the kernel saw, mapped by auth.users, with its role's devices.
  auto over_ipc = bus::BusClient::connect(*bus.context, ipc, "cli");
  REQUIRE(over_ipc);
  auto header = ask(*over_ipc, "admin", "");
  CHECK(header.principal == "tester");
  CHECK(header.roles == "dc1");
  CHECK(header.scope == "site=dc1");
  CHECK(ask(*over_ipc, "admin", "name=r1").scope == "(site=dc1) and (name=r1)");
  auto me = over_ipc->call("bus.whoami", json::object(), 2000);
  REQUIRE(me);
  CHECK((*me)["principal"] == "tester");
  CHECK((*me)["roles"] == json::array({"dc1"}));
  CHECK((*me)["via"] == "ipc");
  CHECK((*me)["uid"] == ::geteuid());
  CHECK((*me)["pid"] == ::getpid());
  // A service no role of the caller grants (an undeclared one is admin's): refused by the
  // router, named, counted; the module never sees it.
  auto refused = over_ipc->call("svc.who", json::object(), 2000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::PermissionDenied);
  CHECK(refused.error().message ==
        "'tester' (roles: dc1) may not call 'svc.who' (admin); roles that may: admin");
  auto secret = over_ipc->call("vault.resolve", json{{"names", {"core"}}}, 2000);
  REQUIRE_FALSE(secret);
  CHECK(secret.error().message.find("(module): only modules inside nautod may") !=
        std::string::npos);
  CHECK(bus.stats()["totals"]["requests_refused"] == 2);

  // In-process: a module nautod runs is module:<name>; any other peer is nautod's own user.
  // Both are trusted: the scope they pass on (a user's they act for) is kept as written.
  bus::ClientOptions as_module;
  as_module.routing_id = "mod";
  auto module = bus.client("mod", as_module);
  header = ask(module, "", "name=r9");
  CHECK(header.principal == "module:mod");
  CHECK(header.roles.empty());
  CHECK(header.scope == "name=r9");
  auto other = bus.client("other");
  CHECK(ask(other, "module:mod", "").principal == "tester");
  auto module_me = module.call("bus.whoami", json::object(), 2000);
  REQUIRE(module_me);
  CHECK((*module_me)["via"] == "in-process");
}

TEST_CASE("a module acting for a user is checked with the user's roles, and nobody else may act",
          "[router][auth]") {
  TempDir dir("nauto-router-acting");
  const std::string ipc = "ipc://" + dir.path + "/nautod.sock";
  kernel::RouterOptions options;
  options.endpoints = {bus::endpoints::kRouterInproc, ipc};
  options.in_process_modules = {"api"};
  options.auth.roles.emplace(
      "dc1", kernel::RoleDefinition{"dc1", {"@read", "@operate"}, {}, "site=dc1", false});
  options.auth.users.push_back({"tester", ::geteuid(), std::nullopt, "", {"admin"}});
  options.audit_capacity = 100;
  BusFixture bus(options);
  auto service = bus.client("svc");
  REQUIRE(
      service.call("bus.register", {{"name", "svc"}, {"serves", {"job.run", "vault.put"}}}, 2000));
  bus::ClientOptions as_module;
  as_module.routing_id = "api";
  auto api = bus.client("api", as_module);
  auto send_as = [](bus::BusClient& client, const std::string& service_name,
                    const std::string& user, const std::string& roles, const std::string& scope) {
    auto request = bus::make_request(service_name, "x", bus::to_body(json::object()), 5000);
    request.header.acting_for = user;
    request.header.roles = roles;
    request.header.scope = scope;
    REQUIRE(bus::send_envelope(client.socket(), request));
  };
  auto answer = [](bus::BusClient& client) {
    auto reply = bus::receive_envelope(client.socket());
    REQUIRE(reply);
    REQUIRE(*reply);
    return std::move(**reply);
  };

  // Allowed by the user's roles: delivered as the user, with the user's device scope narrowed
  // by what the module passed on; the module's own unlimited trust does not apply.
  send_as(api, "job.run", "alice", "dc1", "name=r1");
  auto header = serve_one(service, json::object());
  CHECK(header.principal == "alice");
  CHECK(header.roles == "dc1");
  CHECK(header.scope == "(site=dc1) and (name=r1)");
  CHECK(header.acting_for.empty());
  CHECK(answer(api).header.kind == bus::Kind::Reply);
  // Not allowed by the user's roles: refused naming the user, though the module could call it.
  send_as(api, "vault.put", "alice", "dc1", "");
  auto refused = answer(api);
  REQUIRE(refused.header.kind == bus::Kind::Error);
  const auto error = bus::error_from_body(refused.body);
  CHECK(error.code == Errc::PermissionDenied);
  CHECK(error.message.find("'alice' (roles: dc1) may not call 'vault.put'") == 0);
  // Unknown roles grant nothing.
  send_as(api, "job.run", "mallory", "superuser", "");
  CHECK(bus::error_from_body(answer(api).body).code == Errc::PermissionDenied);
  // whoami answers for the user, through the module.
  auto me_request = bus::make_request("bus.whoami", "x", bus::to_body(json::object()), 2000);
  me_request.header.acting_for = "alice";
  me_request.header.roles = "dc1";
  REQUIRE(bus::send_envelope(api.socket(), me_request));
  auto me = bus::from_body(answer(api).body);
  REQUIRE(me);
  CHECK((*me)["principal"] == "alice");
  CHECK((*me)["via"] == "module:api");

  // A user over ipc (admin, even) may not name someone to act for.
  auto over_ipc = bus::BusClient::connect(*bus.context, ipc, "cli");
  REQUIRE(over_ipc);
  send_as(*over_ipc, "job.run", "root", "admin", "");
  auto impostor = answer(*over_ipc);
  REQUIRE(impostor.header.kind == bus::Kind::Error);
  CHECK(bus::error_from_body(impostor.body).message ==
        "'tester' may not act for another principal: only a module may");
  CHECK(bus.stats()["totals"]["requests_refused"] == 3);
}

TEST_CASE("an impostor cannot take a module's routing id or its name", "[router][auth]") {
  TempDir dir("nauto-router-impostor");
  const std::string ipc = "ipc://" + dir.path + "/nautod.sock";
  kernel::RouterOptions options;
  options.endpoints = {bus::endpoints::kRouterInproc, ipc};
  options.in_process_modules = {"mod"};
  BusFixture bus(options);
  bus::ClientOptions module_id;
  module_id.routing_id = "mod#5e1f";
  auto module = bus.client("mod", module_id);
  REQUIRE(module.call("bus.register", {{"name", "mod"}, {"serves", {"mod.echo"}}}, 2000));

  // The same routing id over ipc: ZeroMQ keeps the module's connection and ignores this one.
  auto same_id = bus::BusClient::connect(*bus.context, ipc, "impostor", module_id);
  REQUIRE(same_id);
  auto ignored = same_id->call("bus.whoami", json::object(), 300);
  REQUIRE_FALSE(ignored);
  CHECK(ignored.error().code == Errc::Timeout);

  // A fresh id, claiming the module's name: refused, for the name is the module's.
  auto other_id = bus::BusClient::connect(*bus.context, ipc, "impostor");
  REQUIRE(other_id);
  auto claimed = other_id->call("bus.register", {{"name", "mod"}, {"serves", {"mod.echo"}}}, 2000);
  REQUIRE_FALSE(claimed);
  CHECK(claimed.error().code == Errc::PermissionDenied);
  CHECK(claimed.error().message.find("may not register as the module 'mod'") != std::string::npos);

  // The module still serves.
  auto caller = bus.client("caller");
  std::thread server([&] { serve_one(module, {{"from", "mod"}}); });
  auto reply = caller.call("mod.echo", json::object(), 2000);
  server.join();
  REQUIRE(reply);
  CHECK((*reply)["from"] == "mod");
  CHECK(peer(bus.stats(), "mod")["serves"] == json::array({"mod.echo"}));
}

TEST_CASE("what changes something is recorded for the audit module, with its outcome",
          "[router][auth][audit]") {
  kernel::RouterOptions options;
  options.audit_capacity = 4;
  BusFixture bus(options);
  auto service = bus.client("svc");
  REQUIRE(
      service.call("bus.register", {{"name", "svc"}, {"serves", {"job.run", "job.list"}}}, 2000));
  auto caller = bus.client("caller");
  auto answered = [&](const std::string& topic, const json& body, bool fails) {
    std::thread server([&] {
      for (;;) {
        auto request = bus::receive_envelope(service.socket());
        REQUIRE(request);
        if (!*request || (*request)->header.kind != bus::Kind::Request) continue;
        REQUIRE(bus::send_envelope(
            service.socket(),
            fails ? bus::make_error_reply(**request, "svc", fail(Errc::Rejected, "no, sorry"))
                  : bus::make_reply(**request, "svc", bus::to_body(json::object()))));
        return;
      }
    });
    auto reply = caller.call(topic, body, 2000);
    server.join();
    return reply;
  };
  REQUIRE(answered("job.list", json::object(), false));  // read: not recorded
  REQUIRE(answered("job.run", {{"target", "site=dc1"}, {"config", "secret 1"}}, false));
  REQUIRE_FALSE(answered("job.run", {{"device", "r1"}}, true));
  REQUIRE_FALSE(caller.call("vault.set", {{"name", "core"}, {"password", "hunter2"}}, 2000));
  REQUIRE_FALSE(caller.call("vault.resolve", {{"purpose", "x"}, {"names", {"lab", "core"}}}, 2000));

  // Only modules inside nautod take them; from the oldest kept.
  auto audit = bus.client("audit");
  auto taken = audit.call("bus.audit.take", {{"after", 0}, {"epoch", 0}}, 2000);
  REQUIRE(taken);
  const auto epoch = (*taken)["epoch"].get<std::int64_t>();
  const auto& records = (*taken)["records"];
  REQUIRE(records.size() == 4);
  CHECK(records[0]["service"] == "job.run");
  CHECK(records[0]["target"] == "target=site=dc1");  // never the config
  CHECK(records[0]["outcome"] == "ok");
  CHECK(records[0]["access"] == "operate");
  CHECK(records[0]["via"] == "in-process");
  CHECK(records[1]["target"] == "device=r1");
  CHECK(records[1]["outcome"] == "error");
  CHECK(records[1]["error_code"] == "rejected");
  CHECK(records[2]["service"] == "vault.set");
  CHECK(records[2]["target"] == "name=core");
  CHECK(records[2]["outcome"] == "unavailable");
  CHECK(records[3]["target"] == "names=lab,core");  // a list of names, the rest unread
  CHECK(taken->dump().find("hunter2") == std::string::npos);
  CHECK((*taken)["lost"] == 0);
  const auto last = (*taken)["last"].get<std::uint64_t>();
  CHECK(last == 4);

  // Nothing new: the take waits, and is answered when a record comes (no polling).
  auto parked = bus::make_request("bus.audit.take", "audit",
                                  bus::to_body({{"after", last}, {"epoch", epoch}}), 5000);
  REQUIRE(bus::send_envelope(audit.socket(), parked));
  REQUIRE(answered("job.run", {{"runbook", "x"}}, false));
  for (;;) {
    auto answer = bus::receive_envelope(audit.socket());
    REQUIRE(answer);
    if (!*answer || (*answer)->header.correlation_id != parked.header.id) continue;
    auto body = bus::from_body((*answer)->body);
    REQUIRE(body);
    REQUIRE((*body)["records"].size() == 1);
    CHECK((*body)["records"][0]["target"] == "runbook=x");
    CHECK((*body)["records"][0]["seq"] == 5);
    break;
  }

  // A ring that overflows before the records are taken says how many were lost.
  for (int i = 0; i < 5; ++i)
    REQUIRE(answered("job.run", {{"device", "r" + std::to_string(i)}}, false));
  auto late = audit.call("bus.audit.take", {{"after", 5}, {"epoch", epoch}}, 2000);
  REQUIRE(late);
  CHECK((*late)["lost"] == 1);
  CHECK((*late)["records"].size() == 4);
  CHECK((*late)["records"][0]["target"] == "device=r1");
  CHECK((*late)["last"] == 10);
  CHECK(bus.stats()["totals"]["audit_dropped"] == 6);
}

TEST_CASE("a reload of the configuration applies new roles at once and is recorded",
          "[router][auth][audit]") {
  TempDir dir("nauto-router-reload");
  const std::string ipc = "ipc://" + dir.path + "/nautod.sock";
  kernel::RouterOptions options;
  options.endpoints = {bus::endpoints::kRouterInproc, ipc};
  options.audit_capacity = 16;
  options.auth.users.push_back({"tester", ::geteuid(), std::nullopt, "", {"viewer"}});
  BusFixture bus(options);
  auto service = bus.client("svc");
  REQUIRE(service.call("bus.register", {{"name", "svc"}, {"serves", {"job.run"}}}, 2000));
  auto over_ipc = bus::BusClient::connect(*bus.context, ipc, "cli");
  REQUIRE(over_ipc);
  auto refused = over_ipc->call("job.run", json::object(), 2000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::PermissionDenied);

  // The same connection, after a reload that makes tester an operator: delivered.
  auto promoted = options.auth;
  promoted.users[0].roles = {"operator"};
  promoted.roles.emplace("dc1", kernel::RoleDefinition{"dc1", {"@read"}, {}, "site=dc1", false});
  bus.router->reload(
      {promoted, "/etc/nauto/nauto.yaml", "", ::geteuid(), ::getpid(), {}, {"example"}});
  std::thread server([&] { serve_one(service, json::object()); });
  CHECK(over_ipc->call("job.run", json::object(), 2000));
  server.join();
  auto me = over_ipc->call("bus.whoami", json::object(), 2000);
  REQUIRE(me);
  CHECK((*me)["roles"] == json::array({"operator"}));
  // A module the reload added, run as a child process, is known by its name.
  bus::ClientOptions as_child;
  as_child.routing_id = "example#1f";
  auto child = bus::BusClient::connect(*bus.context, ipc, "example", as_child);
  REQUIRE(child);
  auto child_me = child->call("bus.whoami", json::object(), 2000);
  REQUIRE(child_me);
  CHECK((*child_me)["principal"] == "module:example");

  // A rejected reload changes nothing and is recorded too.
  bus.router->reload({std::nullopt,
                      "/etc/nauto/nauto.yaml",
                      "auth.roles.x: unknown class",
                      ::geteuid(),
                      ::getpid(),
                      {},
                      {}});
  auto audit = bus.client("audit");
  auto taken = audit.call("bus.audit.take", {{"after", 0}, {"epoch", 0}}, 2000);
  REQUIRE(taken);
  std::vector<json> reloads;
  for (const auto& record : (*taken)["records"])
    if (record["service"] == "nautod.reload") reloads.push_back(record);
  REQUIRE(reloads.size() == 2);
  // The sender is mapped like a caller, by the users before the reload.
  CHECK(reloads[0]["principal"] == "tester");
  CHECK(reloads[0]["roles"] == "viewer");
  CHECK(reloads[0]["via"] == "signal");
  CHECK(reloads[0]["pid"] == ::getpid());
  CHECK(reloads[0]["target"] == "config=/etc/nauto/nauto.yaml");
  CHECK(reloads[0]["outcome"] == "ok");
  CHECK(reloads[0]["detail"] == "users: ~tester; roles: +dc1");
  CHECK(reloads[1]["outcome"] == "error");
  CHECK(reloads[1]["error"] == "auth.roles.x: unknown class");
  CHECK_FALSE(reloads[1].contains("detail"));
  CHECK((*me)["principal"] == "tester");
}
