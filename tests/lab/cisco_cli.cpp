// CLI of the IOS-like platforms (cisco_ios, arista_eos, cisco_nxos): exec and privileged
// modes, config mode with sub-modes, the show commands, saving, and each platform's wording
// of prompts and errors.
#include <map>
#include <set>

#include "cli_engine.h"
#include "nauto/text/regex.h"
#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {
namespace {

enum Command {
  kShowVersion,
  kShowRunning,
  kShowRunningArgs,
  kShowStartup,
  kShowInterfaces,
  kShowInterface,
  kShowInterfacesStatus,
  kShowInterfacesDescription,
  kShowIpInterfaceBrief,
  kShowIpRoute,
  kShowIpRouteProtocol,
  kShowBgpSummary,
  kShowBgpNeighbors,
  kShowBgpNeighbor,
  kShowLldp,
  kShowInventory,
  kShowClock,
  kShowHostname,
  kTerminalLength,
  kTerminalWidth,
  kTerminalMonitor,
  kEnable,
  kDisable,
  kExit,
  kConfigure,
  kWriteMemory,
  kCopyRunStart,
};

const std::set<Command> kPrivileged{kShowRunning, kShowRunningArgs, kShowStartup,
                                    kConfigure,   kWriteMemory,     kCopyRunStart};

// First words each config mode accepts; the empty set means "anything" (modes we do not model).
const std::set<std::string> kGlobalWords{
    "hostname",      "interface",     "router",        "ip",
    "ipv6",          "username",      "enable",        "service",
    "logging",       "ntp",           "snmp-server",   "banner",
    "line",          "vlan",          "spanning-tree", "aaa",
    "access-list",   "route-map",     "vrf",           "feature",
    "clock",         "boot",          "archive",       "crypto",
    "management",    "lldp",          "cdp",           "errdisable",
    "control-plane", "track",         "event",         "alias",
    "tacacs-server", "radius-server", "default",       "system",
    "transceiver",   "daemon",        "policy-map",    "class-map",
    "key",           "license",       "mac",           "version"};
const std::set<std::string> kInterfaceWords{"description",
                                            "ip",
                                            "ipv6",
                                            "shutdown",
                                            "switchport",
                                            "mtu",
                                            "speed",
                                            "duplex",
                                            "channel-group",
                                            "bandwidth",
                                            "encapsulation",
                                            "vrf",
                                            "negotiation",
                                            "load-interval",
                                            "cdp",
                                            "lldp",
                                            "spanning-tree",
                                            "standby",
                                            "vrrp",
                                            "storm-control",
                                            "service-policy",
                                            "logging",
                                            "carrier-delay",
                                            "keepalive",
                                            "media-type",
                                            "default",
                                            "flowcontrol",
                                            "mac-address"};
const std::set<std::string> kRouterWords{"bgp",
                                         "neighbor",
                                         "network",
                                         "redistribute",
                                         "address-family",
                                         "router-id",
                                         "maximum-paths",
                                         "timers",
                                         "default-information",
                                         "distance",
                                         "aggregate-address",
                                         "synchronization",
                                         "auto-summary",
                                         "log-neighbor-changes",
                                         "passive-interface",
                                         "area",
                                         "shutdown",
                                         "exit-address-family"};
const std::set<std::string> kNeighborWords{"remote-as",     "description",    "shutdown",
                                           "update-source", "address-family", "password",
                                           "timers",        "ebgp-multihop"};
const std::map<std::string, std::vector<std::string>> kSecondWords{
    {"ip",
     {"address", "route", "routing", "domain", "domain-name", "name-server", "access-list", "ospf",
      "prefix-list", "vrf", "http", "ssh", "scp", "helper-address", "mtu"}},
    {"router", {"bgp", "ospf", "eigrp", "isis"}},
    {"switchport", {"mode", "access", "trunk"}},
};

std::string expand(const std::string& word, const std::set<std::string>& keywords,
                   bool* ambiguous) {
  std::string found;
  for (const auto& keyword : keywords) {
    if (keyword == word) return keyword;
    if (keyword.compare(0, word.size(), word) == 0) {
      if (!found.empty()) *ambiguous = true;
      found = keyword;
    }
  }
  return found;
}

bool valid_ipv4(const std::string& text) {
  static const auto pattern = nauto::text::Regex::literal(
      R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))", nauto::text::Regex::Anchor::Whole);
  auto match = nauto::text::match_groups(pattern, text);
  if (!match) return false;
  for (int i = 1; i <= 4; ++i) {
    if (std::stoi((*match)[i]) > 255) return false;
  }
  return true;
}

