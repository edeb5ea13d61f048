#pragma once
// The inventory: which devices exist, how to reach them and what they are. Written as
// defaults, groups and hosts; a host inherits from the defaults, then from its groups (a
// group's parents before the group, in the order listed), then its own settings win. Tags
// accumulate, variables merge key by key, everything else is replaced by the nearer level.
//
// InventorySource is what a file says (each field optional); Inventory holds the resolved
// hosts, ready for selection. Neither holds a secret: credentials are named references
// into the vault (see modules/vault).

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::inventory {

/// Settings that defaults, groups and hosts may each give. Unset fields inherit.
struct Attributes {
  std::optional<std::string> host;  ///< address or DNS name
  std::optional<int> port;
  std::optional<std::string> platform;   ///< a driver platform: cisco_ios, arista_eos, ...
  std::optional<std::string> transport;  ///< ssh_cli, eapi, nxapi, netconf, exec, rest
  std::optional<int> api_port;
  std::optional<std::string> credential;  ///< a vault entry name
  std::optional<std::string> username;    ///< overrides the credential's username
  std::optional<std::string> known_hosts;
  std::optional<std::string> tls_ca_file;
  std::optional<std::string> url;     ///< REST base URL (Meraki dashboard)
  std::optional<std::string> serial;  ///< REST device serial
  std::vector<std::string> groups;    ///< group memberships (for groups: parent groups)
  std::vector<std::string> tags;
  nlohmann::json vars = nlohmann::json::object();  ///< free-form: site, role, aaa_server, ...
};

/// One inventory as written: possibly several files merged (a later host or group replaces
/// an earlier one of the same name).
struct InventorySource {
  Attributes defaults;
  std::map<std::string, Attributes> groups;
  std::map<std::string, Attributes> hosts;
  std::vector<std::string> host_order;  ///< hosts in the order they were written
};

/// A host with everything inherited applied. `groups` holds every group it belongs to,
/// ancestors included; `tags` are unique and sorted.
struct Host {
  std::string name;
  std::string host;
  int port = 22;
  std::string platform;
  std::string transport;
  int api_port = 0;
  std::string credential;
  std::string username;
  std::string known_hosts;
  std::string tls_ca_file;
  std::string url;
  std::string serial;
  std::vector<std::string> groups;
  std::vector<std::string> tags;
  nlohmann::json vars = nlohmann::json::object();

  /// The value a selector key names: name, host, port, platform, transport, credential,
  /// username, url, serial, or a variable (`site` or `vars.site`). Empty when absent.
  /// `group` and `tag` are lists and are matched by membership instead.
  std::string attribute(const std::string& key) const;
};

nlohmann::json to_json(const Host& host);
Result<Host> host_from_json(const nlohmann::json& j);

nlohmann::json to_json(const InventorySource& source);
Result<InventorySource> source_from_json(const nlohmann::json& j);

/// Parses the native YAML form. Errors name the file (`origin`), line and key, all at once.
Result<InventorySource> parse_inventory_yaml(const std::string& text, const std::string& origin);

/// Adds `more` to `into`: hosts and groups of the same name are replaced, defaults merged.
void merge_source(InventorySource& into, const InventorySource& more);

/// Resolved hosts. Immutable once built; cheap to query from one thread at a time.
class Inventory {
 public:
  /// Resolves inheritance. Errors (all at once): unknown group, group cycle, missing host
  /// address, bad port.
  static Result<Inventory> build(const InventorySource& source);

  const std::vector<Host>& hosts() const { return hosts_; }
  const Host* find(const std::string& name) const;
  const std::set<std::string>& group_names() const { return group_names_; }

 private:
  std::vector<Host> hosts_;
  std::map<std::string, std::size_t> index_;
  std::set<std::string> group_names_;
};

}  // namespace nauto::inventory
