#pragma once
// LabProcess: starts nauto-lab with a fleet file for a test, waits for its ready line, reads the
// inventory it wrote, and stops it (SIGTERM) when destroyed. Also drives its control API.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "nauto/drivers/device_target.h"
#include "nauto/drivers/http_client.h"
#include "support/port_block.h"

extern char** environ;

namespace nauto::test {

struct LabDevice {
  std::string name;
  std::string platform;
  int port = 0;
  int api_port = 0;
};

class LabProcess {
 public:
  /// `fleet_yaml` without base_port (chosen here) — the lab's fleet file format.
  LabProcess(const std::string& lab_binary, const std::string& fleet_yaml, int base_port) {
    dir_ = std::filesystem::temp_directory_path() /
           ("nauto-drivers-test-" + std::to_string(::getpid()) + "-" + std::to_string(base_port));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "fleet.yaml") << "base_port: " << base_port << "\n" << fleet_yaml;
    control_port_ = base_port;
    std::string out = (dir_ / "lab.out").string();
    std::string fleet = (dir_ / "fleet.yaml").string();
    std::string state = (dir_ / "state").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const char* argv[] = {lab_binary.c_str(), "--fleet",     fleet.c_str(),
                          "--state-dir",      state.c_str(), nullptr};
    if (posix_spawn(&pid_, lab_binary.c_str(), &actions, nullptr, const_cast<char**>(argv),
                    environ) != 0) {
      throw std::runtime_error("cannot start " + lab_binary);
    }
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 300; ++i) {
      std::ifstream in(out);
      std::string line;
      if (std::getline(in, line) && line.find("\"ready\":true") != std::string::npos) break;
      ::usleep(50'000);
    }
    auto inventory = YAML::LoadFile((dir_ / "state" / "inventory.yaml").string());
    known_hosts_ = inventory["defaults"]["known_hosts"].as<std::string>();
    if (inventory["defaults"]["tls_ca_file"])
      ca_file_ = inventory["defaults"]["tls_ca_file"].as<std::string>();
    for (const auto& host : inventory["hosts"]) {
      LabDevice device;
      device.name = host.first.as<std::string>();
      device.platform = host.second["platform"].as<std::string>();
      device.port = host.second["port"].as<int>();
      if (host.second["api_port"]) device.api_port = host.second["api_port"].as<int>();
      devices_.push_back(device);
    }
    auto dashboards = YAML::LoadFile((dir_ / "state" / "dashboards.yaml").string());
    if (dashboards["meraki"]) {
      meraki_url_ = dashboards["meraki"]["url"].as<std::string>();
      meraki_key_ = dashboards["meraki"]["api_key"].as<std::string>();
    }
  }
  ~LabProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// The n-th device (0-based) of a platform.
  const LabDevice& device(const std::string& platform, int index = 0) const {
    for (const auto& device : devices_) {
      if (device.platform == platform && index-- == 0) return device;
    }
    throw std::runtime_error("no such lab device: " + platform);
  }
  /// A target for a device with the lab's credentials and strict host keys.
  drivers::DeviceTarget target(const LabDevice& device) const {
    drivers::DeviceTarget target;
    target.name = device.name;
    target.port = device.port;
    target.api_port = device.api_port;
    target.platform = device.platform;
    target.credentials = {"admin", "admin", "enable", {}, {}, {}};
    target.known_hosts = known_hosts_;
    target.tls.ca_file = ca_file_;
    return target;
  }
  /// PUT /devices/NAME/faults, or any control API call; returns the body.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = {}) const {
    drivers::DeviceTarget lab;
    lab.name = "nauto-lab control";
    drivers::http::HttpClient client(lab, drivers::Timeouts{2000, 5000, 10000});
    drivers::http::HttpRequest request{method,
                                       "http://127.0.0.1:" + std::to_string(control_port_) + path,
                                       {"Content-Type: application/json"},
                                       body,
                                       false};
    auto response = client.send(request, drivers::Deadline::after_ms(10000));
    if (!response) throw std::runtime_error(response.error().describe());
    return response->body;
  }
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& meraki_url() const { return meraki_url_; }
  const std::string& meraki_key() const { return meraki_key_; }
  const std::string& known_hosts() const { return known_hosts_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int control_port_ = 0;
  std::string known_hosts_, ca_file_, meraki_url_, meraki_key_;
  std::vector<LabDevice> devices_;
};

// nauto-lab's path, from NAUTO_LAB_BINARY (meson's test() sets it; an environment variable rather
// than a compiled-in path keeps these objects the same in every checkout, for the compiler cache).
inline std::string lab_binary() {
  const char* path = std::getenv("NAUTO_LAB_BINARY");
  if (path == nullptr || *path == 0) throw std::runtime_error("NAUTO_LAB_BINARY is not set");
  return path;
}

}  // namespace nauto::test
