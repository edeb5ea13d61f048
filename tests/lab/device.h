#pragma once
// Device: one simulated router or switch — its configuration (IOS-like line tree or Junos
// hierarchy), its runtime state (links, BGP peers, counters) and the log of commands it was sent.
// Every reader and writer goes through read()/mutate(), which hold the device's lock; mutate()
// then compares interface and BGP states with the last look and reports changes as syslog
// events, so a config edit, a control-interface flip or a commit-confirmed rollback all
// produce the same events.

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fleet.h"
#include "indented_config.h"
#include "junos_config.h"

namespace nauto::lab {

class ConfirmTimers;

/// One syslog message in the platform's own wording.
struct DeviceEvent {
  int severity = 5;
  std::string app;    ///< process name (Junos "mib2d", EOS "Ebra"); "" for IOS/NX-OS
  std::string msgid;  ///< "%LINEPROTO-5-UPDOWN" or "SNMP_TRAP_LINK_DOWN"
  std::string text;   ///< the message after the tag
};

/// Where device events go (the syslog sender). Called without the device lock held.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const DeviceSpec& device, const std::string& hostname,
                    const DeviceEvent& event) = 0;
};

struct CommandRecord {
  int64_t time_us = 0;
  std::string channel;  ///< "cli", "exec", "netconf", "eapi", "nxapi"
  std::string text;
  int64_t done_us = 0;  ///< when the CLI had its reply ready (0: not a CLI line, or not yet)
};

struct InterfaceView {
  std::string name;
  std::string description;
  std::string address;  ///< dotted quad, empty when unassigned
  int prefix_length = 0;
  bool admin_up = true;
  bool oper_up = true;
  bool physical = true;
  int mtu = 1500;
  std::string mac;
  int speed_mbps = 1000;
  uint64_t in_packets = 0, out_packets = 0, in_bytes = 0, out_bytes = 0;
  uint64_t in_errors = 0, crc = 0, broadcasts = 0, multicasts = 0;
  int64_t last_change_s = 0;  ///< seconds since the last state change
  int if_index = 0;
  const LinkPeer* peer = nullptr;  ///< the LLDP neighbour, when the port is cabled
};

struct BgpPeerView {
  std::string address;
  uint64_t remote_as = 0;
  std::string description;
  bool admin_up = true;
  bool established = false;
  std::string state;  ///< "Established", "Active", "Idle"
  int64_t up_seconds = 0;
  int prefixes = 0;
  uint64_t messages_in = 0, messages_out = 0;
};

struct RouteView {
  std::string prefix;  ///< network address
  int length = 0;
  char code = 'C';  ///< C connected, L local, S static, B BGP
  std::string next_hop;
  std::string interface;
  int distance = 0;
  int metric = 0;
  int64_t age_s = 0;
};

/// Everything the show commands and APIs print, computed from config and runtime state.
struct DeviceView {
  std::string hostname;
  Platform platform = Platform::CiscoIos;
  std::string model, os_version, serial, system_mac;
  int64_t uptime_s = 0;
  uint64_t local_as = 0;
  std::string router_id;
  std::vector<InterfaceView> interfaces;
  std::vector<BgpPeerView> peers;
  std::vector<RouteView> routes;
  std::string last_change_by;
  int64_t last_change_time_us = 0;

  const InterfaceView* interface(std::string_view name) const;
};

/// The mutable part of a device; only touched under Device's lock.
struct DeviceState {
  IndentedConfig running, startup;   ///< cisco_ios, arista_eos, cisco_nxos
  JunosConfig committed, candidate;  ///< juniper_junos
  std::deque<JunosConfig> history;   ///< rollback 1, 2, ... (0 is `committed`)
  struct PendingConfirm {
    int64_t deadline_steady_ms = 0;
    JunosConfig previous;
  };
  std::optional<PendingConfirm> confirm;
  std::string candidate_lock;               ///< owner of an exclusive candidate lock, "" when free
  std::set<std::string> links_down;         ///< ports whose far end is down (control interface)
  std::set<std::string> peers_down;         ///< BGP peers whose far end is down (control interface)
  std::map<std::string, int64_t> since_us;  ///< per interface/peer: when its state last changed
  std::map<std::string, std::string> last_seen;  ///< state per interface/peer at last look
  std::deque<CommandRecord> commands;
  int64_t config_changed_us = 0;
  std::string config_changed_by;
  Faults faults;

