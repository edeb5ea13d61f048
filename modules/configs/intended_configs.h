#pragma once
// IntendedConfigs: a device's intended config, rendered from its template
// (nauto/text/jinja_template.h) with its inventory record as variables.
//
// Which template: the host's `template` variable, else "<platform>.j2"; templates and their
// includes are files under one folder (modules.configs.templates.dir), and a name that would
// leave it (absolute, or with a ".." part) is refused.
// The variables, as Ansible gives a host's: every field of the inventory record (name, host,
// platform, groups, tags, ...), each of its `vars` at the top level too, `vars` itself, and
// `inventory_hostname` (the name).
//
// Thread-safe: it reads files and holds nothing that changes.

#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"

namespace nauto::configs {

struct RenderedConfig {
  std::string template_name;
  std::string text;
};

class IntendedConfigs {
 public:
  explicit IntendedConfigs(std::string dir) : dir_(std::move(dir)) {}

  /// Renders the intended config of `host` (an inventory record, as inventory.select gives).
  /// Errors: the template's (file:line and what), Errc::NotFound for a missing template.
  Result<RenderedConfig> render(const nlohmann::json& host) const;
  /// The variables a template of `host` sees.
  static nlohmann::json variables_of(const nlohmann::json& host);
  /// The text of template `name` under the folder.
  Result<std::string> load(const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace nauto::configs
