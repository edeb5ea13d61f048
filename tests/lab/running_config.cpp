// `show running-config` / `show configuration` text for each platform, with the headers the
// real devices print and, under the huge-output fault, padding to the asked size.
#include "device.h"
#include "show_format.h"

namespace nauto::lab {
namespace {

void pad(std::string& body, int64_t target, Platform platform) {
  int64_t line = 0;
  while (static_cast<int64_t>(body.size()) < target) {
    if (platform == Platform::JuniperJunos) {
      body += format("    /* padding line %lld: nauto-lab huge_config_bytes fault */\n",
                     static_cast<long long>(++line));
    } else {
      body += format("access-list 199 remark nauto-lab huge_config_bytes fault padding line %lld\n",
                     static_cast<long long>(++line));
    }
  }
}

}  // namespace

std::string Device::running_config_text_locked(const DeviceState& state) const {
  const auto platform = spec_.platform;
  const int64_t huge = state.faults.huge_config_bytes;
  std::string when = clock_text(state.config_changed_us, "%H:%M:%S UTC %a %b %d %Y");
  if (platform == Platform::JuniperJunos) {
    std::string out =
        "## Last commit: " + clock_text(state.config_changed_us, "%Y-%m-%d %H:%M:%S UTC") + " by " +
        state.config_changed_by + "\nversion 21.4R3-S3.4;\n";
    out += state.committed.render_text();
    if (huge > 0) pad(out, huge, platform);
    return out;
  }
  std::string body;
  switch (platform) {
    case Platform::CiscoIos:
      body =
          "!\n! Last configuration change at " + when + " by " + state.config_changed_by + "\n!\n";
      body += state.running.render(1, true);
      break;
    case Platform::AristaEos:
      body = "! Command: show running-config\n! device: " + hostname_locked(state) +
             " (DCS-7050TX-64, EOS-4.28.3M)\n!\n! boot system flash:/EOS-4.28.3M.swi\n!\n";
      body += state.running.render(3, true);
      break;
    default:
      body = "\n!Command: show running-config\n!Running configuration last done at: " + when +
             "\n!Time: " + clock_text(wall_us(), "%a %b %d %H:%M:%S %Y") + "\n\n";
      body += state.running.render(2, false);
      break;
  }
  if (huge > 0) pad(body, huge, platform);
  body += "end\n";
  if (platform == Platform::CiscoIos) {
    return "Building configuration...\n\nCurrent configuration : " + std::to_string(body.size()) +
           " bytes\n" + body;
  }
  return body;
}

}  // namespace nauto::lab
