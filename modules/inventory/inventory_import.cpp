#include "inventory_import.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace nauto::inventory {

using nlohmann::json;

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

json typed_value(const std::string& text) {
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  char* end = nullptr;
  const long long number = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && end && *end == '\0') return number;
  return text;
}

bool is_secret_variable(const std::string& key) {
  return key == "ansible_password" || key == "ansible_ssh_pass" ||
         key == "ansible_become_password" || key == "ansible_become_pass" ||
         key == "ansible_ssh_private_key_passphrase" || key == "password" || key == "secret" ||
         key == "enable_secret" || key == "api_key";
}

// Applies one Ansible variable to `a`; returns a warning for what cannot be imported.
std::string apply_ansible_variable(Attributes& a, const std::string& key, const json& value,
                                   const std::string& where) {
  // dump() throws on bytes that are not UTF-8 inside a value (found by fuzzing): replace them.
  const auto text = value.is_string() ? value.get<std::string>()
                                      : value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (is_secret_variable(key)) {
    return where + ": " + key +
           " not imported: secrets go to the vault (`nauto creds set NAME`), then set "
           "credential: NAME";
  }
  if (key == "ansible_host")
    a.host = text;
  else if (key == "ansible_port" && value.is_number_integer())
    a.port = value.get<int>();
  else if (key == "ansible_user")
    a.username = text;
  else if (key == "ansible_network_os")
    a.platform = platform_from_ansible(text);
  else if (key == "ansible_connection") {
    if (text == "network_cli" || text == "ssh" || text == "paramiko")
      a.transport = "ssh_cli";
    else if (text == "netconf" || text == "ansible.netcommon.netconf")
      a.transport = "netconf";
    else if (text == "local") {
      // Ansible's local connection means "the module talks to the device"; nothing to map.
    } else {
      a.vars[key] = text;
    }
  } else {
    a.vars[key] = value;
  }
  return {};
}

// Ansible host patterns with ranges: leaf[01:04] -> leaf01..leaf04, sw[a:c] -> swa..swc. At
// most kMaxExpandedHosts names from one pattern, nested ranges included (a range of letters up
// to \xff once looped without end, found by fuzzing).
constexpr std::size_t kMaxExpandedHosts = 100'000;

std::vector<std::string> expand_host_range(const std::string& pattern) {
  const auto open = pattern.find('[');
  const auto close = pattern.find(']', open == std::string::npos ? 0 : open);
  const auto colon = pattern.find(':', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos || colon == std::string::npos ||
      colon > close) {
    return {pattern};
  }
  const auto first = pattern.substr(open + 1, colon - open - 1);
  const auto last = pattern.substr(colon + 1, close - colon - 1);
  const auto prefix = pattern.substr(0, open);
  const auto digits = [](const std::string& text) {
    return !text.empty() && text.size() <= 9 && std::all_of(text.begin(), text.end(), ::isdigit);
  };
  std::vector<std::string> out;
  for (const auto& rest : expand_host_range(pattern.substr(close + 1))) {
    if (out.size() >= kMaxExpandedHosts) break;
    if (digits(first) && digits(last)) {
      const int from = std::stoi(first), to = std::stoi(last);
      for (int i = from; i <= to && out.size() < kMaxExpandedHosts; ++i) {
        auto number = std::to_string(i);
        if (first.size() > number.size() && first[0] == '0')
          number = std::string(first.size() - number.size(), '0') + number;
        out.push_back(prefix + number + rest);
      }
    } else if (first.size() == 1 && last.size() == 1) {
      const int from = static_cast<unsigned char>(first[0]);
      const int to = static_cast<unsigned char>(last[0]);
      for (int c = from; c <= to && out.size() < kMaxExpandedHosts; ++c)
        out.push_back(prefix + static_cast<char>(c) + rest);
    } else {
      out.push_back(pattern);
      break;
    }
  }
  return out;
}

void add_host(InventorySource& source, const std::string& name) {
  if (!source.hosts.count(name)) {
    source.host_order.push_back(name);
    source.hosts[name] = {};
  }
}

void add_membership(std::vector<std::string>& groups, const std::string& group) {
  if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
}

