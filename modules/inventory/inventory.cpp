#include "inventory.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>

namespace nauto::inventory {

using nlohmann::json;

namespace {

const std::vector<std::string> kAttributeKeys = {
    "host",        "port",        "platform", "transport", "api_port", "credential", "username",
    "known_hosts", "tls_ca_file", "url",      "serial",    "groups",   "tags",       "vars"};

// Keys that would put a secret in the inventory; the vault holds those.
const std::vector<std::string> kSecretKeys = {"password", "enable_secret", "secret", "api_key",
                                              "key_passphrase"};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

json scalar_json(const YAML::Node& node) {
  const auto text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: keep it a string
  if (text == "true" || text == "yes") return true;
  if (text == "false" || text == "no") return false;
  char* end = nullptr;
  const long long number = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && end && *end == '\0') return number;
  return text;
}

json yaml_json(const YAML::Node& node) {
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& item : node)
      out[item.first.Scalar()] = yaml_json(item.second);
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node)
      out.push_back(yaml_json(item));
    return out;
  }
  if (node.IsScalar()) return scalar_json(node);
  return nullptr;
}

// Reads one defaults/group/host block, collecting problems as "origin:line: key: what".
class BlockReader {
 public:
  BlockReader(std::string origin, std::vector<std::string>& problems)
      : origin_(std::move(origin)), problems_(problems) {}

  Attributes read(const YAML::Node& node, const std::string& path) {
    Attributes a;
    if (!node || node.IsNull()) return a;
    if (!node.IsMap()) {
      problem(node, path, "expected a mapping of settings");
      return a;
    }
    for (const auto& item : node) {
      const auto key = item.first.Scalar();
      const auto& value = item.second;
      const auto where = path + "." + key;
      if (key == "host")
        a.host = text(value, where);
      else if (key == "port")
        a.port = number(value, where, 1, 65535);
      else if (key == "api_port")
        a.api_port = number(value, where, 1, 65535);
      else if (key == "platform")
        a.platform = text(value, where);
      else if (key == "transport")
        a.transport = text(value, where);
      else if (key == "credential")
        a.credential = text(value, where);
      else if (key == "username")
        a.username = text(value, where);
      else if (key == "known_hosts")
        a.known_hosts = text(value, where);
      else if (key == "tls_ca_file")
        a.tls_ca_file = text(value, where);
      else if (key == "url")
        a.url = text(value, where);
      else if (key == "serial")
        a.serial = text(value, where);
      else if (key == "groups")
        a.groups = list(value, where);
      else if (key == "tags")
        a.tags = list(value, where);
      else if (key == "vars") {
        if (!value.IsMap()) {
          problem(value, where, "expected a mapping of variables");
        } else {
          for (const auto& var : value)
            a.vars[var.first.Scalar()] = yaml_json(var.second);
        }
      } else {
        other_key(a, key, value, where);
      }
    }
    return a;
  }

  void problem(const YAML::Node& node, const std::string& key, const std::string& what) {
    problems_.push_back(origin_ + ":" + std::to_string(node.Mark().line + 1) + ": " + key + ": " +
                        what);
  }

 private:
  // Flat keys such as `site: dc1` are variables, as in Ansible; a likely typo of a known key
  // or a secret is an error rather than a silently ignored setting.
  void other_key(Attributes& a, const std::string& key, const YAML::Node& value,
                 const std::string& where) {
    if (std::find(kSecretKeys.begin(), kSecretKeys.end(), key) != kSecretKeys.end()) {
      problem(value, where,
              "secrets are not kept in the inventory; store it with `nauto creds set NAME` and "
              "refer to it with `credential: NAME`");
      return;
    }
    for (const auto& known : kAttributeKeys) {
      if (key.size() > 3 && edit_distance(key, known) <= 2) {
        problem(value, where, "unknown setting; did you mean '" + known + "'?");
        return;
      }
    }
    if (!value.IsScalar() && !value.IsSequence()) {
      problem(value, where, "unknown setting; free-form data goes under vars:");
      return;
    }
    a.vars[key] = yaml_json(value);
  }

