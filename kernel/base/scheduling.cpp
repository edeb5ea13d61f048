#include "nauto/base/scheduling.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>

namespace nauto {

Result<void> apply_scheduling(Scheduling scheduling) {
  sched_param param{};
  param.sched_priority = 0;
  const int policy = scheduling == Scheduling::Batch ? SCHED_BATCH : SCHED_OTHER;
  if (const int rc = pthread_setschedparam(pthread_self(), policy, &param); rc != 0)
    return fail(Errc::System,
                std::string("cannot set the thread's scheduling: ") + std::strerror(rc));
  return ok();
}

}  // namespace nauto
