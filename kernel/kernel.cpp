#include "kernel.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "nauto/base/log.h"
#include "nauto/bus/socket.h"
#include "nauto/sdk/registry.h"

namespace nauto::kernel {
namespace {

// Creates `path` and its missing parents with `mode`, whatever the umask (a directory that
// exists is left as it is: the package or systemd made it with the modes the operator chose).
Result<void> make_dir(const std::string& path, const char* key, mode_t mode) {
  std::string partial;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      const bool made = ::mkdir(partial.c_str(), mode) == 0;
      if (!made && errno != EEXIST) {
        return fail(Errc::System,
                    "cannot create directory '" + partial + "': " + std::strerror(errno), key);
      }
      if (made && ::chmod(partial.c_str(), mode) != 0) {
        return fail(Errc::System,
                    "cannot set the mode of '" + partial + "': " + std::strerror(errno), key);
      }
    }
  }
  return ok();
}

// A file named by a config key was unreadable or wrong: report it against that key.
Error config_error(Error error, const std::string& key) {
  error.code = Errc::InvalidConfig;
  error.where = key + ": " + error.where;
  return error;
}

std::vector<std::string> declared_tables() {
  std::set<std::string> tables;
  for (const auto& name : ModuleRegistry::names()) {
    for (const auto& t : ModuleRegistry::find(name)()->manifest().tables)
      tables.insert(t);
  }
  return {tables.begin(), tables.end()};
}

// Audit records the router holds while the audit module is busy or restarting: at ~300 bytes
// each, 30 MB at most; a minute of 1,500 audited requests a second.
constexpr std::size_t kAuditRecordsKept = 100'000;

// The names of the modules nautod runs in its own process and as child processes, for the
// router (principals.h: both are module:<name>).
void split_modules(const std::vector<ModuleSpec>& modules, std::vector<std::string>& in_process,
                   std::vector<std::string>& children) {
  in_process.clear();
  children.clear();
  for (const auto& spec : modules)
    (spec.out_of_process ? children : in_process).push_back(spec.name);
}

}  // namespace

Result<std::unique_ptr<Kernel>> Kernel::start(const KernelConfig& config,
                                              const std::string& executable) {
  auto kernel = std::unique_ptr<Kernel>(new Kernel());
  kernel->config_ = config;
  // The run_dir is 0750 so that members of nautod's group reach the socket in it (0660).
  if (auto made = make_dir(config.data_dir, "data_dir", 0700); !made) {
    return std::move(made).error();
  }
  if (auto made = make_dir(config.run_dir, "run_dir", 0750); !made) {
    return std::move(made).error();
  }

  store::StoreOptions store_options;
  store_options.path = config.data_dir + "/store";
  store_options.map_size = config.store_map_size;
  store_options.max_map_size = config.store_max_size;
  store_options.warn_percent = config.store_warn_percent;
  store_options.tables = declared_tables();
  store_options.schema_version = kStoreSchemaVersion;
  auto store = store::Store::open(std::move(store_options));
  if (!store) return std::move(store).error();
  kernel->store_ = std::move(*store);

  kernel->context_ = std::make_shared<zmq::context_t>();
  kernel->ipc_endpoint_ = bus::endpoints::router_ipc(config.run_dir);
  RouterOptions router_options;
  router_options.endpoints = {bus::endpoints::kRouterInproc, kernel->ipc_endpoint_};
  router_options.tcp_endpoint = config.router_tcp_endpoint;
  router_options.peer_high_water_mark = config.router_peer_high_water_mark;
  router_options.default_request_timeout_ms = config.router_request_timeout_ms;
  router_options.scheduling = config.router_scheduling;
  router_options.auth = config.auth;
  split_modules(config.modules, router_options.in_process_modules,
                router_options.out_of_process_modules);
  // The router keeps audit records only for an audit module to take (modules/audit).
  for (const auto& spec : config.modules)
    if (spec.name == "audit") router_options.audit_capacity = kAuditRecordsKept;
  if (!config.router_curve_secret_file.empty()) {
    auto keys = bus::read_curve_secret_file(config.router_curve_secret_file);
    if (!keys) return config_error(std::move(keys).error(), "router.curve_secret_key_file");
    logger("kernel")->info("router tcp endpoint {} uses CURVE; server public key {}",
                           config.router_tcp_endpoint, keys->public_key);
    router_options.curve_server = std::move(*keys);
    if (!config.router_curve_clients_file.empty()) {
      auto clients = bus::read_curve_public_keys_file(config.router_curve_clients_file);
      if (!clients) {
        return config_error(std::move(clients).error(), "router.curve_allowed_clients_file");
      }
      router_options.curve_allowed_clients = std::move(*clients);
    } else {
      logger("kernel")->warn(
          "no router.curve_allowed_clients_file: any client that knows the "
          "server's public key can connect over tcp");
    }
  } else if (!config.router_tcp_endpoint.empty()) {
    logger("kernel")->warn(
        "router.tcp_endpoint {} has no CURVE key: traffic is unencrypted and "
        "unauthenticated; set router.curve_secret_key_file",
        config.router_tcp_endpoint);
  }
  // A socket file left by a killed nautod would make bind fail; nobody else may own it.
  ::unlink((config.run_dir + "/nautod.sock").c_str());
  auto router = Router::create(*kernel->context_, std::move(router_options));
  if (!router) return std::move(router).error();
  kernel->router_ = std::move(*router);
  // The CLI's socket: read-write for nautod's user and group (operators join the group), for
  // nobody else, whatever the umask made of it.
  const auto socket_path = config.run_dir + "/nautod.sock";
  if (::chmod(socket_path.c_str(), 0660) != 0) {
    return fail(Errc::System, "cannot set the mode of " + socket_path + ": " + std::strerror(errno),
                "run_dir");
  }
  kernel->router_->start();

  HostOptions host_options;
  host_options.supervisor = config.supervisor;
  host_options.inproc_endpoint = bus::endpoints::kRouterInproc;
  host_options.process_endpoint = kernel->ipc_endpoint_;
  host_options.executable = executable;
  host_options.child_arguments = {"--log-level", config.log.level};
  host_options.store = kernel->store_.get();
  host_options.passive = config.passive;
  auto host = ModuleHost::create(kernel->context_, std::move(host_options), config.modules);
  if (!host) return std::move(host).error();
  kernel->host_ = std::move(*host);
  if (auto started = kernel->host_->start(); !started) return std::move(started).error();
  return kernel;
}

