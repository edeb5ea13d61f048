#include "syslog_message.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "nauto/text/regex.h"

namespace nauto::syslog {
namespace {

constexpr std::array<std::string_view, 24> kFacilities = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

Error malformed(const std::string& what, std::size_t offset) {
  return Error{Errc::Malformed, what + " at byte " + std::to_string(offset), "syslog"};
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits off the next space-delimited token.
std::string_view next_token(std::string_view& rest) {
  const auto space = rest.find(' ');
  auto token = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return token;
}

std::string nil_or(std::string_view token) {
  return token == "-" ? std::string() : std::string(token);
}

bool is_month(std::string_view token) {
  for (auto month : kMonths) {
    if (token == month) return true;
  }
  return false;
}

// "Mmm dd hh:mm:ss[.fff] [yyyy] [TZ]" after an optional `*` or `.`, or an RFC 3339 stamp;
// consumes it from `rest` and returns it, or returns empty and leaves `rest` as it was.
std::string take_bsd_timestamp(std::string_view& rest) {
  std::string_view probe = rest;
  std::size_t lead = 0;  // Cisco's '*' (clock not set) or '.' (not in sync) is kept in the stamp
  if (!probe.empty() && (probe.front() == '*' || probe.front() == '.')) {
    probe.remove_prefix(1);
    lead = 1;
  }
  if (probe.size() >= 19 && is_digit(probe[0]) && probe[4] == '-' && probe[10] == 'T') {
    auto copy = probe;
    auto stamp = next_token(copy);
    if (!stamp.empty() && stamp.back() == ':') stamp.remove_suffix(1);
    std::string kept(rest.substr(0, lead + stamp.size()));
    rest = copy;
    return kept;
  }
  if (probe.size() < 15 || !is_month(probe.substr(0, 3)) || probe[3] != ' ') return {};
  std::size_t at = 4;
  if (probe[at] == ' ') ++at;  // "Nov  4"
  while (at < probe.size() && is_digit(probe[at]))
    ++at;
  if (at >= probe.size() || probe[at] != ' ') return {};
  ++at;
  // hh:mm:ss
  if (at + 8 > probe.size() || probe[at + 2] != ':' || probe[at + 5] != ':') return {};
  at += 8;
  if (at < probe.size() && probe[at] == '.') {
    ++at;
    while (at < probe.size() && is_digit(probe[at]))
      ++at;
  }
  auto after = probe.substr(at);
  // An optional year and time zone ("2026", "UTC"), then the Cisco ": " after the stamp.
  for (int extra = 0; extra < 2 && after.size() > 1 && after[0] == ' '; ++extra) {
    auto look = after.substr(1);
    auto token = look.substr(0, look.find(' '));
    const bool year = token.size() == 4 && is_digit(token[0]) && is_digit(token[3]);
    const bool zone =
        token.size() >= 3 && token.size() <= 5 &&
        std::all_of(token.begin(), token.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!year && !zone) break;
    at += 1 + token.size();
    after = probe.substr(at);
  }
  std::string stamp(rest.substr(0, lead + at));
  if (!after.empty() && after[0] == ':') ++at;
  if (at < probe.size() && probe[at] == ' ') ++at;
  rest = probe.substr(at);
  return stamp;
}

// A BSD tag is `program[pid]:` or `program:` made of the characters programs are named with.
bool take_tag(std::string_view& rest, SyslogMessage& message) {
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 64) return false;
  auto tag = rest.substr(0, colon);
  if (tag.front() == '%') return false;  // a Cisco mnemonic, not a program
  std::string_view pid;
  if (tag.back() == ']') {
    const auto open = tag.find('[');
    if (open == std::string_view::npos || open == 0) return false;
    pid = tag.substr(open + 1, tag.size() - open - 2);
    tag = tag.substr(0, open);
  }
  for (char c : tag) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
          c == '/')) {
      return false;
    }
  }
  if (colon + 1 < rest.size() && rest[colon + 1] != ' ') return false;
  message.program = std::string(tag);
  message.procid = std::string(pid);
  rest = rest.substr(std::min(rest.size(), colon + 2));
  return true;
}

// Cisco, Arista and NX-OS messages begin with `%FACILITY-SEVERITY-MNEMONIC:`.
void take_mnemonic(SyslogMessage& message) {
  std::string_view text = message.text;
  if (text.size() < 6 || text[0] != '%') return;
  const auto colon = text.find(": ");
  if (colon == std::string_view::npos || colon > 80) return;
  auto mnemonic = text.substr(0, colon);
  if (mnemonic.find(' ') != std::string_view::npos) return;
  if (message.msgid.empty()) message.msgid = std::string(mnemonic);
}

bool looks_like_hostname(std::string_view token) {
  if (token.empty() || token.size() > 255 || token.back() == ':') return false;
  for (char c : token) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
          c == ':')) {
      return false;
    }
  }
  return true;
}

