// Principals (issue 30): what the kernel verified about a connection, mapped to a name and
// roles through `auth.users`.

#include "router/principals.h"

#include <unistd.h>

#include <catch2/catch.hpp>

using namespace nauto;
using namespace nauto::kernel;
using nlohmann::json;

TEST_CASE("an ipc peer's credentials are read from ZeroMQ's Peer-Address", "[router][auth]") {
  auto peer = parse_ipc_peer_address("localhost:1001:1002:4321");
  REQUIRE(peer);
  CHECK(peer->via == PeerCredentials::Via::Ipc);
  CHECK(peer->uid == 1001);
  CHECK(peer->gid == 1002);
  CHECK(peer->pid == 4321);
  // The address before the three numbers may hold ':' itself.
  CHECK(parse_ipc_peer_address("a:b:0:0:1")->uid == 0);
  // A tcp peer's address, or a libzmq without SO_PEERCRED: no credentials.
  CHECK_FALSE(parse_ipc_peer_address("127.0.0.1"));
  CHECK_FALSE(parse_ipc_peer_address("::1"));
  CHECK_FALSE(parse_ipc_peer_address("localhost:1:2"));
  CHECK_FALSE(parse_ipc_peer_address("localhost:1:x:3"));
  CHECK_FALSE(parse_ipc_peer_address(""));
}

TEST_CASE("auth.users entries are checked, each problem named by its path", "[router][auth]") {
  CHECK(read_auth_options(nullptr));
  auto good = read_auth_options(json::parse(R"({
    "users": [{"name": "alice", "uid": 1001, "roles": ["operator", "approver"]},
              {"user": "root", "roles": ["admin"]},
              {"group": "root", "roles": ["viewer"]}],
    "default_roles": ["viewer"]})"));
  REQUIRE(good);
  REQUIRE(good->users.size() == 3);
  CHECK(good->users[0].uid == 1001u);
  CHECK(good->users[1].name == "root");
  CHECK(good->users[1].uid == 0u);
  CHECK(good->users[2].gid == 0u);
  CHECK(good->default_roles == std::vector<std::string>{"viewer"});

  auto bad = read_auth_options(json::parse(R"({
    "users": [{"name": "a", "uid": 1, "group": "root", "roles": []},
              {"name": "b", "uid": 2, "roles": ["superuser"]},
              {"user": "no-such-user-here", "roles": []},
              {"name": "module:devices", "uid": 3, "roles": []},
              {"name": "k", "key": "short", "roles": []}],
    "colour": "blue"})"));
  REQUIRE_FALSE(bad);
  const auto& message = bad.error().message;
  INFO(message);
  CHECK(message.find("auth.users[0]: give exactly one of uid, user, group or key") !=
        std::string::npos);
  CHECK(message.find("auth.users[1].roles: unknown role \"superuser\"") != std::string::npos);
  CHECK(message.find("auth.users[2].user: no unix user 'no-such-user-here'") != std::string::npos);
  CHECK(message.find("auth.users[3].name: 'module:' names are the kernel's own") !=
        std::string::npos);
  CHECK(message.find("auth.users[4].key: a CURVE public key is 40 Z85 characters") !=
        std::string::npos);
  CHECK(message.find("colour") != std::string::npos);
}

TEST_CASE("a unix user is its entry, else its groups' roles, else the defaults", "[router][auth]") {
  AuthOptions auth;
  auth.users.push_back({"alice", 4000001u, std::nullopt, "", {"operator"}});
  auth.users.push_back({"", std::nullopt, 0u, "", {"viewer"}});  // group root (gid 0)
  auth.default_roles = {"viewer"};
  PrincipalMap map(auth, /*own_uid=*/4000002u, {"devices"}, {"telemetry"});
  PeerCredentials ipc;
  ipc.via = PeerCredentials::Via::Ipc;

  ipc.uid = 4000001;  // named by uid
  ipc.gid = 4000001;
  auto alice = map.resolve(ipc, "");
  CHECK(alice.principal == "alice");
  CHECK(alice.roles == std::vector<std::string>{"operator"});

  ipc.uid = 4000003;  // no entry, no passwd entry, primary group root: the group's roles
  ipc.gid = 0;
  auto grouped = map.resolve(ipc, "");
  CHECK(grouped.principal == "uid:4000003");
  CHECK(grouped.roles == std::vector<std::string>{"viewer"});

  ipc.gid = 4000003;  // nothing matches: the defaults
  auto stranger = map.resolve(ipc, "");
  CHECK(stranger.principal == "uid:4000003");
  CHECK(stranger.roles == std::vector<std::string>{"viewer"});

  ipc.uid = 4000002;  // nautod's own user: admin when nothing names it
  auto own = map.resolve(ipc, "");
  CHECK(own.roles == std::vector<std::string>{"admin"});

  // A child module (isolation: process): its name, from nautod's own uid only.
  CHECK(map.resolve(ipc, "telemetry#1f2e").principal == "module:telemetry");
  CHECK(map.resolve(ipc, "telemetry#1f2e").module);
  CHECK(map.resolve(ipc, "devices#1f2e").principal == own.principal);  // not a child
  CHECK_FALSE(map.resolve(ipc, "devices#1f2e").module);
  ipc.uid = 4000001;
  CHECK(map.resolve(ipc, "telemetry#1f2e").principal == "alice");
  ipc.uid = 4000002;

  PeerCredentials in_process;  // a module nautod runs, and any other in-process peer
  CHECK(map.resolve(in_process, "devices").principal == "module:devices");
  CHECK(map.resolve(in_process, "devices").roles.empty());
  CHECK(map.resolve(in_process, "devices").module);
  CHECK_FALSE(map.resolve(in_process, "cli.123").module);
  CHECK(map.resolve(in_process, "cli.123").principal == map.resolve(ipc, "").principal);

  PeerCredentials tcp;
  tcp.via = PeerCredentials::Via::Tcp;
  CHECK(map.resolve(tcp, "").principal == "anonymous");
  tcp.curve_key = std::string(40, 'k');
  CHECK(map.resolve(tcp, "").principal == "key:kkkkkkkk");
}