  /// Junos commit: the candidate becomes the committed configuration and the one it replaces
  /// goes to the rollback history. With a deadline the commit must be confirmed by then, or it
  /// rolls back to what was committed before the first unconfirmed commit; a commit without a
  /// deadline confirms a pending one.
  void commit_candidate(std::optional<int64_t> confirm_deadline_steady_ms);
  /// Keeps `config` as rollback 1 (at most 49 are kept).
  void remember(const JunosConfig& config);
  /// The exclusive candidate lock (`configure exclusive`, NETCONF <lock>): one session id.
  bool candidate_locked_by_other(const std::string& session) const;
  /// Takes the lock unless another session holds it.
  bool take_candidate_lock(const std::string& session);
  /// Releases the lock if `session` holds it; false when it does not.
  bool release_candidate_lock(const std::string& session);
};

class Device {
 public:
  Device(DeviceSpec spec, const FleetSpec& fleet, EventSink* sink, int64_t lab_start_us);

  const DeviceSpec& spec() const { return spec_; }
  const FleetSpec& fleet() const { return fleet_; }

  template <typename F>
  auto read(F&& f) const {
    std::lock_guard lock(mutex_);
    return f(state_);
  }
  /// Runs f under the lock, then reports state changes as events.
  template <typename F>
  auto mutate(F&& f) {
    std::unique_lock lock(mutex_);
    if constexpr (std::is_void_v<decltype(f(state_))>) {
      f(state_);
      auto events = take_changes_locked();
      lock.unlock();
      publish(events);
    } else {
      auto result = f(state_);
      auto events = take_changes_locked();
      lock.unlock();
      publish(events);
      return result;
    }
  }

  DeviceView view() const;
  DeviceView view_locked(const DeviceState& state) const;
  std::string hostname_locked(const DeviceState& state) const;
  /// The running configuration as `show running-config` / `show configuration` prints it.
  std::string running_config_text() const;
  std::string running_config_text_locked(const DeviceState& state) const;

  void record_command(std::string channel, std::string text);
  /// The CLI line on `channel` recorded since `began_us` has its reply ready at `done_us`.
  void command_done(const std::string& channel, int64_t began_us, int64_t done_us);
  /// Reports a configuration change (SYS-5-CONFIG_I, UI_COMMIT) by `user` from `peer`.
  void config_changed(const std::string& user, const std::string& peer);
  /// Junos: commits the candidate; with a deadline, as `commit confirmed` (rolled back then
  /// unless confirmed), which the lab's ConfirmTimers is told about.
  void commit_candidate(std::optional<int64_t> confirm_deadline_steady_ms);
  /// Junos: rolls back an unconfirmed `commit confirmed` whose time is up.
  void expire_confirmed_commit(int64_t now_steady_ms);
  /// Where commit-confirmed deadlines are registered (the lab's main loop); none in unit tests,
  /// which expire commits themselves. Set before the device serves sessions.
  void set_confirm_timers(ConfirmTimers* timers) { confirm_timers_ = timers; }
  /// Restores the device to its first configuration and clears faults and flips.
  void reset();
  Faults faults() const;
  void set_faults(const Faults& faults);

  /// Interface name as typed (`gi0/1`, `eth 1`, `lo0`) to the platform's canonical form.
  std::optional<std::string> canonical_interface(std::string_view typed) const;

 private:
  std::vector<DeviceEvent> take_changes_locked();
  void publish(const std::vector<DeviceEvent>& events);
  void build_initial_config();
  DeviceView view_of(const DeviceState& state) const;

  DeviceSpec spec_;
  const FleetSpec& fleet_;
  EventSink* sink_;
  ConfirmTimers* confirm_timers_ = nullptr;
  int64_t boot_us_;
  mutable std::mutex mutex_;
  DeviceState state_;
  DeviceState initial_;
};

/// Deterministic pseudo-random number from a seed and a salt (serials, MACs, counters).
uint64_t mix(uint64_t seed, uint64_t salt);
int64_t wall_us();
int64_t steady_ms();

}  // namespace nauto::lab
