#pragma once
// SyslogSender: sends device events over UDP to the fleet's collector in RFC 5424 or RFC 3164
// form, with the facility and process names the platform uses. Thread-safe (one sendto each).

#include <atomic>

#include "device.h"

namespace nauto::lab {

class SyslogSender : public EventSink {
 public:
  explicit SyslogSender(SyslogSpec spec);
  ~SyslogSender() override;
  void emit(const DeviceSpec& device, const std::string& hostname,
            const DeviceEvent& event) override;
  uint64_t sent() const { return sent_; }
  /// The datagram text for an event (exposed for tests).
  static std::string format_message(const SyslogSpec& spec, const DeviceSpec& device,
                                    const std::string& hostname, const DeviceEvent& event,
                                    int64_t time_us);

 private:
  SyslogSpec spec_;
  int fd_ = -1;
  std::atomic<uint64_t> sent_{0};
};

}  // namespace nauto::lab