class CiscoCli : public CliEngine {
 public:
  CiscoCli(Device& device, SessionInfo session) : CliEngine(device, std::move(session)) {
    platform_ = device.spec().platform;
    privileged_ = platform_ == Platform::CiscoNxos;
    const bool nxos = platform_ == Platform::CiscoNxos;
    std::string interfaces = nxos ? "interface" : "interfaces";
    table_.add("show version", kShowVersion);
    table_.add("show running-config", kShowRunning);
    table_.add("show running-config <REST>", kShowRunningArgs);
    table_.add("show startup-config", kShowStartup);
    table_.add("show " + interfaces, kShowInterfaces);
    table_.add("show " + interfaces + " <WORD>", kShowInterface);
    table_.add("show " + interfaces + " status", kShowInterfacesStatus);
    table_.add("show " + interfaces + " description", kShowInterfacesDescription);
    if (nxos) table_.add("show interface brief", kShowInterfacesStatus);
    table_.add("show ip interface brief", kShowIpInterfaceBrief);
    table_.add("show ip route", kShowIpRoute);
    table_.add("show ip route <WORD>", kShowIpRouteProtocol);
    table_.add("show ip bgp summary", kShowBgpSummary);
    table_.add("show ip bgp neighbors", kShowBgpNeighbors);
    table_.add("show ip bgp neighbors <WORD>", kShowBgpNeighbor);
    if (nxos) table_.add("show bgp ipv4 unicast summary", kShowBgpSummary);
    table_.add("show lldp neighbors", kShowLldp);
    table_.add("show inventory", kShowInventory);
    table_.add("show clock", kShowClock);
    if (nxos) table_.add("show hostname", kShowHostname);
    table_.add("terminal length <WORD>", kTerminalLength);
    table_.add("terminal width <WORD>", kTerminalWidth);
    table_.add("terminal monitor", kTerminalMonitor);
    table_.add("enable", kEnable);
    table_.add("disable", kDisable);
    table_.add("exit", kExit);
    table_.add("logout", kExit);
    table_.add("configure terminal", kConfigure);
    table_.add("configure", kConfigure);
    if (!nxos) table_.add("write memory", kWriteMemory);
    if (platform_ == Platform::CiscoIos) table_.add("write", kWriteMemory);
    table_.add("copy running-config startup-config", kCopyRunStart);
  }

  std::string banner() override {
    if (platform_ != Platform::CiscoIos) return {};
    return device_.read([](const DeviceState& state) -> std::string {
      for (const auto& node : *state.running.children({})) {
        if (node.line.rfind("banner motd ", 0) == 0) {
          std::string text = node.line.substr(12);
          if (text.size() >= 4) text = text.substr(2, text.size() - 4);  // strip ^C delimiters
          return "\n" + text + "\n\n";
        }
      }
      return {};
    });
  }

  void grant_privilege() override { privileged_ = true; }

  std::string prompt() const override {
    std::string host =
        device_.read([&](const DeviceState& state) { return device_.hostname_locked(state); });
    if (modes_.empty())
      return host + (privileged_ ? "#" : ">") + (platform_ == Platform::CiscoNxos ? " " : "");
    return host + "(" + modes_.back() + ")#" + (platform_ == Platform::CiscoNxos ? " " : "");
  }