  std::string text(const YAML::Node& value, const std::string& where) {
    if (!value.IsScalar() || value.Scalar().empty()) {
      problem(value, where, "expected a non-empty string");
      return {};
    }
    return value.Scalar();
  }

  int number(const YAML::Node& value, const std::string& where, int min, int max) {
    const auto j = value.IsScalar() ? scalar_json(value) : json();
    if (!j.is_number_integer() || j.get<long long>() < min || j.get<long long>() > max) {
      problem(value, where,
              "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return min;
    }
    return static_cast<int>(j.get<long long>());
  }

  std::vector<std::string> list(const YAML::Node& value, const std::string& where) {
    std::vector<std::string> out;
    if (value.IsScalar()) {
      out.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (item.IsScalar())
          out.push_back(item.Scalar());
        else
          problem(item, where, "expected a list of names");
      }
    } else {
      problem(value, where, "expected a name or a list of names");
    }
    return out;
  }

  std::string origin_;
  std::vector<std::string>& problems_;
};

template <typename T>
void set_if(std::optional<T>& into, const std::optional<T>& from) {
  if (from) into = from;
}

void merge_attributes(Attributes& into, const Attributes& from) {
  set_if(into.host, from.host);
  set_if(into.port, from.port);
  set_if(into.platform, from.platform);
  set_if(into.transport, from.transport);
  set_if(into.api_port, from.api_port);
  set_if(into.credential, from.credential);
  set_if(into.username, from.username);
  set_if(into.known_hosts, from.known_hosts);
  set_if(into.tls_ca_file, from.tls_ca_file);
  set_if(into.url, from.url);
  set_if(into.serial, from.serial);
  for (const auto& tag : from.tags)
    into.tags.push_back(tag);
  into.vars.merge_patch(from.vars);
}

json attributes_json(const Attributes& a) {
  json j = json::object();
  auto put = [&](const char* key, const auto& value) {
    if (value) j[key] = *value;
  };
  put("host", a.host);
  put("port", a.port);
  put("platform", a.platform);
  put("transport", a.transport);
  put("api_port", a.api_port);
  put("credential", a.credential);
  put("username", a.username);
  put("known_hosts", a.known_hosts);
  put("tls_ca_file", a.tls_ca_file);
  put("url", a.url);
  put("serial", a.serial);
  if (!a.groups.empty()) j["groups"] = a.groups;
  if (!a.tags.empty()) j["tags"] = a.tags;
  if (!a.vars.empty()) j["vars"] = a.vars;
  return j;
}

Result<Attributes> attributes_from_json(const json& j) {
  try {
    Attributes a;
    auto get = [&](const char* key, auto& into) {
      if (j.contains(key))
        into = j.at(key).get<typename std::decay_t<decltype(into)>::value_type>();
    };
    get("host", a.host);
    get("port", a.port);
    get("platform", a.platform);
    get("transport", a.transport);
    get("api_port", a.api_port);
    get("credential", a.credential);
    get("username", a.username);
    get("known_hosts", a.known_hosts);
    get("tls_ca_file", a.tls_ca_file);
    get("url", a.url);
    get("serial", a.serial);
    if (j.contains("groups")) a.groups = j.at("groups").get<std::vector<std::string>>();
    if (j.contains("tags")) a.tags = j.at("tags").get<std::vector<std::string>>();
    if (j.contains("vars")) a.vars = j.at("vars");
    return a;
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("stored inventory entry: ") + e.what());
  }
}

}  // namespace

