#pragma once
// Imports other tools' inventories into the native form: Ansible INI and YAML inventories and
// CSV exports (one row per device, a header row naming the columns).
//
// Ansible variables are mapped: ansible_host -> host, ansible_port -> port, ansible_user ->
// username, ansible_network_os -> platform (ios, cisco.ios.ios -> cisco_ios, ...),
// ansible_connection -> transport; other variables are kept as vars. Passwords in the source
// are not imported (the vault holds secrets): each one is reported as a warning so nothing is
// dropped silently.

#include <string>
#include <vector>

#include "inventory.h"

namespace nauto::inventory {

enum class ImportFormat { Native, AnsibleIni, AnsibleYaml, Csv };

struct ImportResult {
  InventorySource source;
  std::vector<std::string> warnings;  ///< "origin:line: what was not imported and why"
};

/// "native", "ansible-ini", "ansible-yaml", "csv", or "auto" (guessed from the name and text).
Result<ImportFormat> import_format(const std::string& name, const std::string& origin,
                                   const std::string& text);

Result<ImportResult> import_inventory(ImportFormat format, const std::string& text,
                                      const std::string& origin);

/// Maps Ansible's network OS names to nauto platforms; unknown names are returned as given.
std::string platform_from_ansible(const std::string& network_os);

}  // namespace nauto::inventory
