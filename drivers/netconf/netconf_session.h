#pragma once
// NetconfSession: a NETCONF client on the SSH `netconf` subsystem — hello and capability
// exchange, base:1.1 chunked framing when both sides offer it, message-id matching, and
// <rpc-error> turned into Rejected errors that carry the error tag, path and message.

#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/ssh/ssh_connection.h"
#include "netconf_framing.h"

namespace nauto::drivers::netconf {

class NetconfSession {
 public:
  static Result<std::unique_ptr<NetconfSession>> start(ssh::SshConnection& connection,
                                                       const DeviceTarget& target,
                                                       const Timeouts& timeouts, Deadline deadline);

  /// Sends one operation (the XML inside <rpc>) and returns the whole <rpc-reply> document.
  Result<std::string> rpc(const std::string& operation, Deadline deadline);
  /// Sends <close-session/> and waits briefly for the reply.
  void close(Deadline deadline);

  const std::vector<std::string>& server_capabilities() const { return capabilities_; }
  bool has_capability(const std::string& prefix) const;
  Framing framing() const { return framing_; }
  bool is_alive() const { return channel_ && !channel_->at_eof(); }

 private:
  NetconfSession(std::unique_ptr<ssh::SshChannel> channel, const DeviceTarget& target,
                 const Timeouts& timeouts);
  Result<std::string> read_message(Deadline deadline, const std::string& waiting_for);

  std::unique_ptr<ssh::SshChannel> channel_;
  const DeviceTarget& target_;
  Timeouts timeouts_;
  Framing framing_ = Framing::EndOfMessage;
  FrameDecoder decoder_;
  std::vector<std::string> capabilities_;
  std::uint64_t next_message_id_ = 1;
};

/// The first child element of the reply's <data> (or the reply itself for <ok/>-less answers),
/// pretty-printed; how get-config results are handed to callers and diffed.
Result<std::string> reply_data(const std::string& reply_xml, const std::string& element);

}  // namespace nauto::drivers::netconf
