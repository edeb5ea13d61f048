#pragma once
// AuditForwarder: sends every audit record to a remote syslog or SIEM as RFC 5424 messages,
// over TCP (octet-counted frames, RFC 6587), TLS (RFC 5425) or UDP (RFC 5426), at least once,
// from a durable cursor (`audit_meta` key "forward:<name>") that survives restarts.
//
// Plain syslog has no acknowledgement, so the cursor moves only past records sent at least
// `confirm_after` earlier on a connection still open (no EOF or error from the receiver) after
// that time; when a connection drops, sending resumes from the cursor. A receiver therefore
// sees a record more than once after a drop or a restart of nautod, never not at all, unless
// it held a record unread for longer than `confirm_after` and then died. Each message carries
// the record's seq (structured data `[nauto-audit@32473 seq="..."]`, and the MSGID is
// "audit-<seq>"), by which the receiver removes the duplicates. Over UDP nothing can be known
// of delivery: records are sent once, the cursor follows.
//
// Thread: one of its own per target; start()/notify()/stop()/stats() from the module's thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "nauto/base/result.h"
#include "nauto/store/store.h"

namespace nauto::mod::audit {

struct ForwardTarget {
  std::string name;
  std::string host;
  int port = 0;
  std::string transport = "tcp";  ///< tcp, tls or udp
  std::string ca_file;            ///< tls: the CA that signed the receiver's certificate
  std::string server_name;        ///< tls: the name its certificate must carry (default: host)
  std::string hostname;           ///< HOSTNAME of the messages (default: this machine's)
  std::int64_t confirm_after_ms = 2000;
  std::int64_t max_backoff_ms = 30000;
};

/// Reads `modules.audit.forward` (a list); every problem named by its key path.
Result<std::vector<ForwardTarget>> read_forward_targets(const nlohmann::json& list);

/// One record as an RFC 5424 message (without framing).
std::string syslog_message(const nlohmann::json& record, const std::string& hostname);

class AuditForwarder {
 public:
  AuditForwarder(ForwardTarget target, store::Store& store);
  ~AuditForwarder();
  AuditForwarder(const AuditForwarder&) = delete;
  AuditForwarder& operator=(const AuditForwarder&) = delete;

  void start();
  /// New records are in the store.
  void notify();
  void stop();
  nlohmann::json stats() const;

 private:
  class Connection;
  void run();
  void wait(std::int64_t timeout_ms);
  Result<std::uint64_t> read_cursor() const;
  Result<void> write_cursor(std::uint64_t seq);

  ForwardTarget target_;
  store::Store& store_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool notified_ = false;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> cursor_{0};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<bool> connected_{false};
  std::string last_error_;  // under mutex_
};

}  // namespace nauto::mod::audit