 protected:
  CliReply run(const std::string& raw_line) override {
    std::string line = raw_line;
    if (line.find('\x1a') != std::string::npos) line = "end";  // Ctrl-Z
    auto parts = split_pipes(line);
    auto words = split_line(parts[0]);
    if (words.empty()) return {};
    device_.record_command(session_.channel, line);
    if (!modes_.empty()) return configure_line(words, parts);
    return exec_line(words, parts);
  }

  bool apply_pipe(const std::string& filter, std::string& text, CliReply& reply) override {
    auto words = split_line(filter);
    static const std::set<std::string> kFilters{"include", "exclude", "begin", "section", "count"};
    bool ambiguous = false;
    std::string kind = words.empty() ? "" : expand(words[0].text, kFilters, &ambiguous);
    if (kind.empty() || ambiguous || (kind != "count" && words.size() < 2)) {
      reply = error_at(prompt().size() + 0, "invalid");
      return false;
    }
    std::string pattern = filter.substr(words.size() > 1 ? words[1].column : filter.size());
    auto regex = nauto::text::Regex::compile(pattern, nauto::text::Regex::Anchor::Anywhere);
    if (!regex) {
      reply.output = "% Invalid regular expression: " + pattern + "\n";
      reply.error = true;
      return false;
    }
    std::string out;
    size_t pos = 0;
    bool begun = false, in_section = false;
    int count = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string current = text.substr(pos, end - pos);
      pos = end + 1;
      bool hit = kind != "count" && nauto::text::matches(*regex, current);
      bool keep = false;
      if (kind == "include") keep = hit;
      if (kind == "exclude") keep = !hit;
      if (kind == "begin") keep = begun = begun || hit;
      if (kind == "count") ++count;
      if (kind == "section") {
        bool top = !current.empty() && current[0] != ' ';
        if (top) in_section = hit;
        keep = in_section || (!top && hit);
      }
      if (keep) out += current + "\n";
    }
    text = kind == "count" ? "Number of lines which match regexp = " + std::to_string(count) + "\n"
                           : out;
    return true;
  }

 private:
  CliReply error_at(size_t column, const std::string& kind) const {
    CliReply reply;
    reply.error = true;
    std::string caret = std::string(column, ' ') + "^\n";
    if (platform_ == Platform::AristaEos) {
      reply.output = kind == "incomplete"  ? "% Incomplete command\n"
                     : kind == "ambiguous" ? "% Ambiguous command\n"
                                           : "% Invalid input\n";
    } else if (platform_ == Platform::CiscoNxos) {
      reply.output = caret + (kind == "incomplete"  ? "% Incomplete command at '^' marker.\n"
                              : kind == "ambiguous" ? "% Ambiguous command at '^' marker.\n"
                                                    : "% Invalid command at '^' marker.\n");
    } else {
      reply.output = kind == "incomplete"  ? "% Incomplete command.\n\n"
                     : kind == "ambiguous" ? "% Ambiguous command:  \"" + last_line_ + "\"\n"
                                           : caret + "% Invalid input detected at '^' marker.\n\n";
    }
    return reply;
  }

  CliReply match_error(const CommandTable::Match& match, const std::vector<Word>& words) const {
    size_t column = prompt().size();
    if (match.bad_word < words.size())
      column += words[match.bad_word].column;
    else if (!words.empty())
      column += words.back().column + words.back().text.size() + 1;
    if (match.status == CommandTable::Match::Status::Incomplete)
      return error_at(column, "incomplete");
    if (match.status == CommandTable::Match::Status::Ambiguous)
      return error_at(column, "ambiguous");
    return error_at(column, "invalid");
  }

  std::vector<Word> join_interface_words(std::vector<Word> words) const {
    // `show interfaces gi 0/1` and `interface Ethernet 1` name one interface in two words.
    for (size_t i = 1; i + 1 < words.size(); ++i) {
      const auto& before = words[i - 1].text;
      bool after_interface =
          before.size() >= 3 && std::string("interfaces").compare(0, before.size(), before) == 0;
      if (after_interface && std::isalpha(static_cast<unsigned char>(words[i].text[0])) &&
          std::isdigit(static_cast<unsigned char>(words[i + 1].text[0])) &&
          words[i].text.find_first_of("0123456789") == std::string::npos) {
        words[i].text += words[i + 1].text;
        words.erase(words.begin() + static_cast<long>(i) + 1);
      }
    }
    return words;
  }

  CliReply with_pipes(std::string text, const std::vector<std::string>& parts) {
    CliReply reply;
    for (size_t i = 1; i < parts.size(); ++i) {
      if (!apply_pipe(parts[i], text, reply)) return reply;
    }
    reply.output = std::move(text);
    return reply;
  }

  CliReply show(Show what, const std::string& argument, const std::vector<std::string>& parts) {
    auto view = device_.view();
    auto text = render_show(what, view, argument);
    if (!text) return error_at(prompt().size() + parts[0].rfind(' ') + 1, "invalid");
    return with_pipes(*text, parts);
  }

  CliReply exec_line(std::vector<Word> words, const std::vector<std::string>& parts) {
    words = join_interface_words(std::move(words));
    last_line_ = parts[0];
    auto match = table_.match(words);
    if (match.status == CommandTable::Match::Status::Ok && !privileged_ &&
        kPrivileged.contains(static_cast<Command>(match.id))) {
      match.status = CommandTable::Match::Status::Invalid;
      match.bad_word = words.size() > 1 && match.id != kConfigure ? 1 : 0;
    }
    if (match.status != CommandTable::Match::Status::Ok) return match_error(match, words);
    switch (static_cast<Command>(match.id)) {
      case kShowVersion:
        return show(Show::Version, "", parts);
      case kShowRunning:
        return with_pipes(device_.running_config_text(), parts);
      case kShowRunningArgs:
        return show_running_section(match.args[0], parts);
      case kShowStartup:
        return with_pipes(device_.read([&](const DeviceState& state) {
          DeviceState copy;
          copy.running = state.startup;
          copy.committed = state.committed;
          copy.config_changed_us = state.config_changed_us;
          copy.config_changed_by = state.config_changed_by;
          return device_.running_config_text_locked(copy);
        }),
                          parts);
      case kShowInterfaces:
        return show(Show::Interfaces, "", parts);
      case kShowInterface: {
        auto name = device_.canonical_interface(match.args[0]);
        if (!name) return error_at(prompt().size() + words[2].column, "invalid");
        return show(Show::Interfaces, *name, parts);
      }
      case kShowInterfacesStatus:
        return show(Show::InterfacesStatus, "", parts);
      case kShowInterfacesDescription:
        return show(Show::InterfacesDescription, "", parts);
      case kShowIpInterfaceBrief:
        return show(Show::IpInterfaceBrief, "", parts);
      case kShowIpRoute:
        return show(Show::IpRoute, "", parts);
      case kShowIpRouteProtocol: {  // show ip route bgp | connected | static | ospf
        static const std::vector<std::string> protocols = {"bgp", "connected", "static", "ospf"};
        for (const auto& p : protocols) {
          if (p.rfind(match.args[0], 0) == 0) return show(Show::IpRoute, p, parts);
        }
        return error_at(prompt().size() + words[3].column, "invalid");
      }
      case kShowBgpSummary:
        return show(Show::BgpSummary, "", parts);
      case kShowBgpNeighbors:
        return show(Show::BgpNeighbors, "", parts);
      case kShowBgpNeighbor: {
        auto reply = show(Show::BgpNeighbors, match.args[0], parts);
        if (reply.error) reply.output = "% No such neighbor or address family\n";
        return reply;
      }
      case kShowLldp:
        return show(Show::LldpNeighbors, "", parts);
      case kShowInventory:
        return show(Show::Inventory, "", parts);
      case kShowClock:
        return show(Show::Clock, "", parts);
      case kShowHostname:
        return with_pipes(
            device_.read([&](const DeviceState& s) { return device_.hostname_locked(s); }) + "\n",
            parts);
      case kTerminalLength: {
        int length = std::atoi(match.args[0].c_str());
        if (length < 0 || length > 512 ||
            !std::isdigit(static_cast<unsigned char>(match.args[0][0]))) {
          return error_at(prompt().size() + words[2].column, "invalid");
        }
        page_length_ = length;
        return {};
      }
      case kTerminalWidth:
      case kTerminalMonitor:
        return {};
      case kEnable:
        return enable();
      case kDisable:
        if (platform_ != Platform::CiscoNxos) privileged_ = false;
        return {};
      case kExit: {
        CliReply reply;
        reply.close = true;
        return reply;
      }
      case kConfigure: {
        modes_.push_back("config");
        path_.clear();
        dirty_ = false;
        CliReply reply;
        if (platform_ == Platform::CiscoIos) {
          reply.output = "Enter configuration commands, one per line.  End with CNTL/Z.\n";
        }
        return reply;
      }
      case kWriteMemory:
      case kCopyRunStart:
        return save(match.id == kCopyRunStart);
    }
    return {};
  }

  CliReply show_running_section(const std::string& args, const std::vector<std::string>& parts) {
    auto words = split_line(args);
    std::set<std::string> kinds{"interface", "all", "section"};
    bool ambiguous = false;
    std::string kind = expand(words[0].text, kinds, &ambiguous);
    if (kind == "all") return with_pipes(device_.running_config_text(), parts);
    if (kind != "interface" || words.size() < 2) {
      return error_at(prompt().size() + std::string("show running-config ").size(), "invalid");
    }
    std::string typed;
    for (size_t i = 1; i < words.size(); ++i)
      typed += words[i].text;
    auto name = device_.canonical_interface(typed);
    std::string text = device_.read([&](const DeviceState& state) -> std::string {
      if (!name) return {};
      const auto* node = state.running.find({"interface " + *name});
      if (node == nullptr) return {};
      IndentedConfig one;
      one.ensure({node->line});
      for (const auto& child : node->children)
        one.set({node->line}, child.line);
      int indent =
          platform_ == Platform::AristaEos ? 3 : (platform_ == Platform::CiscoNxos ? 2 : 1);
      return one.render(indent, false);
    });
    if (text.empty()) {
      return error_at(prompt().size() + std::string("show running-config interface ").size(),
                      "invalid");
    }
    if (platform_ == Platform::CiscoIos) {
      text = "Building configuration...\n\nCurrent configuration : " + std::to_string(text.size()) +
             " bytes\n!\n" + text + "end\n";
    }
    return with_pipes(text, parts);
  }

  CliReply enable() {
    if (privileged_) return {};
    CliReply reply;
    reply.question = "Password: ";
    reply.secret_input = true;
    pending_ = [this](const std::string& answer) {
      if (answer == device_.fleet().enable_secret) {
        privileged_ = true;
        enable_failures_ = 0;
        return CliReply{};
      }
      if (platform_ == Platform::AristaEos || ++enable_failures_ >= 3) {
        enable_failures_ = 0;
        CliReply denied;
        denied.error = true;
        denied.output =
            platform_ == Platform::AristaEos ? "% Access denied\n" : "% Bad secrets\n\n";
        return denied;
      }
      auto again = enable();  // IOS asks up to three times
      again.error = true;
      return again;
    };
    return reply;
  }

  CliReply save(bool copy) {
    device_.mutate([](DeviceState& state) { state.startup = state.running; });
    CliReply reply;
    if (platform_ == Platform::CiscoIos) {
      if (copy) {
        reply.question = "Destination filename [startup-config]? ";
        pending_ = [](const std::string&) {
          CliReply done;
          done.output = "Building configuration...\n[OK]\n";
          return done;
        };
        return reply;
      }
      reply.output = "Building configuration...\n[OK]\n";
    } else if (platform_ == Platform::AristaEos) {
      reply.output = "Copy completed successfully.\n";
    } else {
      reply.output = "[########################################] 100%\nCopy complete.\n";
    }
    return reply;
  }

  std::string mode_name(const std::string& section, size_t depth) const {
    auto words = split_words(section);
    const std::string& first = words[0];
    bool eos = platform_ == Platform::AristaEos;
    if (first == "interface") {
      return eos ? "config-if-" + short_interface(words[1], false) : "config-if";
    }
    if (first == "router") return eos ? "config-router-" + words[1] : "config-router";
    if (first == "neighbor") return "config-router-neighbor";
    if (first == "address-family") {
      return depth >= 2 ? "config-router-neighbor-af"
                        : (eos ? "config-router-bgp-af" : "config-router-af");
    }
    if (first == "line") return "config-line";
    if (first == "vlan") return eos ? "config-vlan-" + words[1] : "config-vlan";
    if (first == "route-map") return eos ? "config-route-map-" + words[1] : "config-route-map";
    if (first == "vrf") return "config-vrf";
    if (first == "ip" && words.size() > 2 && words[1] == "access-list") {
      return eos ? "config-acl-" + words.back()
                 : (words[2] == "standard" ? "config-std-nacl" : "config-ext-nacl");
    }
    return "config-" + first;
  }

  // Which first words open a section at each kind of level, and which words the level takes.
  bool opens_section(const std::vector<std::string>& words, size_t depth) const {
    const std::string& first = words[0];
    std::string parent = depth == 0 ? "" : split_words(path_[depth - 1])[0];
    if (depth == 0) {
      return first == "interface" || first == "router" || first == "line" || first == "vlan" ||
             first == "route-map" || (first == "vrf" && words.size() > 2) ||
             (first == "ip" && words.size() > 2 && words[1] == "access-list") ||
             (first == "management" && words.size() > 1);
    }
    if (parent == "router") {
      return first == "address-family" ||
             (platform_ == Platform::CiscoNxos && first == "neighbor" && words.size() == 2);
    }
    if (parent == "neighbor") return first == "address-family";
    return false;
  }

  const std::set<std::string>* words_at(size_t depth) const {
    if (depth == 0) return &kGlobalWords;
    std::string kind = split_words(path_[depth - 1])[0];
    if (kind == "interface") return &kInterfaceWords;
    if (kind == "router") return &kRouterWords;
    if (kind == "neighbor") return &kNeighborWords;
    return nullptr;  // sub-modes we do not model accept any line
  }

  CliReply leave_config() {
    modes_.clear();
    path_.clear();
    if (dirty_) device_.config_changed(session_.user, session_.peer);
    dirty_ = false;
    return {};
  }

  CliReply configure_line(std::vector<Word> words, const std::vector<std::string>& parts) {
    last_line_ = parts[0];
    const std::string& first = words[0].text;
    if (first == "end") return leave_config();
    if (first == "exit") {
      if (path_.empty()) return leave_config();
      path_.pop_back();
      modes_.pop_back();
      return {};
    }
    if (first == "do" && words.size() > 1) {
      auto rest = parts[0].substr(words[1].column);
      std::vector<std::string> do_parts = parts;
      do_parts[0] = rest;
      auto saved_modes = modes_;
      modes_.clear();
      auto reply = exec_line(split_line(rest), do_parts);
      if (modes_.empty()) modes_ = saved_modes;
      return reply;
    }
    words = join_interface_words(std::move(words));
    bool negate = first == "no";
    size_t at = negate ? 1 : 0;
    if (at >= words.size()) return error_at(prompt().size() + parts[0].size() + 1, "incomplete");
    // Expand abbreviations at this level, else at a parent level (IOS leaves the sub-mode).
    for (size_t depth = path_.size() + 1; depth-- > 0;) {
      const auto* allowed = words_at(depth);
      std::vector<std::string> expanded;
      for (const auto& word : words)
        expanded.push_back(word.text);
      if (allowed != nullptr) {
        bool ambiguous = false;
        auto keyword = expand(words[at].text, *allowed, &ambiguous);
        if (keyword.empty()) continue;
        if (ambiguous) return error_at(prompt().size() + words[at].column, "ambiguous");
        expanded[at] = keyword;
        auto second = kSecondWords.find(keyword);
        if (second != kSecondWords.end() && at + 1 < expanded.size()) {
          std::set<std::string> options(second->second.begin(), second->second.end());
          auto next = expand(expanded[at + 1], options, &ambiguous);
          if (next.empty() || ambiguous) {
            return error_at(prompt().size() + words[at + 1].column,
                            next.empty() ? "invalid" : "ambiguous");
          }
          expanded[at + 1] = next;
        }
      }
      while (path_.size() > depth) {
        path_.pop_back();
        modes_.pop_back();
      }
      return apply(words, expanded, negate, parts);
    }
    return error_at(prompt().size() + words[at].column, "invalid");
  }

  CliReply apply(const std::vector<Word>& words, std::vector<std::string> expanded, bool negate,
                 const std::vector<std::string>& parts) {
    size_t at = negate ? 1 : 0;
    std::vector<std::string> body(expanded.begin() + static_cast<long>(at), expanded.end());
    if (body[0] == "interface") {
      if (body.size() < 2) return error_at(prompt().size() + parts[0].size() + 1, "incomplete");
      auto name = device_.canonical_interface(join_words(body, 1));
      if (!name) return error_at(prompt().size() + words[at + 1].column, "invalid");
      body = {"interface", *name};
    }
    if (body[0] == "hostname" && body.size() != 2) {
      return error_at(
          prompt().size() + (body.size() < 2 ? parts[0].size() + 1 : words[at + 2].column),
          body.size() < 2 ? "incomplete" : "invalid");
    }
    if (body.size() >= 2 && body[0] == "ip" && body[1] == "address" && !negate) {
      bool ok_address = false;
      if (platform_ == Platform::CiscoIos) {
        ok_address = body.size() >= 4 && valid_ipv4(body[2]) && valid_ipv4(body[3]);
      } else if (body.size() >= 3) {
        auto slash = body[2].find('/');
        ok_address = slash != std::string::npos && valid_ipv4(body[2].substr(0, slash));
      }
      if (!ok_address) {
        size_t bad = std::min(words.size() - 1, at + 2);
        return error_at(prompt().size() + words[bad].column,
                        body.size() < 3 ? "incomplete" : "invalid");
      }
    }
    std::string line = join_words(body);
    size_t depth = path_.size();
    if (!negate && opens_section(body, depth)) {
      device_.mutate([&](DeviceState& state) {
        auto path = path_;
        path.push_back(line);
        state.running.ensure(path);
      });
      path_.push_back(line);
      modes_.push_back(mode_name(line, depth));
      dirty_ = true;
      return {};
    }
    device_.mutate([&](DeviceState& state) {
      if (negate) {
        if (state.running.unset(path_, line) == 0 && depth == 0) {
          // `no interface Loopback5` removes the whole section.
          state.running.unset({}, line);
        }
      } else {
        state.running.set(path_, line);
      }
    });
    dirty_ = true;
    return {};
  }

  Platform platform_;
  CommandTable table_;
  bool privileged_ = false;
  int enable_failures_ = 0;
  std::vector<std::string> modes_;  ///< prompt names of config modes; empty in exec mode
  ConfigPath path_;                 ///< config sections entered (interface X, router bgp N)
  bool dirty_ = false;
  std::string last_line_;
};

}  // namespace

std::unique_ptr<CliEngine> make_cisco_cli(Device& device, SessionInfo session) {
  return std::make_unique<CiscoCli>(device, std::move(session));
}

}  // namespace nauto::lab