// key=value pairs after a host name; values may be quoted.
std::vector<std::pair<std::string, std::string>> split_pairs(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    const auto equals = text.find('=', i);
    if (i >= text.size() || equals == std::string::npos) break;
    const auto key = trim(text.substr(i, equals - i));
    i = equals + 1;
    std::string value;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      const char quote = text[i++];
      const auto end = text.find(quote, i);
      value = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? text.size() : end + 1;
    } else {
      const auto end = text.find_first_of(" \t", i);
      value = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? text.size() : end;
    }
    pairs.emplace_back(key, value);
  }
  return pairs;
}

Result<ImportResult> import_ansible_ini(const std::string& text, const std::string& origin) {
  ImportResult result;
  auto& source = result.source;
  std::vector<std::string> problems;
  std::string section = "ungrouped", kind = "hosts";
  std::istringstream in(text);
  std::string raw;
  int line_number = 0;
  while (std::getline(in, raw)) {
    ++line_number;
    const auto where = origin + ":" + std::to_string(line_number);
    const auto line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        problems.push_back(where + ": section header without ']'");
        continue;
      }
      const auto header = line.substr(1, line.size() - 2);
      const auto colon = header.find(':');
      section = header.substr(0, colon);
      kind = colon == std::string::npos ? "hosts" : header.substr(colon + 1);
      if (kind != "hosts" && kind != "vars" && kind != "children") {
        problems.push_back(where + ": unknown section kind ':" + kind +
                           "' (expected :vars or :children)");
      }
      if (section != "all") source.groups[section];
      continue;
    }
    if (kind == "vars") {
      const auto equals = line.find('=');
      if (equals == std::string::npos) {
        problems.push_back(where + ": expected name=value in [" + section + ":vars]");
        continue;
      }
      auto& target = section == "all" ? source.defaults : source.groups[section];
      auto warning = apply_ansible_variable(target, trim(line.substr(0, equals)),
                                            typed_value(trim(line.substr(equals + 1))), where);
      if (!warning.empty()) result.warnings.push_back(warning);
    } else if (kind == "children") {
      auto& child = source.groups[line];
      if (section != "all") add_membership(child.groups, section);
    } else {
      const auto space = line.find_first_of(" \t");
      const auto pattern = line.substr(0, space);
      const auto pairs = space == std::string::npos ? decltype(split_pairs("")){}
                                                    : split_pairs(line.substr(space));
      for (const auto& name : expand_host_range(pattern)) {
        add_host(source, name);
        auto& host = source.hosts[name];
        if (section != "all" && section != "ungrouped") add_membership(host.groups, section);
        for (const auto& [key, value] : pairs) {
          auto warning = apply_ansible_variable(host, key, typed_value(value), where);
          if (!warning.empty()) result.warnings.push_back(warning);
        }
      }
    }
  }
  source.groups.erase("ungrouped");
  for (auto& [name, host] : source.hosts) {
    host.groups.erase(std::remove(host.groups.begin(), host.groups.end(), "ungrouped"),
                      host.groups.end());
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return result;
}

json node_json(const YAML::Node& node) {
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& item : node)
      out[item.first.Scalar()] = node_json(item.second);
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node)
      out.push_back(node_json(item));
    return out;
  }
  if (node.IsScalar()) return node.Tag() == "!" ? json(node.Scalar()) : typed_value(node.Scalar());
  return nullptr;
}

