#include "inventory_host.h"

namespace nauto::devices {

using nlohmann::json;

std::string host_attribute(const json& host, const std::string& key) {
  const auto var = key.rfind("vars.", 0) == 0 ? key.substr(5) : key;
  const json* value = nullptr;
  if (key == var && host.contains(key) && !host[key].is_object() && !host[key].is_array()) {
    value = &host[key];
  } else if (host.contains("vars") && host["vars"].contains(var)) {
    value = &host["vars"][var];
  }
  if (!value || value->is_null()) return {};
  return value->is_string() ? value->get<std::string>() : value->dump();
}

Result<drivers::DeviceTarget> target_of(const json& host, const json& credentials) {
  drivers::DeviceTarget t;
  t.name = host.value("name", "");
  t.host = host.value("host", "");
  t.port = host.value("port", 22);
  t.platform = host.value("platform", "");
  t.transport = host.value("transport", "");
  t.api_port = host.value("api_port", 0);
  t.url = host.value("url", "");
  t.serial = host.value("serial", "");
  t.known_hosts = host.value("known_hosts", "");
  t.tls.ca_file = host.value("tls_ca_file", "");
  const auto policy = host_attribute(host, "host_key_policy");
  if (policy == "accept-new")
    t.host_key_policy = drivers::HostKeyPolicy::AcceptNew;
  else if (policy == "off")
    t.host_key_policy = drivers::HostKeyPolicy::Off;
  const auto name = host.value("credential", "");
  if (!name.empty()) {
    const auto c = credentials.value(name, json::object());
    t.credentials.username = c.value("username", "");
    t.credentials.password = c.value("password", "");
    t.credentials.enable_secret = c.value("enable_secret", "");
    t.credentials.private_key_file = c.value("private_key_file", "");
    t.credentials.key_passphrase = c.value("key_passphrase", "");
    t.credentials.api_key = t.platform == "meraki" ? t.credentials.password : "";
  }
  if (const auto user = host.value("username", ""); !user.empty()) t.credentials.username = user;
  return t;
}

}  // namespace nauto::devices
