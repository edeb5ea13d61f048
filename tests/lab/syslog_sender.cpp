#include "syslog_sender.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "show_format.h"

namespace nauto::lab {

SyslogSender::SyslogSender(SyslogSpec spec) : spec_(std::move(spec)) {
  if (!spec_.collector_host.empty()) fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

SyslogSender::~SyslogSender() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SyslogSender::format_message(const SyslogSpec& spec, const DeviceSpec& device,
                                         const std::string& hostname, const DeviceEvent& event,
                                         int64_t time_us) {
  // local7 for Cisco and Arista, daemon for Junos processes.
  int facility = device.platform == Platform::JuniperJunos ? 3 : 23;
  int priority = facility * 8 + event.severity;
  bool junos = device.platform == Platform::JuniperJunos;
  int pid = 1000 + static_cast<int>(mix(device.index, event.app.size()) % 8000);
  if (spec.rfc5424) {
    std::string timestamp = clock_text(time_us, "%Y-%m-%dT%H:%M:%S") +
                            format(".%03dZ", static_cast<int>(time_us / 1000 % 1000));
    std::string app = event.app.empty() ? "-" : event.app;
    std::string procid = junos ? std::to_string(pid) : "-";
    std::string msgid = junos ? event.msgid : "-";
    std::string message = junos ? event.msgid + ": " + event.text : event.msgid + ": " + event.text;
    return format("<%d>1 ", priority) + timestamp + " " + hostname + " " + app + " " + procid +
           " " + msgid + " - " + message;
  }
  std::string timestamp = clock_text(time_us, "%b %e %H:%M:%S");
  std::string tag = event.app.empty() ? ""
                                      : (junos ? event.app + "[" + std::to_string(pid) + "]: "
                                               : event.app + ": ");
  return format("<%d>", priority) + timestamp + " " + hostname + " " + tag + event.msgid + ": " +
         event.text;
}

void SyslogSender::emit(const DeviceSpec& device, const std::string& hostname,
                        const DeviceEvent& event) {
  if (fd_ < 0) return;
  std::string message = format_message(spec_, device, hostname, event, wall_us());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(spec_.collector_port);
  if (inet_pton(AF_INET, spec_.collector_host.c_str(), &address.sin_addr) != 1) return;
  if (::sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&address),
               sizeof address) >= 0) {
    ++sent_;
  }
}

}  // namespace nauto::lab
