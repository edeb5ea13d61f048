// nauto-lab: a simulated multi-vendor device fleet on 127.0.0.1 for tests, demos and
// benchmarks. See tests/lab/README.md.
#include <libssh/libssh.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "confirm_timers.h"
#include "device.h"
#include "http_services.h"
#include "nauto/base/cli_description.h"
#include "ssh_server.h"
#include "syslog_sender.h"
#include "tls_certificate.h"

using namespace nauto::lab;

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

// nauto's inventory format (modules/inventory). Secrets stay out of it: devices refer to the
// credential "lab", whose (lab, not secret) values go to credentials_env().
std::string inventory_yaml(const FleetSpec& fleet, const std::string& certificate) {
  std::string out = "# Written by nauto-lab: the simulated fleet, all on 127.0.0.1.\n";
  out += "# Credential 'lab': see lab-credentials.env next to this file.\n";
  out += "defaults:\n  credential: lab\n";
  if (!certificate.empty()) out += "  tls_ca_file: " + certificate + "\n";
  out += "  known_hosts: " + fleet.state_dir + "/known_hosts\n";
  out += "hosts:\n";
  for (const auto& device : fleet.devices) {
    out += "  " + device.name +
           ":\n    host: 127.0.0.1\n    port: " + std::to_string(device.ssh_port) +
           "\n    platform: " + std::string(platform_name(device.platform)) +
           "\n    site: " + device.site + "\n    role: " + device.role + "\n";
    if (device.api_port) out += "    api_port: " + std::to_string(device.api_port) + "\n";
  }
  return out;
}

// The lab's login as nauto's vault reads it from the environment (NAUTO_CRED_<NAME>_*).
std::string credentials_env(const FleetSpec& fleet) {
  return "NAUTO_CRED_LAB_USERNAME=" + fleet.username +
         "\nNAUTO_CRED_LAB_PASSWORD=" + fleet.password +
         "\nNAUTO_CRED_LAB_ENABLE_SECRET=" + fleet.enable_secret + "\n";
}

