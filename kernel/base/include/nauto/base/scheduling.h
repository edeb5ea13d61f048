#pragma once
// How a thread is scheduled. nauto's threads hand each other messages; under a flood, a woken
// consumer preempting its producer for every message turns into a context switch per message
// on each side (measured: ~100,000 switches a second at 50,000 syslog messages a second on two
// cores). Batch scheduling (Linux SCHED_BATCH) keeps the fairness of the normal policy but
// lets a woken thread wait for the running one's time slice, so it wakes to a batch of
// messages instead. It suits threads that move floods (ingest, router, rules); a thread that
// should answer at once (a runbook's start) stays normal.

#include "nauto/base/result.h"

namespace nauto {

enum class Scheduling { Normal, Batch };

/// Applies `scheduling` to the calling thread. Errors: System (the policy was refused).
Result<void> apply_scheduling(Scheduling scheduling);

}  // namespace nauto
