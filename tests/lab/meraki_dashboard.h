#pragma once
// MerakiDashboard: organisations, networks and devices shaped like the Meraki Dashboard API v1,
// generated from the fleet seed, with the API-key check, the per-organisation request rate
// limit (429 + Retry-After) and Link-header pagination real clients must handle.

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "fleet.h"

namespace httplib {
class Server;
}

namespace nauto::lab {

class MerakiDashboard {
 public:
  explicit MerakiDashboard(const FleetSpec& fleet);
  void install(httplib::Server& server, const std::string& base_url);

 private:
  bool admit(const std::string& bucket, double* retry_after);

  const FleetSpec& fleet_;
  std::mutex mutex_;
  nlohmann::json organizations_ = nlohmann::json::array();
  nlohmann::json networks_ = nlohmann::json::array();
  nlohmann::json devices_ = nlohmann::json::array();
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  std::map<std::string, Bucket> buckets_;
};

}  // namespace nauto::lab