std::string dashboards_yaml(const FleetSpec& fleet) {
  if (!fleet.meraki.enabled) return "{}\n";
  return "meraki:\n  url: " + std::string(fleet.api_tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(fleet.meraki.port) +
         "/api/v1\n  api_key: " + fleet.meraki.api_key + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nauto-lab: simulated network devices on 127.0.0.1 (SSH CLI, NETCONF, eAPI, NX-API, REST)"};
  std::string fleet_file, platform = "cisco_ios", state_dir, syslog, syslog_format = "rfc5424",
                          inventory;
  int devices = 0, workers = 0;
  int base_port = 0;
  uint64_t seed = 0;
  bool meraki = false;
  app.add_option("--fleet", fleet_file,
                 "fleet YAML file (devices per platform, ports, credentials, faults)");
  app.add_option("--devices", devices, "number of devices when no fleet file is given")
      ->check(CLI::Range(1, 20000));
  app.add_option("--platform", platform,
                 "platform for --devices: cisco_ios, arista_eos, cisco_nxos, juniper_junos");
  app.add_option("--base-port", base_port, "first port (control API); devices follow")
      ->check(CLI::Range(1024, 60000));
  app.add_option("--state-dir", state_dir,
                 "where host keys, the TLS certificate, known_hosts and the inventory go");
  app.add_option("--syslog", syslog, "send device syslog to HOST:PORT (UDP)");
  app.add_option("--syslog-format", syslog_format, "rfc5424 or rfc3164");
  app.add_option("--inventory", inventory,
                 "inventory file to write (default STATE_DIR/inventory.yaml)");
  app.add_option("--workers", workers, "SSH event-loop threads")->check(CLI::Range(1, 64));
  app.add_option("--seed", seed, "seed for serials, MACs, uptimes");
  app.add_flag("--meraki", meraki, "also serve the Meraki-like dashboard API");
  if (argc == 2 && std::string_view(argv[1]) == "--describe-cli") {  // for nauto-lab(1)
    std::cout << nauto::describe_cli(app).dump(1) << "\n";
    return 0;
  }
  CLI11_PARSE(app, argc, argv);

  FleetSpec fleet;
  if (!fleet_file.empty()) {
    auto loaded = load_fleet_file(fleet_file);
    if (!loaded) {
      std::cerr << "nauto-lab: " << loaded.error().describe() << "\n";
      return 2;
    }
    fleet = std::move(*loaded);
  }
  if (base_port) fleet.base_port = static_cast<uint16_t>(base_port);
  if (workers) fleet.workers = workers;
  if (seed) fleet.seed = seed;
  if (meraki) fleet.meraki.enabled = true;
  if (!syslog.empty()) {
    auto colon = syslog.rfind(':');
    int port = colon == std::string::npos ? 0 : std::atoi(syslog.c_str() + colon + 1);
    if (port <= 0 || port > 65535 || (syslog_format != "rfc5424" && syslog_format != "rfc3164")) {
      std::cerr << "nauto-lab: --syslog expects HOST:PORT (e.g. 127.0.0.1:5514) and "
                   "--syslog-format rfc5424|rfc3164\n";
      return 2;
    }
    fleet.syslog.collector_host = syslog.substr(0, colon);
    fleet.syslog.collector_port = static_cast<uint16_t>(port);
    fleet.syslog.rfc5424 = syslog_format == "rfc5424";
  }
  if (fleet_file.empty() || devices > 0 || base_port) {
    std::vector<DeviceGroup> groups;
    if (fleet_file.empty() || devices > 0) {
      auto parsed = parse_platform(platform);
      if (!parsed) {
        std::cerr << "nauto-lab: unknown --platform '" << platform
                  << "'; expected cisco_ios, arista_eos, cisco_nxos or juniper_junos\n";
        return 2;
      }
      DeviceGroup group;
      group.platform = *parsed;
      group.count = devices > 0 ? devices : 1;
      groups.push_back(group);
      fleet.devices.clear();
      auto built = build_devices(fleet, groups);
      if (!built) {
        std::cerr << "nauto-lab: " << built.error().describe() << "\n";
        return 2;
      }
    } else {
      // --base-port over a fleet file: renumber the file's devices.
      fleet.control_port = 0;
      fleet.meraki.port = 0;
      std::vector<DeviceGroup> from_file;
      for (const auto& device : fleet.devices) {
        DeviceGroup group;
        group.platform = device.platform;
        group.count = 1;
        group.name_pattern = device.name;
        group.site = device.site;
        group.role = device.role;
        group.ports = device.ports;
        group.api = device.api_port != 0;
        group.faults = device.faults;
        from_file.push_back(group);
      }
      auto built = build_devices(fleet, from_file);
      if (!built) {
        std::cerr << "nauto-lab: " << built.error().describe() << "\n";
        return 2;
      }
    }
  }
  if (!state_dir.empty()) fleet.state_dir = state_dir;
  if (fleet.state_dir.empty())
    fleet.state_dir = std::filesystem::temp_directory_path() / "nauto-lab";
  std::filesystem::create_directories(fleet.state_dir);
  if (inventory.empty()) inventory = fleet.state_dir + "/inventory.yaml";

  SyslogSender syslog_sender(fleet.syslog);
  const int64_t start_us = wall_us();
  ConfirmTimers confirm_timers;
  std::vector<std::unique_ptr<Device>> owned;
  std::vector<Device*> devices_list;
  for (const auto& spec : fleet.devices) {
    owned.push_back(std::make_unique<Device>(spec, fleet, &syslog_sender, start_us));
    owned.back()->set_confirm_timers(&confirm_timers);
    devices_list.push_back(owned.back().get());
  }
  SshServer ssh(fleet, devices_list);
  if (auto started = ssh.start(); !started) {
    std::cerr << "nauto-lab: " << started.error().describe() << "\n";
    return 1;
  }
  std::string certificate;
  bool needs_tls =
      fleet.api_tls &&
      (fleet.meraki.enabled || std::any_of(fleet.devices.begin(), fleet.devices.end(),
                                           [](const DeviceSpec& d) { return d.api_port != 0; }));
  CertificateFiles files;
  if (needs_tls) {
    auto made = ensure_certificate(fleet.state_dir + "/tls");
    if (!made) {
      std::cerr << "nauto-lab: " << made.error().describe() << "\n";
      return 1;
    }
    files = *made;
    certificate = files.certificate;
  }
  HttpServices http(fleet, devices_list, ssh);
  if (auto started = http.start(files.certificate, files.private_key); !started) {
    std::cerr << "nauto-lab: " << started.error().describe() << "\n";
    return 1;
  }
  std::ofstream(fleet.state_dir + "/known_hosts") << ssh.known_hosts();
  std::ofstream(inventory) << inventory_yaml(fleet, certificate);
  std::ofstream(fleet.state_dir + "/lab-credentials.env") << credentials_env(fleet);
  std::ofstream(fleet.state_dir + "/dashboards.yaml") << dashboards_yaml(fleet);

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  nlohmann::json ready = {{"ready", true},
                          {"devices", fleet.devices.size()},
                          {"control_port", fleet.control_port},
                          {"inventory", inventory},
                          {"credentials_env", fleet.state_dir + "/lab-credentials.env"},
                          {"dashboards", fleet.state_dir + "/dashboards.yaml"},
                          {"known_hosts", fleet.state_dir + "/known_hosts"},
                          {"certificate", certificate},
                          {"pid", ::getpid()}};
  if (fleet.meraki.enabled) ready["meraki_port"] = fleet.meraki.port;
  std::cout << ready.dump() << std::endl;
  while (!g_stop) {
    // Commit-confirmed timers: roll back what was not confirmed in time. Only devices with a
    // deadline due are visited; the 200 ms cap is for noticing g_stop (set by a signal).
    for (auto* device : confirm_timers.wait_due(200))
      device->expire_confirmed_commit(steady_ms());
  }
  http.stop();
  ssh.stop();
  ssh_finalize();
  return 0;
}
