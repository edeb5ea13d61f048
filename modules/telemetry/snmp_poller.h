#pragma once
// SnmpPoller: SNMP v2c and v3 GETs and bulk walks against many agents from one thread, with
// net-snmp's single-session API (one UDP socket per agent, so replies are matched by the
// library and a slow agent delays no other). Every socket is in one epoll set, so the module
// watches a single fd (Context::watch) however many agents it polls; retransmissions and
// timeouts are driven by next_deadline_us() / on_deadline() from one timer.
//
// SNMPv3: net-snmp discovers an agent's engine ID with a blocking probe inside
// snmp_sess_open or the first send. The poller does the discovery itself instead, as an
// asynchronous noAuthNoPriv probe whose Report carries the engine ID, and opens the agent's
// authenticated session with that engine ID preset, so a dead v3 agent never stalls the thread.
//
// A poll is one plan (scalars to GET, columns to walk) against one agent; its outcome lists the
// values, the OIDs the agent had no value for, and the poll's error when the agent failed as a
// whole (timeout, authentication). A target has at most one poll in flight.
//
// Thread: one thread, the one that created it, for every member. net-snmp keeps global state
// (its USM user table), so a process has one poller.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "oid.h"

namespace nauto::telemetry {

/// How to reach and authenticate to one agent. Secrets are kept only here (never logged).
struct SnmpCredentials {
  int version = 2;        ///< 2 (v2c) or 3
  std::string community;  ///< v2c
  std::string user;       ///< v3 security name
  /// v3 authentication: "" (noAuthNoPriv), md5, sha, sha224, sha256, sha384, sha512.
  std::string auth_protocol;
  std::string auth_password;
  std::string priv_protocol;  ///< "" (authNoPriv), des, aes (AES-128), aes192, aes256
  std::string priv_password;
  std::string context;  ///< v3 context name

  bool operator==(const SnmpCredentials&) const = default;
};

/// Checks a set of credentials for what can be told before sending (a v3 protocol name, a
/// password shorter than the 8 characters USM needs). Errc::InvalidConfig naming the field.
Result<void> validate_credentials(const SnmpCredentials& credentials);

struct SnmpTarget {
  std::string name;     ///< unique key (the device's name)
  std::string address;  ///< host, host:port or [v6]:port; port 161 by default
  SnmpCredentials credentials;
  int timeout_ms = 2000;      ///< per request, before a retransmission
  int retries = 1;            ///< retransmissions before a request times out
  int bulk_repetitions = 20;  ///< GETBULK max-repetitions: rows per column per request
  int max_oids_per_request = 32;

  bool same_session(const SnmpTarget& other) const {
    return address == other.address && credentials == other.credentials &&
           timeout_ms == other.timeout_ms && retries == other.retries;
  }
};

enum class SnmpType {
  Integer,
  Counter32,
  Counter64,
  Gauge32,
  TimeTicks,
  OctetString,
  ObjectId,
  IpAddress,
  Opaque,
  Null,
};

struct SnmpValue {
  SnmpType type = SnmpType::Null;
  std::int64_t integer = 0;  ///< Integer (signed), Counter32/64, Gauge32, TimeTicks (unsigned)
  std::string text;          ///< OctetString (raw bytes), ObjectId and IpAddress (dotted)

  bool numeric() const;
  /// The value as a number (unsigned types are read as unsigned 64-bit).
  double number() const;
  std::uint64_t unsigned_value() const { return static_cast<std::uint64_t>(integer); }
};

struct Varbind {
  Oid oid;
  SnmpValue value;
};

/// What to ask one agent: scalars (exact OIDs, GET) and table columns (GETBULK walks).
struct PollPlan {
  std::vector<Oid> get;
  std::vector<Oid> walk;
};

struct PollOutcome {
  std::string target;
  /// ok when the agent answered; the poll's error otherwise (Timeout, Unauthenticated,
  /// Unreachable, Malformed, Rejected for an error-status).
  Result<void> status = ok();
  std::vector<Varbind> values;  ///< in the order received; walks in column order
  std::vector<Oid> missing;     ///< asked for, but noSuchObject / noSuchInstance / empty column
  int requests = 0;             ///< PDUs sent (retransmissions not counted)
  std::int64_t started_us = 0;  ///< steady clock
  std::int64_t finished_us = 0;
};

struct SnmpPollerStats {
  std::uint64_t polls = 0;
  std::uint64_t failed_polls = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t requests = 0;
  std::uint64_t discoveries = 0;  ///< v3 engine ID probes
  std::uint64_t sessions = 0;     ///< open now
};

class SnmpPoller {
 public:
  using Done = std::function<void(PollOutcome)>;

  /// Initializes net-snmp (no MIB files, no persistent state) and the epoll set; raises the
  /// open-files limit to its hard maximum, since every agent holds a socket.
  static Result<std::unique_ptr<SnmpPoller>> create();
  ~SnmpPoller();
  SnmpPoller(const SnmpPoller&) = delete;
  SnmpPoller& operator=(const SnmpPoller&) = delete;

  /// The epoll fd: readable when any agent's socket is. Call on_readable() then.
  int fd() const;
  /// Starts a poll. `done` runs later from on_readable() or on_deadline(), never from inside
  /// poll(). Errc::Overloaded (returned, `done` not called) while the target's previous poll
  /// is in flight. A target whose address or credentials changed gets a new session.
  Result<void> poll(const SnmpTarget& target, PollPlan plan, Done done);
  /// Reads every agent socket that is ready and finishes the polls it completes.
  void on_readable();
  /// When on_deadline() is next due (steady clock, µs); 0 when nothing is in flight.
  std::int64_t next_deadline_us() const;
  /// Retransmits and times out what is due.
  void on_deadline();
  /// Closes the sessions of targets not in `keep` (a target removed from the inventory).
  void retain(const std::vector<std::string>& keep);
  bool busy(const std::string& target) const;
  SnmpPollerStats stats() const;

  struct Impl;

 private:
  explicit SnmpPoller(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A value's text for labels and display: strings as text when printable, else hex.
std::string value_text(const SnmpValue& value);

}  // namespace nauto::telemetry
