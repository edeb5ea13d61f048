#pragma once
// modules.devices.distribution: where a control node's remote pools are (Redis) and which
// devices belong to which pool (docs/workers.md). Absent: every device runs here.
//
//   distribution:
//     redis: rediss://nauto@redis.example.net:6380/0   # no password: it is in the vault
//     credential: redis-nauto     # vault entry: the ACL user's password (its username wins)
//     ca_file: /etc/nauto/redis-ca.pem                  # rediss://: trust only this CA
//     cert_file: ..., key_file: ...                     # a client certificate, if Redis asks
//     signing_key: /var/lib/nauto/work-signing.key      # ed25519, made 0600 when missing
//     pools:                      # rules, the first that matches a device wins
//       - {name: emea, match: "site=lon,fra"}
//       - {name: apac, match: "region=apac"}
//     min_idle: 30s               # a dead worker's items are claimed after this
//     max_deliveries: 5
//
// A host's own `pool:` (a setting or variable) wins over the rules; "local" or none runs here.
//
// Thread: any (a value type).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nauto/base/result.h"
#include "redis_connection.h"

namespace nauto::devices {

struct DistributionSettings {
  RedisEndpoint redis;  ///< password empty: filled from `credential`
  std::string credential;
  std::string signing_key;
  std::vector<std::pair<std::string, std::string>> pools;  ///< name, selector; in order
  std::int64_t min_idle_ms = 30'000;
  int max_deliveries = 5;
};

/// Reads the section (null: none, nullopt). Every problem is named by its key path.
Result<std::optional<DistributionSettings>> read_distribution(const nlohmann::json& section);

/// The pool a host names itself ("" for none or "local": here).
std::string own_pool(const nlohmann::json& host);

}  // namespace nauto::devices