Kernel::~Kernel() {
  stop();
}

Result<void> Kernel::reload(const KernelConfig& config, ReloadSender by) {
  if (config.data_dir != config_.data_dir || config.run_dir != config_.run_dir ||
      config.store_map_size != config_.store_map_size ||
      config.store_max_size != config_.store_max_size ||
      config.store_warn_percent != config_.store_warn_percent ||
      config.router_tcp_endpoint != config_.router_tcp_endpoint ||
      config.router_peer_high_water_mark != config_.router_peer_high_water_mark ||
      config.router_scheduling != config_.router_scheduling) {
    logger("kernel")->warn(
        "reload: data_dir, run_dir, store and router settings take effect "
        "only after a restart of nautod");
  }
  if (auto logged = log_setup(config.log); !logged) {
    reload_rejected(config.source, logged.error(), by);
    return logged;
  }
  if (auto applied = host_->reconfigure(config.modules); !applied) {
    reload_rejected(config.source, applied.error(), by);
    return applied;
  }
  config_.log = config.log;
  config_.modules = config.modules;
  config_.auth = config.auth;
  ConfigReload reload{config.auth, config.source, "", by.uid, by.pid, {}, {}};
  split_modules(config.modules, reload.in_process_modules, reload.child_modules);
  router_->reload(std::move(reload));
  return ok();
}

void Kernel::reload_rejected(const std::string& source, const Error& why, ReloadSender by) {
  router_->reload(ConfigReload{std::nullopt, source, why.describe(), by.uid, by.pid, {}, {}});
}

void Kernel::stop() {
  if (host_) host_->stop();
  const bool hung_threads = host_ && host_->abandoned_threads() > 0;
  host_.reset();
  if (router_) router_->stop();
  router_.reset();
  if (hung_threads) (void)store_.release();  // the hung thread may still write to it
  store_.reset();
  if (hung_threads) {
    // A hung module thread still holds a socket; terminating the context would wait for it
    // forever. The process is about to exit, so leave the context to the OS.
    logger("kernel")->warn("a hung module thread is still running; leaving it to exit");
    new std::shared_ptr<zmq::context_t>(context_);
  }
  context_.reset();
}

}  // namespace nauto::kernel
