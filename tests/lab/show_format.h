#pragma once
// Small formatting helpers shared by the platform renderers: printf into std::string,
// Cisco-style durations ("1w2d", "00:12:01") and uptime sentences.

#include <cstdarg>
#include <cstdint>
#include <string>

namespace nauto::lab {

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
/// "00:12:01" under a day, "1d18h" under a week, "2w0d" under a year, "1y10w" beyond.
std::string cisco_age(int64_t seconds);
/// "2 years, 31 weeks, 6 days, 9 hours, 55 minutes" (IOS show version).
std::string ios_uptime(int64_t seconds);
/// "12 weeks, 3 days, 4 hours and 5 minutes" (EOS show version).
std::string eos_uptime(int64_t seconds);
/// "9w2d 5:23:37" (Junos BGP summary).
std::string junos_age(int64_t seconds);
/// Short interface names: GigabitEthernet0/1 -> Gi0/1, Ethernet1 -> Et1, Ethernet1/1 -> Eth1/1.
std::string short_interface(const std::string& name, bool nxos);
/// "Mon Nov 22 10:00:00 2026" style wall-clock text for a microsecond timestamp.
std::string clock_text(int64_t time_us, const char* pattern);
/// Wall-clock time (microseconds) of the boot of a device up for `uptime_s` seconds.
int64_t wall_us_from_uptime(int64_t uptime_s);

}  // namespace nauto::lab
