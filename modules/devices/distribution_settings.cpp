#include "distribution_settings.h"

#include "inventory_host.h"
#include "nauto/sdk/config_reader.h"

namespace nauto::devices {

using nlohmann::json;

Result<std::optional<DistributionSettings>> read_distribution(const json& section) {
  if (section.is_null()) return std::optional<DistributionSettings>();
  constexpr const char* kAt = "modules.devices.distribution";
  if (!section.is_object()) return fail(Errc::InvalidConfig, std::string(kAt) + ": a map");
  DistributionSettings s;
  ConfigReader r(section, kAt);
  const auto url = r.string("redis", "");
  s.credential = r.string("credential", "");
  const auto ca_file = r.string("ca_file", "");
  const auto cert_file = r.string("cert_file", "");
  const auto key_file = r.string("key_file", "");
  s.signing_key = r.string("signing_key", "");
  // At least 3 s: live workers claim their items in flight again every second.
  s.min_idle_ms = r.duration_ms("min_idle", 30'000, 3'000);
  s.max_deliveries = static_cast<int>(r.integer("max_deliveries", 5, 1, 100));
  r.allow("pools");  // a list, read below
  const auto pools = section.value("pools", json());
  if (auto done = r.finish(); !done) return std::move(done).error();
  std::vector<std::string> problems;
  auto endpoint = parse_redis_url(url);
  if (!endpoint)
    problems.push_back(std::string(kAt) + ".redis: " + endpoint.error().message);
  else
    s.redis = *endpoint;
  s.redis.ca_file = ca_file;
  s.redis.cert_file = cert_file;
  s.redis.key_file = key_file;
  if (s.signing_key.empty())
    problems.push_back(std::string(kAt) +
                       ".signing_key: a path for the ed25519 key that signs work items (made "
                       "0600 when missing)");
  if (!pools.is_null() && !pools.is_array()) {
    problems.push_back(std::string(kAt) + ".pools: a list of {name, match}");
  } else if (pools.is_array()) {
    for (std::size_t i = 0; i < pools.size(); ++i) {
      const auto at = std::string(kAt) + ".pools[" + std::to_string(i) + "]";
      ConfigReader rule(pools[i], at);
      auto name = rule.string("name", "");
      auto match = rule.string("match", "");
      if (auto done = rule.finish(); !done) problems.push_back(done.error().message);
      if (name.empty() || name == "local" || match.empty())
        problems.push_back(at +
                           ": give name (not 'local') and match, a selector such as "
                           "\"site=lon\"");
      else
        s.pools.emplace_back(std::move(name), std::move(match));
    }
  }
  if (auto found = config_problems(problems); !found) return std::move(found).error();
  return std::optional<DistributionSettings>(std::move(s));
}

std::string own_pool(const json& host) {
  auto pool = host_attribute(host, "pool");
  return pool == "local" ? "" : pool;
}

}  // namespace nauto::devices
