// The scheduler's cost at 100,000 schedules (issue 26), in one process, beside raw-library
// baselines measured in the same run:
//   - load: parse_schedule_file (YAML, every field checked, cron expressions and time zones
//     resolved) of a file of N schedules, beside yaml-cpp's YAML::Load of the same text alone;
//   - next firing: ScheduleEngine::put of every schedule (its next start: cron in its time
//     zone, jitter, window) and next_wake(), beside one date::zoned_time conversion per
//     schedule (the least a zone-aware next firing costs);
//   - a day of decisions: advance() over 24 simulated hours in one-minute steps (every
//     firing dealt with), per firing;
//   - memory: the heap the engine and the definitions hold, per schedule (mallinfo2).
// The mix: 60% cron in 8 time zones with jitter and some windows, 30% every:, 10% at:.
//   scheduler_bench [N]            prints the figures
//   scheduler_bench --write FILE N writes the mix with nothing due for weeks (cron on January 1,
//                                  every: from 2027), for scheduler_idle_bench.sh

#include <date/tz.h>
#include <malloc.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "schedule_engine.h"
#include "schedule_file.h"

using namespace nauto::scheduler;
using Clock = std::chrono::steady_clock;

namespace {

const char* kZones[] = {"UTC",           "Europe/Berlin",   "America/New_York", "Asia/Tokyo",
                        "Europe/London", "America/Chicago", "Australia/Sydney", "Asia/Kolkata"};

// `idle`: the same mix with nothing due for weeks (cron on January 1, every: from a start in
// 2027), so a nautod holding it has nothing to do but wait.
std::string schedule_file(int count, bool idle) {
  std::ostringstream out;
  out << "schedules:\n";
  for (int i = 0; i < count; ++i) {
    out << "  - name: s" << i << "\n";
    const int kind = i % 10;
    if (kind < 6) {
      out << "    cron: \"" << i % 60 << " " << (i / 60) % 24
          << (idle ? " 1 1 *\"\n" : " * * " + std::to_string(i % 7) + "\"\n")
          << "    time_zone: " << kZones[i % 8] << "\n"
          << "    jitter: 5m\n";
      if (i % 5 == 0) out << "    between: \"00:00-23:30\"\n";
    } else if (kind < 9) {
      out << "    every: " << 5 + i % 55 << (idle ? "d\n    start: 2027-02-01T00:00:00Z\n" : "m\n");
    } else {
      out << "    at: 2027-0" << 1 + i % 9 << "-1" << i % 10 << "T0" << i % 10 << ":00:00Z\n";
    }
    out << "    call: {service: bench.none, body: {n: " << i << "}}\n";
  }
  return out.str();
}

double ms_since(Clock::time_point began) {
  return std::chrono::duration<double, std::milli>(Clock::now() - began).count();
}

std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--write") {
    std::ofstream(argv[2]) << schedule_file(std::stoi(argv[3]), true);
    return 0;
  }
  const int count = argc > 1 ? std::stoi(argv[1]) : 100'000;
  const auto text = schedule_file(count, false);
  (void)date::locate_zone("UTC");  // the tz database is read once, outside the timings

  auto began = Clock::now();
  auto yaml = YAML::Load(text);
  const double yaml_ms = ms_since(began);
  if (static_cast<int>(yaml["schedules"].size()) != count) return 1;

  const auto heap_before = heap_in_use();
  began = Clock::now();
  auto parsed = parse_schedule_file(text, "bench.yaml");
  const double parse_ms = ms_since(began);
  if (!parsed) {
    std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
    return 1;
  }

  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  began = Clock::now();
  std::int64_t seconds = 0;
  for (int i = 0; i < count; ++i) {
    auto zoned = date::make_zoned(kZones[i % 8], now + std::chrono::seconds{i});
    seconds += zoned.get_local_time().time_since_epoch().count() & 1;
  }
  const double zone_ms = ms_since(began);

  ScheduleEngine engine;
  began = Clock::now();
  for (const auto& schedule : *parsed) {
    auto timing = ScheduleTiming::parse(schedule.timing);
    if (!timing) return 1;
    engine.put(schedule.name, std::move(*timing), schedule.policy, std::nullopt, now);
  }
  const auto wake = engine.next_wake();
  const double put_ms = ms_since(began);
  const auto heap_after = heap_in_use();
  if (!wake) return 1;

  began = Clock::now();
  std::int64_t fired = 0, skipped = 0;
  for (int minute = 1; minute <= 24 * 60; ++minute) {
    auto decisions = engine.advance(now + std::chrono::minutes{minute});
    fired += static_cast<std::int64_t>(decisions.fire.size());
    skipped += static_cast<std::int64_t>(decisions.skipped.size());
    for (const auto& firing : decisions.fire) {  // each run starts and ends at once
      const auto id = firing.schedule + "/" + std::to_string(minute);
      engine.run_started(firing.schedule, id);
      engine.run_finished(id);
    }
  }
  const double day_ms = ms_since(began);

  std::printf(
      "scheduler_bench: %d schedules (60%% cron in 8 zones with jitter, 30%% every, "
      "10%% at)\n",
      count);
  std::printf(
      "  load:   parse_schedule_file %.0f ms (%.2f us/schedule); yaml-cpp alone %.0f ms "
      "-> %.2fx the YAML parse\n",
      parse_ms, parse_ms * 1000 / count, yaml_ms, parse_ms / yaml_ms);
  std::printf(
      "  next:   every next start + next_wake %.0f ms (%.2f us/schedule); one zoned_time "
      "each %.0f ms -> %.2fx\n",
      put_ms, put_ms * 1000 / count, zone_ms, put_ms / zone_ms);
  std::printf(
      "  a day:  %lld firings (%lld skipped by windows) decided in %.0f ms (%.2f "
      "us/firing)\n",
      static_cast<long long>(fired), static_cast<long long>(skipped), day_ms,
      day_ms * 1000 / static_cast<double>(std::max<std::int64_t>(fired + skipped, 1)));
  std::printf("  memory: %.0f bytes/schedule (definitions and engine, heap)\n",
              static_cast<double>(heap_after - heap_before) / count);
  return seconds < 0;  // keeps the zone loop from being optimised away
}