std::string Host::attribute(const std::string& key) const {
  if (key == "name") return name;
  if (key == "host") return host;
  if (key == "port") return std::to_string(port);
  if (key == "platform") return platform;
  if (key == "transport") return transport;
  if (key == "credential") return credential;
  if (key == "username") return username;
  if (key == "url") return url;
  if (key == "serial") return serial;
  const auto var = key.rfind("vars.", 0) == 0 ? key.substr(5) : key;
  const auto it = vars.find(var);
  if (it == vars.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

json to_json(const Host& h) {
  return json{{"name", h.name},
              {"host", h.host},
              {"port", h.port},
              {"platform", h.platform},
              {"transport", h.transport},
              {"api_port", h.api_port},
              {"credential", h.credential},
              {"username", h.username},
              {"known_hosts", h.known_hosts},
              {"tls_ca_file", h.tls_ca_file},
              {"url", h.url},
              {"serial", h.serial},
              {"groups", h.groups},
              {"tags", h.tags},
              {"vars", h.vars}};
}

Result<Host> host_from_json(const json& j) {
  try {
    Host h;
    h.name = j.at("name").get<std::string>();
    h.host = j.value("host", "");
    h.port = j.value("port", 22);
    h.platform = j.value("platform", "");
    h.transport = j.value("transport", "");
    h.api_port = j.value("api_port", 0);
    h.credential = j.value("credential", "");
    h.username = j.value("username", "");
    h.known_hosts = j.value("known_hosts", "");
    h.tls_ca_file = j.value("tls_ca_file", "");
    h.url = j.value("url", "");
    h.serial = j.value("serial", "");
    h.groups = j.value("groups", std::vector<std::string>{});
    h.tags = j.value("tags", std::vector<std::string>{});
    h.vars = j.value("vars", json::object());
    return h;
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("host record: ") + e.what());
  }
}

json to_json(const InventorySource& source) {
  json groups = json::object();
  for (const auto& [name, a] : source.groups)
    groups[name] = attributes_json(a);
  json hosts = json::array();
  for (const auto& name : source.host_order) {
    json entry = attributes_json(source.hosts.at(name));
    entry["name"] = name;
    hosts.push_back(std::move(entry));
  }
  return json{{"defaults", attributes_json(source.defaults)}, {"groups", groups}, {"hosts", hosts}};
}

Result<InventorySource> source_from_json(const json& j) {
  InventorySource source;
  auto defaults = attributes_from_json(j.value("defaults", json::object()));
  if (!defaults) return std::move(defaults).error();
  source.defaults = *defaults;
  const auto groups = j.value("groups", json::object());
  for (const auto& [name, value] : groups.items()) {
    auto group = attributes_from_json(value);
    if (!group) return std::move(group).error();
    source.groups[name] = *group;
  }
  for (const auto& entry : j.value("hosts", json::array())) {
    auto host = attributes_from_json(entry);
    if (!host) return std::move(host).error();
    const auto name = entry.value("name", "");
    if (!source.hosts.count(name)) source.host_order.push_back(name);
    source.hosts[name] = *host;
  }
  return source;
}

Result<InventorySource> parse_inventory_yaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  std::vector<std::string> problems;
  BlockReader reader(origin, problems);
  InventorySource source;
  if (!root.IsMap()) {
    return fail(Errc::InvalidConfig,
                origin + ": expected a mapping with defaults:, groups: and hosts:");
  }
  for (const auto& section : root) {
    const auto key = section.first.Scalar();
    const auto& value = section.second;
    if (key == "defaults") {
      source.defaults = reader.read(value, "defaults");
    } else if (key == "groups" || key == "hosts") {
      if (!value.IsMap() && !value.IsNull()) {
        reader.problem(value, key, "expected a mapping of names to settings");
        continue;
      }
      for (const auto& item : value) {
        const auto name = item.first.Scalar();
        auto attributes = reader.read(item.second, key + "." + name);
        if (key == "groups") {
          source.groups[name] = std::move(attributes);
        } else {
          if (!source.hosts.count(name)) source.host_order.push_back(name);
          source.hosts[name] = std::move(attributes);
        }
      }
    } else {
      reader.problem(section.first, key, "unknown section; expected defaults, groups or hosts");
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return source;
}

void merge_source(InventorySource& into, const InventorySource& more) {
  merge_attributes(into.defaults, more.defaults);
  if (!more.defaults.groups.empty()) into.defaults.groups = more.defaults.groups;
  for (const auto& [name, group] : more.groups)
    into.groups[name] = group;
  for (const auto& name : more.host_order) {
    if (!into.hosts.count(name)) into.host_order.push_back(name);
    into.hosts[name] = more.hosts.at(name);
  }
}

Result<Inventory> Inventory::build(const InventorySource& source) {
  std::vector<std::string> problems;
  // Each group resolved once (memoised) with its ancestors; `visiting` finds cycles.
  std::map<std::string, Attributes> resolved;
  std::map<std::string, std::vector<std::string>> ancestry;  // group -> itself + ancestors
  std::set<std::string> visiting;
  std::function<bool(const std::string&, const std::string&)> resolve_group =
      [&](const std::string& name, const std::string& from) -> bool {
    if (resolved.count(name)) return true;
    const auto it = source.groups.find(name);
    if (it == source.groups.end()) {
      problems.push_back(from + ": unknown group '" + name + "' (define it under groups:)");
      return false;
    }
    if (!visiting.insert(name).second) {
      problems.push_back("groups." + name + ": group cycle through '" + name + "'");
      return false;
    }
    Attributes merged;
    std::vector<std::string> lineage;
    for (const auto& parent : it->second.groups) {
      if (!resolve_group(parent, "groups." + name + ".groups")) continue;
      merge_attributes(merged, resolved[parent]);
      for (const auto& g : ancestry[parent]) {
        if (std::find(lineage.begin(), lineage.end(), g) == lineage.end()) lineage.push_back(g);
      }
    }
    merge_attributes(merged, it->second);
    lineage.push_back(name);
    visiting.erase(name);
    resolved[name] = std::move(merged);
    ancestry[name] = std::move(lineage);
    return true;
  };
  Inventory inventory;
  for (const auto& [name, group] : source.groups) {
    resolve_group(name, "groups");
    inventory.group_names_.insert(name);
  }
  for (const auto& name : source.host_order) {
    const auto& own = source.hosts.at(name);
    Attributes merged = source.defaults;
    std::vector<std::string> memberships;
    auto join = [&](const std::vector<std::string>& groups, const std::string& from) {
      for (const auto& group : groups) {
        if (!resolve_group(group, from)) continue;
        merge_attributes(merged, resolved[group]);
        for (const auto& g : ancestry[group]) {
          if (std::find(memberships.begin(), memberships.end(), g) == memberships.end())
            memberships.push_back(g);
        }
      }
    };
    join(source.defaults.groups, "defaults.groups");
    join(own.groups, "hosts." + name + ".groups");
    merge_attributes(merged, own);
    Host host;
    host.name = name;
    host.host = merged.host.value_or("");
    if (host.host.empty() && !merged.url) {
      problems.push_back("hosts." + name + ": no address; set host: (or url: for a REST device)");
    }
    host.platform = merged.platform.value_or("");
    if (host.platform.empty()) {
      problems.push_back("hosts." + name +
                         ": no platform; set platform: on the host, a group "
                         "or the defaults (e.g. cisco_ios)");
    }
    host.port = merged.port.value_or(22);
    host.transport = merged.transport.value_or("");
    host.api_port = merged.api_port.value_or(0);
    host.credential = merged.credential.value_or("");
    host.username = merged.username.value_or("");
    host.known_hosts = merged.known_hosts.value_or("");
    host.tls_ca_file = merged.tls_ca_file.value_or("");
    host.url = merged.url.value_or("");
    host.serial = merged.serial.value_or("");
    host.groups = std::move(memberships);
    host.tags = merged.tags;
    std::sort(host.tags.begin(), host.tags.end());
    host.tags.erase(std::unique(host.tags.begin(), host.tags.end()), host.tags.end());
    host.vars = merged.vars;
    inventory.index_[name] = inventory.hosts_.size();
    inventory.hosts_.push_back(std::move(host));
  }
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return inventory;
}

const Host* Inventory::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &hosts_[it->second];
}

}  // namespace nauto::inventory