void walk_ansible_group(const YAML::Node& node, const std::string& group, const std::string& parent,
                        const std::string& origin, ImportResult& result,
                        std::vector<std::string>& problems) {
  auto& source = result.source;
  const auto where = origin + ":" + std::to_string(node.Mark().line + 1);
  if (!node.IsNull() && !node.IsMap()) {
    problems.push_back(where + ": group '" + group + "': expected hosts:, vars: or children:");
    return;
  }
  const bool is_all = group == "all";
  if (!is_all) {
    auto& attributes = source.groups[group];
    if (!parent.empty() && parent != "all") add_membership(attributes.groups, parent);
  }
  if (node.IsNull()) return;
  for (const auto& item : node) {
    const auto key = item.first.Scalar();
    if (key == "vars") {
      auto& target = is_all ? source.defaults : source.groups[group];
      for (const auto& var : item.second) {
        auto warning =
            apply_ansible_variable(target, var.first.Scalar(), node_json(var.second),
                                   origin + ":" + std::to_string(var.first.Mark().line + 1));
        if (!warning.empty()) result.warnings.push_back(warning);
      }
    } else if (key == "hosts") {
      if (!item.second.IsMap()) {  // a list here once reached yaml-cpp's throw (fuzzing)
        result.warnings.push_back(origin + ":" + std::to_string(item.second.Mark().line + 1) +
                                  ": hosts of group '" + group +
                                  "' is not a map of host names; skipped");
        continue;
      }
      for (const auto& host_item : item.second) {
        for (const auto& name : expand_host_range(host_item.first.Scalar())) {
          add_host(source, name);
          auto& host = source.hosts[name];
          if (!is_all && group != "ungrouped") add_membership(host.groups, group);
          if (!host_item.second.IsMap()) continue;
          for (const auto& var : host_item.second) {
            auto warning =
                apply_ansible_variable(host, var.first.Scalar(), node_json(var.second),
                                       origin + ":" + std::to_string(var.first.Mark().line + 1));
            if (!warning.empty()) result.warnings.push_back(warning);
          }
        }
      }
    } else if (key == "children") {
      for (const auto& child : item.second) {
        walk_ansible_group(child.second, child.first.Scalar(), group, origin, result, problems);
      }
    } else {
      problems.push_back(origin + ":" + std::to_string(item.first.Mark().line + 1) + ": group '" +
                         group + "': unknown key '" + key + "' (expected hosts, vars, children)");
    }
  }
}

Result<ImportResult> import_ansible_yaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) return fail(Errc::InvalidConfig, origin + ": expected a mapping of groups");
  ImportResult result;
  std::vector<std::string> problems;
  for (const auto& group : root) {
    walk_ansible_group(group.second, group.first.Scalar(), "", origin, result, problems);
  }
  result.source.groups.erase("ungrouped");
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return result;
}

// RFC 4180 fields: commas, double quotes with "" escapes, quoted newlines are not supported.
Result<std::vector<std::string>> csv_fields(const std::string& line, const std::string& where) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      fields.push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) return fail(Errc::InvalidConfig, where + ": unterminated quoted field");
  fields.push_back(was_quoted ? field : trim(field));
  return fields;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (const char c : text + ";") {
    if (c == ';' || c == '|' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

Result<ImportResult> import_csv(const std::string& text, const std::string& origin) {
  ImportResult result;
  std::vector<std::string> problems;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> columns;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const auto where = origin + ":" + std::to_string(line_number);
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    auto fields = csv_fields(line, where);
    if (!fields) {
      problems.push_back(fields.error().message);
      continue;
    }
    if (columns.empty()) {
      columns = *fields;
      for (auto& column : columns) {
        std::transform(column.begin(), column.end(), column.begin(), ::tolower);
      }
      if (std::find(columns.begin(), columns.end(), "name") == columns.end()) {
        return fail(Errc::InvalidConfig, where + ": the header row needs a 'name' column");
      }
      continue;
    }
    if (fields->size() != columns.size()) {
      problems.push_back(where + ": " + std::to_string(fields->size()) +
                         " fields, the header has " + std::to_string(columns.size()));
      continue;
    }
    Attributes a;
    std::string name;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const auto& key = columns[i];
      const auto& value = (*fields)[i];
      if (value.empty()) continue;
      const auto column_where = where + ": column " + key;
      auto port = [&](std::optional<int>& into) {
        const auto j = typed_value(value);
        if (j.is_number_integer() && j.get<long long>() > 0 && j.get<long long>() < 65536) {
          into = j.get<int>();
        } else {
          problems.push_back(column_where + ": expected a port number, got '" + value + "'");
        }
      };
      if (key == "name")
        name = value;
      else if (key == "host" || key == "address" || key == "ip")
        a.host = value;
      else if (key == "port")
        port(a.port);
      else if (key == "api_port")
        port(a.api_port);
      else if (key == "platform")
        a.platform = value;
      else if (key == "transport")
        a.transport = value;
      else if (key == "credential")
        a.credential = value;
      else if (key == "username")
        a.username = value;
      else if (key == "url")
        a.url = value;
      else if (key == "serial")
        a.serial = value;
      else if (key == "groups" || key == "group")
        a.groups = split_list(value);
      else if (key == "tags" || key == "tag")
        a.tags = split_list(value);
      else if (is_secret_variable(key)) {
        result.warnings.push_back(column_where +
                                  ": not imported: secrets go to the vault (`nauto creds set "
                                  "NAME`), then set credential: NAME");
      } else {
        a.vars[key] = typed_value(value);
      }
    }
    if (name.empty()) {
      problems.push_back(where + ": empty name");
      continue;
    }
    for (const auto& group : a.groups)
      result.source.groups[group];
    add_host(result.source, name);
    result.source.hosts[name] = std::move(a);
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return result;
}

}  // namespace

