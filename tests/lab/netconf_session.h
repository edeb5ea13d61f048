#pragma once
// NetconfSession: a NETCONF server session (RFC 6241) over the SSH `netconf` subsystem
// (RFC 6242) for juniper_junos: hello and capability exchange, end-of-message (base:1.0) then
// chunked (base:1.1) framing, and get, get-config, edit-config, lock/unlock, commit (with
// confirmed commit), discard-changes, validate and close-session over the device's candidate
// and running configurations. Bytes in, framed replies out.

#include <string>
#include <string_view>

#include "cli_engine.h"
#include "device.h"

namespace nauto::lab {

class NetconfSession {
 public:
  NetconfSession(Device& device, SessionInfo session, int session_id);
  ~NetconfSession();

  /// The server's <hello>, framed for base:1.0.
  std::string hello() const;
  /// Feeds received bytes; returns the framed replies they produce.
  std::string feed(std::string_view bytes);
  /// True after <close-session> or a framing error.
  bool closed() const { return closed_; }

 private:
  std::string handle_message(const std::string& xml);
  std::string frame(const std::string& xml) const;
  std::string rpc_reply(const std::string& message_id_attrs, const std::string& body) const;

  Device& device_;
  SessionInfo session_;
  int session_id_;
  std::string buffer_;
  bool got_hello_ = false;
  bool chunked_ = false;
  bool closed_ = false;
  bool holds_lock_ = false;
};

}  // namespace nauto::lab
