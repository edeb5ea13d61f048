// `show version` over N nauto-lab devices with a fresh session each: the cisco_ios driver
// (interactive shell, prompt learning, paging off) beside a bare libssh connect + password auth
// + exec loop over the same devices in the same run — the transport's limit. Also the cost of a
// command on a reused session. Usage: drivers_bench LAB_BINARY [DEVICES] [ROUNDS]

#include <libssh/libssh.h>

#include <cstdio>
#include <string>

#include "../drivers/lab_process.h"
#include "nauto/base/clock.h"
#include "nauto/drivers/make_driver.h"

using namespace nauto;
using namespace nauto::drivers;

namespace {

bool bare_exec(const DeviceTarget& target) {
  ssh_session session = ssh_new();
  int port = target.port, nodelay = 1;
  bool no_config = false;
  ssh_options_set(session, SSH_OPTIONS_HOST, target.host.c_str());
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, target.credentials.username.c_str());
  ssh_options_set(session, SSH_OPTIONS_NODELAY, &nodelay);
  ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, target.known_hosts.c_str());
  bool good = ssh_connect(session) == SSH_OK &&
              ssh_session_is_known_server(session) == SSH_KNOWN_HOSTS_OK &&
              ssh_userauth_password(session, nullptr, target.credentials.password.c_str()) ==
                  SSH_AUTH_SUCCESS;
  if (good) {
    ssh_channel channel = ssh_channel_new(session);
    good = ssh_channel_open_session(channel) == SSH_OK &&
           ssh_channel_request_exec(channel, "show version") == SSH_OK;
    std::string out;
    char buffer[16384];
    int n;
    while (good && (n = ssh_channel_read(channel, buffer, sizeof buffer, 0)) > 0)
      out.append(buffer, n);
    good = good && out.find("Cisco IOS") != std::string::npos;
    ssh_channel_close(channel);
    ssh_channel_free(channel);
  }
  ssh_disconnect(session);
  ssh_free(session);
  return good;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: drivers_bench LAB_BINARY [DEVICES] [ROUNDS]\n");
    return 2;
  }
  int devices = argc > 2 ? std::atoi(argv[2]) : 200;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  nauto::test::LabProcess lab(
      argv[1], "groups:\n  - {platform: cisco_ios, count: " + std::to_string(devices) + "}\n",
      nauto::test::claim_port_block(devices + 2));
  auto catalog = PlatformCatalog::load_default();
  if (!catalog) return 1;
  std::vector<DeviceTarget> targets;
  for (int i = 0; i < devices; ++i)
    targets.push_back(lab.target(lab.device("cisco_ios", i)));

  double best_bare = 1e18, best_driver = 1e18;
  for (int round = 0; round < rounds; ++round) {
    auto started = steady_us();
    int failures = 0;
    for (const auto& target : targets)
      failures += !bare_exec(target);
    double bare = (steady_us() - started) / 1e3;
    started = steady_us();
    for (const auto& target : targets) {
      auto driver = make_driver(target, *catalog);
      bool good = driver && (*driver)->open(Deadline::after_ms(20000)) &&
                  (*driver)->run("show version", Deadline::after_ms(20000));
      failures += !good;
    }
    double driver = (steady_us() - started) / 1e3;
    std::printf(
        "round %d: bare libssh %.0f ms, nauto cisco_ios driver %.0f ms, ratio %.2f, failures %d\n",
        round + 1, bare, driver, driver / bare, failures);
    best_bare = std::min(best_bare, bare);
    best_driver = std::min(best_driver, driver);
  }
  std::printf(
      "fresh session per device (%d devices, best of %d): bare %.2f ms/device, driver %.2f "
      "ms/device, ratio %.2f\n",
      devices, rounds, best_bare / devices, best_driver / devices, best_driver / best_bare);

  auto driver = make_driver(targets[0], *catalog);
  if (!driver || !(*driver)->open(Deadline::after_ms(20000))) return 1;
  const int commands = 500;
  auto started = steady_us();
  auto cpu_started = std::clock();
  for (int i = 0; i < commands; ++i) {
    if (!(*driver)->run("show version", Deadline::after_ms(20000))) return 1;
  }
  std::printf("reused session: %.3f ms wall, %.3f ms client CPU per show version (%d commands)\n",
              (steady_us() - started) / 1e3 / commands,
              1e3 * static_cast<double>(std::clock() - cpu_started) / CLOCKS_PER_SEC / commands,
              commands);
  return 0;
}
