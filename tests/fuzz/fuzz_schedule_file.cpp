// Schedule files (modules.scheduler.dirs, schedule.validate): YAML in, definitions out; each
// definition's timing parsed and its next firings computed, cron expressions in their zones.
#include "fuzz_input.h"
#include "schedule_file.h"

using namespace nauto::scheduler;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto schedules = parse_schedule_file(std::string(nauto::fuzz::text_of(data, size)), "fuzz.yaml");
  if (!schedules) return 0;
  const Seconds start{std::chrono::seconds{1'796'450'000}};  // 2026-12-05
  for (const auto& schedule : *schedules) {
    auto timing = ScheduleTiming::parse(schedule.timing);
    if (!timing) continue;
    auto after = start;
    for (int i = 0; i < 3; ++i) {
      auto next = timing->next_after(after);
      if (!next) break;
      (void)timing->in_window(*next);
      (void)timing->start_of(*next, schedule.name);
      after = *next;
    }
  }
  return 0;
}
