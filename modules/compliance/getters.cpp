#include "getters.h"

#include <cctype>
#include <charconv>

#include "config_checks.h"
#include "nauto/text/regex.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

bool is_one_of(const std::string& platform, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (platform == name) return true;
  return false;
}

// The first of several field names a record has (templates of different platforms name the same
// thing differently); "" when none.
std::string field(const json& record, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    auto it = record.find(name);
    if (it != record.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::optional<double> number(const std::string& text) {
  double out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return out;
}

// A whole number from text; `fallback` when it is none or beyond what an int64 holds.
json integer_or(const std::string& text, long long fallback) {
  auto n = number(text);
  if (!n || !(*n > -9.2e18 && *n < 9.2e18)) return fallback;
  return static_cast<long long>(*n);
}

// "aabb.cc00.0100" or "aa:bb:..." as NAPALM writes a MAC: six upper-case pairs with colons.
std::string napalm_mac(const std::string& text) {
  std::string hex;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (hex.size() != 12) return text;
  std::string out;
  for (std::size_t i = 0; i < 12; i += 2)
    out += (i ? ":" : "") + hex.substr(i, 2);
  return out;
}

// "1000000 Kbit" -> 1000.0 (Mbit/s); -1 when unknown.
double speed_mbit(const std::string& bandwidth) {
  const auto space = bandwidth.find(' ');
  auto value = number(bandwidth.substr(0, space));
  if (!value) return -1.0;
  const std::string unit = space == std::string::npos ? "" : bandwidth.substr(space + 1);
  if (unit.starts_with("Kbit")) return *value / 1000.0;
  if (unit.starts_with("Mbit")) return *value;
  if (unit.starts_with("Gbit")) return *value * 1000.0;
  return -1.0;
}

// IOS-style uptime ("2 years, 3 weeks, 4 days, 5 hours, 6 minutes") in seconds; -1 if unread.
double uptime_seconds(const std::string& text) {
  static const text::Regex kPart = text::Regex::literal(
      R"((\d+)\s+(year|week|day|hour|minute|second)s?)", text::Regex::Anchor::Anywhere);
  static const std::map<std::string, double> kUnit = {{"year", 31536000}, {"week", 604800},
                                                      {"day", 86400},     {"hour", 3600},
                                                      {"minute", 60},     {"second", 1}};
  double total = 0;
  bool any = false;
  std::string_view rest = text;
  while (auto groups = text::match_groups(kPart, rest)) {
    total += number((*groups)[1]).value_or(0.0) * kUnit.at((*groups)[2]);
    any = true;
    const auto at = rest.find((*groups)[0]);
    rest.remove_prefix(at + (*groups)[0].size());
  }
  return any ? total : -1.0;
}

const json* records(const DeviceData& data, const std::string& getter) {
  const auto command = getter_command(getter, data.platform);
  if (command.empty()) return nullptr;
  auto it = data.parsed.find(command);
  return it == data.parsed.end() || !it->second.is_array() ? nullptr : &it->second;
}

std::optional<json> interfaces(const DeviceData& data) {
  const json* rows = records(data, "get_interfaces");
  if (!rows) return std::nullopt;
  json out = json::object();
  for (const auto& row : *rows) {
    const auto name = field(row, {"interface"});
    if (name.empty()) continue;
    const auto link = field(row, {"link_status"});
    const auto protocol = field(row, {"protocol_status", "link_status"});
    const auto admin = field(row, {"admin_state"});
    const bool enabled = admin.empty() ? link.find("administratively") == std::string::npos &&
                                             link.find("disabled") == std::string::npos
                                       : admin == "up";
    out[name] = {{"is_up", protocol.starts_with("up")},
                 {"is_enabled", enabled},
                 {"description", field(row, {"description"})},
                 {"mac_address", napalm_mac(field(row, {"mac_address", "address"}))},
                 {"mtu", integer_or(field(row, {"mtu"}), -1)},
                 {"speed", speed_mbit(field(row, {"bandwidth"}))},
                 {"last_flapped", -1.0}};
  }
  return out;
}

std::optional<json> bgp_neighbors(const DeviceData& data) {
  const json* rows = records(data, "get_bgp_neighbors");
  if (!rows) return std::nullopt;
  json peers = json::object();
  std::string router_id;
  for (const auto& row : *rows) {
    const auto address = field(row, {"bgp_neighbor", "bgp_neigh"});
    if (router_id.empty()) router_id = field(row, {"router_id"});
    if (address.empty()) continue;
    const auto state = field(row, {"state_or_prefixes_received", "state_pfxrcd", "state"});
    const auto prefixes = field(row, {"state_pfxrcd", "state_or_prefixes_received"});
    const bool counted = number(prefixes).has_value();
    peers[address] = {{"local_as", integer_or(field(row, {"local_as"}), -1)},
                      {"remote_as", integer_or(field(row, {"neighbor_as", "neigh_as"}), -1)},
                      {"remote_id", ""},
                      {"is_up", counted || state == "Established"},
                      {"is_enabled", state.find("Admin") == std::string::npos},
                      {"description", field(row, {"description"})},
                      {"uptime", -1},
                      {"address_family",
                       {{"ipv4",
                         {{"received_prefixes", integer_or(prefixes, -1)},
                          {"accepted_prefixes", integer_or(field(row, {"state_pfxacc"}), -1)},
                          {"sent_prefixes", -1}}}}}};
  }
  return json{{"global", {{"router_id", router_id}, {"peers", std::move(peers)}}}};
}

std::optional<json> ntp_servers(const DeviceData& data) {
  if (!data.config) return std::nullopt;
  // IOS, EOS, NX-OS, FRR: "ntp server [vrf X] ADDRESS ..."; Junos: "set system ntp server A",
  // or "server A;" inside its ntp { } block.
  static const text::Regex kCisco = text::Regex::literal(
      R"(^\s*ntp server (?:vrf \S+ )?(?:ip |ipv6 )?([^\s;]+))", text::Regex::Anchor::AtStart);
  static const text::Regex kSet =
      text::Regex::literal(R"(^set system ntp server ([^\s;]+))", text::Regex::Anchor::AtStart);
  static const text::Regex kBlock =
      text::Regex::literal(R"(^\s*server ([^\s;]+)( .*)?;)", text::Regex::Anchor::AtStart);
  const bool junos = data.platform == "juniper_junos";
  json out = json::object();
  bool in_ntp = false;
  for (const auto line : data.config->lines()) {
    const std::string text(line);
    if (junos && text.find("ntp {") != std::string::npos) in_ntp = true;
    for (const auto* regex : {&kCisco, &kSet}) {
      if (auto groups = text::match_groups(*regex, text)) out[(*groups)[1]] = json::object();
    }
    if (in_ntp) {
      if (auto groups = text::match_groups(kBlock, text)) out[(*groups)[1]] = json::object();
      if (text.find('}') != std::string::npos && text.find('{') == std::string::npos)
        in_ntp = false;
    }
  }
  return out;
}

std::optional<json> facts(const DeviceData& data) {
  if (!data.facts || !data.facts->is_object()) return std::nullopt;
  const auto& f = *data.facts;
  json interface_list = json::array();
  if (auto known = interfaces(data))
    for (const auto& [name, value] : known->items())
      interface_list.push_back(name);
  const auto hostname = f.value("hostname", "");
  return json{{"hostname", hostname},
              {"fqdn", hostname},
              {"vendor", f.value("vendor", "")},
              {"model", f.value("model", "")},
              {"os_version", f.value("os_version", "")},
              {"serial_number", f.value("serial", "")},
              {"uptime", uptime_seconds(f.value("uptime", ""))},
              {"interface_list", std::move(interface_list)}};
}

}  // namespace

std::string getter_command(const std::string& getter, const std::string& platform) {
  if (getter == "get_interfaces" || getter == "get_facts") {
    if (is_one_of(platform, {"cisco_ios", "arista_eos"})) return "show interfaces";
    if (platform == "cisco_nxos") return "show interface";
    return {};
  }
  if (getter == "get_bgp_neighbors" &&
      is_one_of(platform, {"cisco_ios", "arista_eos", "cisco_nxos"}))
    return "show ip bgp summary";
  return {};
}

std::optional<json> getter_value(const std::string& getter, const DeviceData& data) {
  if (getter == "get_facts") return facts(data);
  if (getter == "get_interfaces") return interfaces(data);
  if (getter == "get_bgp_neighbors") return bgp_neighbors(data);
  if (getter == "get_ntp_servers") return ntp_servers(data);
  return std::nullopt;
}

}  // namespace nauto::compliance
