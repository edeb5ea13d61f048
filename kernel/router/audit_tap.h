#pragma once
// AuditTap: the router's record of every request that changes something - every service the
// schema marks audited, by default those whose access class is not `read` (pushes, jobs, runs,
// approvals, secrets, vault and inventory changes, reloads) - and of every refusal, each with
// its verified caller and its outcome.
// Records wait in a bounded ring until the audit module takes them (bus.audit.take, which only
// modules inside nautod may call); the module makes them durable and tamper-evident
// (modules/audit). Records are never events, so no subscriber's full queue can drop one; a
// ring that overflows before the module takes it drops its oldest records and says how many,
// and the module writes that gap into its chain.
//
// Thread: the router's.

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nauto::kernel {

struct AuditRecord {
  std::uint64_t seq = 0;     ///< the tap's, from 1 at each start of nautod (see AuditTap::epoch)
  std::int64_t time_us = 0;  ///< when the request reached the router
  std::int64_t duration_us = 0;  ///< until its outcome
  std::string request_id;        ///< the request's id (its correlation id on the bus)
  std::string principal;
  std::string roles;  ///< comma-separated
  std::string via;    ///< in-process, ipc, tcp
  std::int64_t uid = -1;
  std::int64_t pid = -1;
  std::string service;
  std::string access;
  std::string target;   ///< what it acts on, from the body's naming fields ("device=r1")
  std::string outcome;  ///< ok, error, refused, timeout, unavailable, overloaded
  std::string error_code;
  std::string error;   ///< the error's message (never a body: bodies may hold secrets)
  std::string detail;  ///< what a reload of the configuration changed in `auth:` (auth_change.h)

  nlohmann::json to_json() const;
};

/// What a request acts on, for its audit record: the first of its body's naming fields that is
/// present (device, target, runbook, name, names, id, policy, devices, rule, holder), as
/// "field=value", read from the msgpack body without decoding the rest. Values of other fields
/// (configs, passwords) never appear.
std::string audit_target(std::string_view body);

class AuditTap {
 public:
  /// `capacity`: records kept for the audit module; 0 turns the tap off.
  explicit AuditTap(std::size_t capacity, std::int64_t epoch);

  bool enabled() const { return capacity_ > 0; }

  /// Adds a finished record, numbering it.
  void add(AuditRecord record);

  /// Records after `after` (at most `max`), how many after it were dropped before they could
  /// be taken, and the last seq returned (or `after`).
  struct Taken {
    nlohmann::json records = nlohmann::json::array();
    std::uint64_t lost = 0;
    std::uint64_t last = 0;
  };
  Taken take(std::uint64_t after, std::size_t max) const;
  bool has_after(std::uint64_t after) const { return next_seq_ - 1 > after; }
  /// Distinguishes one start of nautod's router from the next (its start time): seqs restart.
  std::int64_t epoch() const { return epoch_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::size_t capacity_;
  std::int64_t epoch_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t dropped_ = 0;
  std::deque<AuditRecord> ring_;
};

}  // namespace nauto::kernel