std::string platform_from_ansible(const std::string& network_os) {
  static const std::map<std::string, std::string> names = {
      {"ios", "cisco_ios"},
      {"cisco.ios.ios", "cisco_ios"},
      {"eos", "arista_eos"},
      {"arista.eos.eos", "arista_eos"},
      {"nxos", "cisco_nxos"},
      {"cisco.nxos.nxos", "cisco_nxos"},
      {"junos", "juniper_junos"},
      {"junipernetworks.junos.junos", "juniper_junos"},
      {"frr", "frr"},
      {"frr.frr.frr", "frr"},
      {"linux", "linux"}};
  const auto it = names.find(network_os);
  return it == names.end() ? network_os : it->second;
}

Result<ImportFormat> import_format(const std::string& name, const std::string& origin,
                                   const std::string& text) {
  if (name == "native") return ImportFormat::Native;
  if (name == "ansible-ini") return ImportFormat::AnsibleIni;
  if (name == "ansible-yaml") return ImportFormat::AnsibleYaml;
  if (name == "csv") return ImportFormat::Csv;
  if (name != "auto") {
    return fail(Errc::InvalidArgument, "unknown inventory format '" + name +
                                           "'; use auto, native, ansible-ini, ansible-yaml or csv");
  }
  if (ends_with(origin, ".csv")) return ImportFormat::Csv;
  if (ends_with(origin, ".ini") || ends_with(origin, "hosts") ||
      trim(text.substr(0, text.find('\n'))).rfind('[', 0) == 0) {
    return ImportFormat::AnsibleIni;
  }
  // Native files have a hosts: (or groups:/defaults:) section at the top level; Ansible YAML
  // starts with group names (usually all:).
  try {
    const auto root = YAML::Load(text);
    if (root.IsMap() && (root["hosts"] || root["groups"] || root["defaults"])) {
      return ImportFormat::Native;
    }
    if (root.IsMap()) return ImportFormat::AnsibleYaml;
  } catch (const YAML::Exception&) {
    return ImportFormat::AnsibleIni;
  }
  return fail(Errc::InvalidArgument,
              origin +
                  ": cannot tell the inventory format; pass --format native|ansible-ini|"
                  "ansible-yaml|csv");
}

static Result<ImportResult> import_in(ImportFormat format, const std::string& text,
                                      const std::string& origin);

Result<ImportResult> import_inventory(ImportFormat format, const std::string& text,
                                      const std::string& origin) {
  // yaml-cpp throws for a node of an unexpected kind; the edge turns what the walks above do not
  // check into the file's error (found by fuzzing).
  try {
    return import_in(format, text, origin);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidArgument, origin + ": " + e.what());
  }
}

static Result<ImportResult> import_in(ImportFormat format, const std::string& text,
                                      const std::string& origin) {
  switch (format) {
    case ImportFormat::Native: {
      auto source = parse_inventory_yaml(text, origin);
      if (!source) return std::move(source).error();
      return ImportResult{std::move(*source), {}};
    }
    case ImportFormat::AnsibleIni:
      return import_ansible_ini(text, origin);
    case ImportFormat::AnsibleYaml:
      return import_ansible_yaml(text, origin);
    case ImportFormat::Csv:
      return import_csv(text, origin);
  }
  return fail(Errc::Bug, "unhandled inventory format");
}

}  // namespace nauto::inventory
