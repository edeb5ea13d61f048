#pragma once
// SyslogMessage and parse_syslog(): one syslog message (RFC 5424, or the BSD format of RFC 3164
// as network devices really send it) taken apart into its header fields and text.
//
// RFC 3164 is a description of practice, not a grammar, so the BSD parser is lenient the way
// collectors have to be: a Cisco sequence number (`123: `), a `*` or `.` before the timestamp
// (clock not in sync), milliseconds, a year, a time zone, or no timestamp and no hostname at
// all. Only a missing or impossible `<PRI>` makes a message malformed: without it a datagram is
// not recognisably syslog, and publishing arbitrary bytes as device events would be worse than
// counting them.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::syslog {

struct StructuredElement {
  std::string id;
  std::vector<std::pair<std::string, std::string>> params;
};

struct SyslogMessage {
  int facility = 1;  ///< 0..23
  int severity = 5;  ///< 0 emergency .. 7 debug
  bool rfc5424 = false;
  std::string timestamp;  ///< as the device wrote it; empty when it sent none
  std::string hostname;   ///< empty when the device sent none
  std::string program;    ///< RFC 5424 APP-NAME, or the BSD tag without its pid
  std::string procid;
  std::string msgid;  ///< RFC 5424 MSGID, or the Cisco mnemonic (`%LINK-3-UPDOWN`)
  std::vector<StructuredElement> structured_data;
  std::string text;  ///< the free-form message, BOM removed, valid UTF-8
};

/// Errc::Malformed (with what is wrong and the offset) when `raw` has no valid `<PRI>` or an
/// RFC 5424 header is cut short or its structured data is broken.
Result<SyslogMessage> parse_syslog(std::string_view raw);

/// "kern", "user", ... "local7".
std::string_view facility_name(int facility);

}  // namespace nauto::syslog
