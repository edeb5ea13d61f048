#pragma once
// The module contract. A module is an actor: one thread owns it, so its code is single-threaded.
// Life cycle: validate (pure) -> start -> on_event / on_request / timers -> stop.
// A module reaches the rest of nauto only through its Context (the bus, timers, its logger and,
// in-process, the store); it never calls another module.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/bus/envelope.h"
#include "nauto/sdk/context.h"

namespace nauto {

/// Static facts about a module, checked by the host and the router at registration.
struct Manifest {
  std::string name;                     ///< equals the folder name under modules/
  std::string summary;                  ///< one line for `nauto modules`
  std::vector<std::string> subscribes;  ///< event topic patterns (see nauto/bus/topic_match.h)
  std::vector<std::string> serves;      ///< request services it answers
  std::vector<std::string> tables;      ///< store tables it uses (opened by the kernel)
  std::vector<std::string> publishes;   ///< event topics it publishes (<placeholders> allowed)
  std::vector<std::string> calls;       ///< services it requests

  /// The manifest of module `name` with serves, publishes and calls as its bus schema file
  /// (bus/schema/<name>.yaml) declares them: the one place they are written, and the ground
  /// for per-service access control.
  static Manifest declared(std::string name, std::string summary,
                           std::vector<std::string> subscribes, std::vector<std::string> tables);
};

/// The one answer to a request. Thread-bound to the module's thread; answer it before the
/// module's stop() returns. If it is destroyed unanswered, an Errc::Bug error reply is sent, so
/// a request is never left without an answer.
class Reply {
 public:
  using Sender = std::function<void(bus::Envelope)>;
  Reply(bus::Envelope request, std::string source, Sender sender);
  Reply(Reply&& other) noexcept;
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  ~Reply();

  /// Answers with a msgpack body.
  void ok(std::string body);
  /// Answers with a JSON document (sent as msgpack).
  void ok_json(const nlohmann::json& body);
  /// Answers with an error reply.
  void fail(const Error& error);
  const bus::Envelope& request() const { return request_; }

 private:
  bus::Envelope request_;
  std::string source_;
  Sender sender_;
  bool answered_ = false;
};

/// Implemented by every module. All calls come on the module's own thread.
class Module {
 public:
  virtual ~Module() = default;
  virtual Manifest manifest() const = 0;
  /// Checks `config` (the module's subtree of nauto.yaml). Pure: no I/O, no side effects.
  virtual Result<void> validate(const nlohmann::json& config) const = 0;
  /// Topic patterns the router should not deliver although `subscribes` matches them, given the
  /// module's config (a journal that does not keep a flood should not be sent it). Asked at
  /// registration, after validate. Default: none.
  virtual std::vector<std::string> excluded_topics(const nlohmann::json& config) const;
  /// Starts with the validated config (ctx.config()). A failure here is reported and retried
  /// with backoff like a crash.
  virtual Result<void> start(Context& ctx) = 0;
  virtual void on_event(const bus::Envelope& event, Context& ctx);
  /// Default: answers Errc::Unsupported.
  virtual void on_request(const bus::Envelope& request, Context& ctx, Reply reply);
  /// Releases what start() took. Must not fail.
  virtual void stop(Context& ctx) noexcept;
};

using ModulePtr = std::unique_ptr<Module>;

}  // namespace nauto
