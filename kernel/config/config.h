#pragma once
// nautod's configuration: one YAML file (/etc/nauto/nauto.yaml by default), overridden by
// environment variables, validated completely before anything starts. Every problem is
// reported with its key path and the expected form, all at once.
//
// Environment overrides: NAUTO_<KEY PATH> with dots as underscores, upper case, for the
// scalar keys of the kernel sections: NAUTO_DATA_DIR, NAUTO_RUN_DIR, NAUTO_LOG_LEVEL,
// NAUTO_LOG_FORMAT, NAUTO_LOG_FILE, NAUTO_STORE_MAP_SIZE, NAUTO_ROUTER_TCP_ENDPOINT, ...
// (kernel_config_keys() lists them all).

#include <map>
#include <string>
#include <vector>

#include "../host/module_host.h"
#include "../router/router.h"
#include "nauto/base/log.h"
#include "nauto/base/result.h"

namespace nauto::kernel {

inline constexpr const char* kDefaultConfigPath = "/etc/nauto/nauto.yaml";

struct KernelConfig {
  std::string source;  ///< where it came from, for messages
  std::string data_dir = "/var/lib/nauto";
  std::string run_dir = "/run/nauto";
  LogOptions log;
  std::uint64_t store_map_size = 64ull << 20;  ///< the map at start
  std::uint64_t store_max_size = 4ull << 30;   ///< the most the map grows to
  unsigned store_warn_percent = 90;            ///< kernel.store.filling at this share of it
  std::string router_tcp_endpoint;             ///< empty: no tcp listener
  std::string router_curve_secret_file;        ///< Z85 secret key file enabling CURVE on tcp
  std::string router_curve_clients_file;       ///< Z85 public keys allowed on tcp, one per line
  int router_peer_high_water_mark = 1000;
  std::int64_t router_request_timeout_ms = 30000;
  Scheduling router_scheduling = Scheduling::Normal;  ///< router.scheduling
  SupervisorOptions supervisor;
  AuthOptions auth;  ///< `auth:` who callers are (kernel/router/principals.h)
  std::vector<ModuleSpec> modules;
  /// nautod --passive (never from the file): a kernel `nauto` started for one command or a
  /// shell session. Its modules serve requests but start nothing on their own (Context::passive).
  bool passive = false;
};

/// The dotted paths of every scalar kernel key (for env overrides and docs).
const std::vector<std::string>& kernel_config_keys();

/// The configuration nautod uses when no file exists: journal enabled, defaults elsewhere.
const char* embedded_default_config();

/// Parses and validates YAML text. `environment` holds NAUTO_* overrides (name -> value).
Result<KernelConfig> parse_config(const std::string& yaml_text, const std::string& source,
                                  const std::map<std::string, std::string>& environment);

/// Reads `path` (or the embedded defaults when `path` is the default path and does not exist)
/// and the process environment.
Result<KernelConfig> load_config(const std::string& path, bool path_given);

/// The NAUTO_* variables of the current process.
std::map<std::string, std::string> nauto_environment();

}  // namespace nauto::kernel
