#pragma once
// The kernel router: one ROUTER socket that every module and client connects to with a DEALER.
//   - Events fan out to every peer whose subscription pattern matches the topic.
//   - Requests go to the one peer that registered the service (topic == service name);
//     replies and errors return to the requester by correlation id.
//   - A request past its deadline is answered with an Errc::Timeout error by the router.
//   - Queues are bounded: each peer has a send high-water mark. An event that does not fit is
//     dropped and counted against that peer; a request that does not fit is answered with
//     Errc::Overloaded, never dropped silently.
// The router serves its own control services: bus.register, bus.unregister, bus.stats,
// bus.whoami, bus.auth, bus.audit.take.
//   - Every request that changes something (a service whose access is not `read`) and every
//     refusal is recorded with its caller and outcome for the audit module (audit_tap.h).
//   - Every request is stamped with its caller's verified principal (principals.h), replacing
//     whatever the sender put in the header's `principal`.
//   - A reply or error is accepted only from the peer the request was routed to; any other is
//     a forgery, dropped and counted (`replies_forged`).
//   - A routing id in use is never handed over to another connection (ROUTER_HANDOVER off), and
//     a module's name can be registered only by that module (module:<name> in-process, or
//     nautod's own unix user over ipc for an out-of-process one). A new registration with the
//     same name and principal replaces the earlier instance (a restart), answering what it owed.
// With CURVE and an allow-list, it also answers ZeroMQ's authentication requests (ZAP,
// rfc.zeromq.org/spec/27) so only listed client keys get in over tcp.
// Threading: all routing runs on one thread ("router"), started by start(); the object is
// thread-bound to that thread except for start()/stop(), which the owner calls, and reload().

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/base/scheduling.h"
#include "nauto/bus/schema_types.h"
#include "nauto/bus/socket.h"
#include "principals.h"

namespace nauto::kernel {

struct RouterOptions {
  std::vector<std::string> endpoints;          ///< plain binds: inproc:// and ipc://
  std::string tcp_endpoint;                    ///< optional tcp:// bind, CURVE when keys are set
  std::optional<bus::CurveKeys> curve_server;  ///< the router's CURVE keys for tcp
  /// Z85 public keys of the clients allowed on tcp. Empty: any client that knows the server's
  /// public key may connect (encrypted, but not authenticated).
  std::vector<std::string> curve_allowed_clients;
  int peer_high_water_mark = 1000;                  ///< messages queued per peer before drops
  std::int64_t default_request_timeout_ms = 30000;  ///< for requests without a deadline
  std::int64_t max_request_timeout_ms = 3600000;    ///< longer deadlines are capped to this
  Scheduling scheduling = Scheduling::Normal;       ///< of the router's thread
  AuthOptions auth;                                 ///< who callers are (principals.h)
  /// The modules nautod runs: in-process ones connect with routing ids "<name>#<random>";
  /// their names (and those of out-of-process ones) are reserved for them at bus.register.
  std::vector<std::string> in_process_modules;
  std::vector<std::string> out_of_process_modules;
  /// Audit records kept until the audit module takes them (audit_tap.h); 0: none are made
  /// (nautod runs no audit module).
  std::size_t audit_capacity = 0;
};

/// A reload of nautod's configuration (SIGHUP), for the router to apply and to record.
struct ConfigReload {
  std::optional<AuthOptions> auth;  ///< the new `auth:`; nullopt when the reload was rejected
  std::string source;               ///< the configuration file
  std::string error;                ///< why it was rejected; empty when it was applied
  std::int64_t sender_uid = -1;     ///< who sent the signal (sigwaitinfo), -1 when unknown
  std::int64_t sender_pid = -1;
  /// The modules nautod now runs in-process and as child processes (RouterOptions), when
  /// applied: a module a reload adds is module:<name> too.
  std::vector<std::string> in_process_modules;
  std::vector<std::string> child_modules;
};

class RouterImpl;

/// Owns the router thread. Construct with create(); destroy stops and joins the thread.
class Router {
 public:
  /// Binds every endpoint; fails with Errc::Library/System if one cannot be bound.
  /// `context` outlives the Router.
  static Result<std::unique_ptr<Router>> create(zmq::context_t& context, RouterOptions options);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// Starts routing on a new thread named "router".
  void start();
  /// Stops the thread and closes the socket. Idempotent.
  void stop();

  /// Records a reload of nautod's configuration for the audit module (service
  /// `nautod.reload`, the signal's sender as principal, what changed in `auth:` as detail) and
  /// applies its `auth:` and module names: from the next message on, callers are mapped and
  /// checked by the new users and roles. Any thread; applied on the router's, which it wakes,
  /// before it handles any message sent after this returned.
  void reload(ConfigReload reload);

 private:
  explicit Router(std::unique_ptr<RouterImpl> impl);
  std::optional<ConfigReload> take_reload();

  std::unique_ptr<RouterImpl> impl_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // Wakes the router thread for stop() and reload(): it sleeps without a timeout.
  Doorbell bell_;
  std::mutex reloads_mutex_;
  std::vector<ConfigReload> reloads_;        // under reloads_mutex_, in the order they came
  std::atomic<bool> reload_pending_{false};  // reloads_ is not empty (read without the lock)
};

/// Names of the router's own services.
namespace router_services {  // declared in bus/schema/router.yaml
inline constexpr const char* kRegister = bus::schema::BusRegisterRequest::kTopic;
inline constexpr const char* kUnregister = bus::schema::BusUnregisterRequest::kTopic;
inline constexpr const char* kStats = bus::schema::BusStatsRequest::kTopic;
inline constexpr const char* kWhoami = bus::schema::BusWhoamiRequest::kTopic;
inline constexpr const char* kAuth = bus::schema::BusAuthRequest::kTopic;
inline constexpr const char* kAuditTake = bus::schema::BusAuditTakeRequest::kTopic;
}  // namespace router_services

}  // namespace nauto::kernel
