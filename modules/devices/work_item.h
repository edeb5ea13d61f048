#pragma once
// Work items and their results, as they travel over Redis between a control node and its
// workers (work_streams.h, ADR 0020).
//
// An item is one device's part of a job: the operation (the JobSpec fields a device task
// reads), how to reach the device (its inventory record, which names its credential: the worker
// asks the control node for the secrets over the bus), the job's deadline, and whether the
// operation is read-only. The control node signs the item's bytes with its ed25519 key; a
// worker checks the signature with the public key it got over the bus and refuses an item that
// does not verify (forged or altered), or whose deadline passed.
//
// A result is a device's outcome, MAC'd by the worker with a key the control node derived for
// that worker's principal and gave it over the bus; the control node recomputes the key and
// refuses a result that does not verify. Neither carries a secret.
//
// Thread: any (pure functions).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "job.h"
#include "nauto/base/result.h"
#include "nauto/base/signing_key.h"

namespace nauto::devices {

struct WorkItem {
  std::string job;
  std::string device;
  std::string pool;
  JobSpec spec;         ///< the fields a device task reads (item_spec_json)
  nlohmann::json host;  ///< the inventory's record (no secrets: its `credential` is a name)
  std::int64_t deadline_us = 0;  ///< wall clock: the job's deadline
  std::int64_t issued_us = 0;
  bool read_only() const { return spec.kind != JobKind::Push || spec.dry_run; }
};

/// The signed form: the payload (JSON text) and its signature (hex), the entry's two fields.
struct SignedItem {
  std::string payload;
  std::string signature;
};

SignedItem sign_item(const WorkItem& item, const SigningKey& key);
/// Checks the signature first (Errc::Untrusted: "forged or altered"), then decodes.
Result<WorkItem> open_item(const SignedItem& item, std::string_view public_key);

/// One device's outcome from a worker.
struct WorkResult {
  std::string job;
  std::string device;
  std::string pool;
  std::string worker;  ///< the worker's principal, whose key MACs the result
  std::string entry;   ///< the work stream entry it answers (trimmed once recorded)
  DeviceOutcome outcome;
};

/// The key a worker MACs its results with: derived from the control node's key and the
/// worker's principal, so one worker's key cannot vouch for another.
std::string worker_result_key(const SigningKey& control_key, std::string_view worker);

/// The results stream entry's fields: the payload (JSON text) and its MAC (hex).
SignedItem seal_result(const WorkResult& result, std::string_view worker_key);
/// Checks the MAC under the key of the worker the payload names (Errc::Untrusted), then
/// decodes.
Result<WorkResult> open_result(const SignedItem& sealed, const SigningKey& control_key);

/// The JobSpec fields a device task reads, and back.
nlohmann::json item_spec_json(const JobSpec& spec);
Result<JobSpec> item_spec_from_json(const nlohmann::json& spec);

}  // namespace nauto::devices