Result<void> parse_structured_data(std::string_view& rest, SyslogMessage& message,
                                   std::size_t base) {
  if (rest.empty()) return malformed("RFC 5424 message ends before STRUCTURED-DATA", base);
  if (rest[0] == '-') {
    rest.remove_prefix(1);
    return ok();
  }
  std::size_t at = 0;
  while (at < rest.size() && rest[at] == '[') {
    StructuredElement element;
    ++at;
    while (at < rest.size() && rest[at] != ' ' && rest[at] != ']')
      element.id += rest[at++];
    if (element.id.empty()) return malformed("STRUCTURED-DATA element without an id", base + at);
    while (at < rest.size() && rest[at] == ' ') {
      ++at;
      std::string name;
      while (at < rest.size() && rest[at] != '=')
        name += rest[at++];
      if (at + 1 >= rest.size() || rest[at + 1] != '"')
        return malformed("SD-PARAM '" + name + "' without =\"value\"", base + at);
      at += 2;
      std::string value;
      while (at < rest.size() && rest[at] != '"') {
        if (rest[at] == '\\' && at + 1 < rest.size() &&
            (rest[at + 1] == '"' || rest[at + 1] == '\\' || rest[at + 1] == ']')) {
          ++at;
        }
        value += rest[at++];
      }
      if (at >= rest.size()) return malformed("unterminated SD-PARAM value", base + at);
      ++at;  // closing quote
      if (!text::is_valid_utf8(value)) value = text::to_valid_utf8(value);
      element.params.emplace_back(std::move(name), std::move(value));
    }
    if (at >= rest.size() || rest[at] != ']')
      return malformed("STRUCTURED-DATA element not closed by ']'", base + at);
    ++at;
    message.structured_data.push_back(std::move(element));
  }
  if (message.structured_data.empty())
    return malformed("STRUCTURED-DATA must be '-' or start with '['", base);
  rest.remove_prefix(at);
  return ok();
}

Result<void> parse_rfc5424(std::string_view rest, std::size_t base, SyslogMessage& message) {
  message.rfc5424 = true;
  const char* names[] = {"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
  std::string* targets[] = {&message.timestamp, &message.hostname, &message.program,
                            &message.procid, &message.msgid};
  for (int i = 0; i < 5; ++i) {
    if (rest.empty() || rest.find(' ') == std::string_view::npos)
      return malformed(std::string("RFC 5424 header cut short in ") + names[i], base);
    *targets[i] = nil_or(next_token(rest));
  }
  if (auto sd = parse_structured_data(rest, message, base); !sd) return sd;
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  message.text = std::string(rest);
  return ok();
}

void parse_bsd(std::string_view rest, SyslogMessage& message) {
  // Cisco's "service sequence-numbers": "<189>123: *Mar  1 ..." or "<189>123: r1: ..."
  std::size_t digits = 0;
  while (digits < rest.size() && is_digit(rest[digits]))
    ++digits;
  if (digits > 0 && digits + 1 < rest.size() && rest[digits] == ':' && rest[digits + 1] == ' ')
    rest.remove_prefix(digits + 2);
  message.timestamp = take_bsd_timestamp(rest);
  if (!message.timestamp.empty()) {
    auto copy = rest;
    auto token = next_token(copy);
    // "r1 %LINK..." or "r1 sshd[12]: ..." — a host name is followed by more words, and is not a
    // tag (which ends in ':') or a mnemonic.
    if (looks_like_hostname(token) && !copy.empty() && token.front() != '%') {
      message.hostname = std::string(token);
      rest = copy;
    }
  }
  take_tag(rest, message);
  message.text = std::string(rest);
}

}  // namespace

Result<SyslogMessage> parse_syslog(std::string_view raw) {
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\0'))
    raw.remove_suffix(1);
  if (raw.empty()) return malformed("empty message", 0);
  if (raw[0] != '<')
    return malformed("no <PRI> at the start (expected '<' then 0..191 then '>')", 0);
  std::size_t at = 1;
  int priority = 0;
  while (at < raw.size() && at <= 4 && is_digit(raw[at]))
    priority = priority * 10 + (raw[at++] - '0');
  if (at == 1 || at >= raw.size() || raw[at] != '>' || priority > 191 ||
      (at > 2 && raw[1] == '0')) {
    return malformed("bad <PRI> (expected '<' then 0..191 without leading zeros then '>')", at);
  }
  ++at;
  SyslogMessage message;
  message.facility = priority / 8;
  message.severity = priority % 8;
  auto rest = raw.substr(at);
  if (rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {
    if (auto parsed = parse_rfc5424(rest.substr(2), at + 2, message); !parsed)
      return std::move(parsed).error();
  } else {
    parse_bsd(rest, message);
  }
  if (!text::is_valid_utf8(message.text)) message.text = text::to_valid_utf8(message.text);
  for (auto* field :
       {&message.hostname, &message.program, &message.procid, &message.msgid, &message.timestamp}) {
    if (!text::is_valid_utf8(*field)) *field = text::to_valid_utf8(*field);
  }
  take_mnemonic(message);
  return message;
}

std::string_view facility_name(int facility) {
  return facility >= 0 && facility < 24 ? kFacilities[static_cast<std::size_t>(facility)] : "?";
}

}  // namespace nauto::syslog
