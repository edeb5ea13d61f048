#pragma once
// HttpServices: the lab's HTTP endpoints — per-device Arista eAPI (/command-api) and Cisco
// NX-API (/ins) over HTTPS with basic auth, a Meraki-Dashboard-like REST API (API key,
// per-organisation rate limit with 429/Retry-After, Link pagination), and the control API
// tests use to flip links and BGP peers, read configs and command logs, set faults and reset.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "device.h"
#include "nauto/base/result.h"

namespace httplib {
class Server;
class TaskQueue;
}  // namespace httplib

namespace nauto::lab {

class SshServer;
class MerakiDashboard;

class HttpServices {
 public:
  HttpServices(const FleetSpec& fleet, std::vector<Device*> devices, const SshServer& ssh);
  ~HttpServices();
  /// Binds every port (failing with the port's name when one is taken), then serves.
  Result<void> start(const std::string& certificate, const std::string& private_key);
  void stop();

 private:
  void add_device_api(httplib::Server& server, Device& device);
  void add_control_api(httplib::Server& server);
  Device* find(const std::string& name) const;

  const FleetSpec& fleet_;
  std::vector<Device*> devices_;
  const SshServer& ssh_;
  std::unique_ptr<MerakiDashboard> meraki_;
  std::vector<std::unique_ptr<httplib::Server>> servers_;
  std::vector<std::thread> threads_;
};

}  // namespace nauto::lab
