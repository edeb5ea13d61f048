#pragma once
// Instants written as text in the scheduler's tests: "2026-12-05T10:07:00Z" and back.

#include <date/date.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "cron_expression.h"

namespace nauto::scheduler::test {

inline Seconds utc(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  REQUIRE(std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ", &year, &month, &day, &hour, &minute,
                      &second) == 6);
  return Seconds{date::sys_days{date::year{year} / month / day}} + std::chrono::hours{hour} +
         std::chrono::minutes{minute} + std::chrono::seconds{second};
}

inline std::string iso(Seconds when) {
  return date::format("%Y-%m-%dT%H:%M:%SZ", when);
}

}  // namespace nauto::scheduler::test
