#pragma once
// DeviceTask: one job's work on one device — open a driver, do the job's kind of operation,
// close — turned into a DeviceOutcome. Transient faults (refused, reset, timed out) are retried
// with backoff inside the device's deadline; a push is retried only while connecting, never
// after lines were sent. Read-only work uses (and leaves open) a session the SessionPool keeps
// when someone holds the device. Runs on a fiber of the job runner's session loops, or on any
// thread: it is written blocking, and its waits park the fiber (nauto/base/io_wait.h).

#include <memory>
#include <string>
#include <vector>

#include "device_locks.h"
#include "job.h"
#include "nauto/base/fiber_loop.h"
#include "nauto/drivers/device_target.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/retry.h"
#include "session_pool.h"

namespace nauto::devices {

struct DeviceTaskContext {
  const JobSpec& spec;
  const std::string& job_id;
  const drivers::PlatformCatalog& catalog;
  DeviceLocks& locks;
  drivers::RetryPolicy retry;
  /// Sessions kept open for holders; read-only work borrows from it and gives back.
  SessionPool* sessions = nullptr;
};

/// The fiber loops device tasks run on (a job runner's, a worker's): `configured` of them, or
/// one per core, at most 4, when it is 0.
std::vector<std::unique_ptr<FiberLoop>> make_session_loops(int configured);

/// Never fails as a call: every failure becomes the outcome's status and error.
DeviceOutcome run_device_task(const DeviceTaskContext& context, const drivers::DeviceTarget& target,
                              drivers::Deadline deadline);

}  // namespace nauto::devices
