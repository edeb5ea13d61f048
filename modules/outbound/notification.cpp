#include "notification.h"

#include <ctime>

#include "nauto/sdk/config_reader.h"
#include "nauto/text/control_characters.h"

namespace nauto::outbound {

using nlohmann::json;

Result<std::map<std::string, Channel>> parse_channels(const json& config) {
  std::map<std::string, Channel> channels;
  if (config.is_null()) return channels;
  std::string problems;
  if (!config.is_object()) {
    return fail(Errc::InvalidConfig, "modules.outbound.channels: expected {name: {type, ...}}");
  }
  for (const auto& [name, spec] : config.items()) {
    const auto where = "modules.outbound.channels." + name;
    ConfigReader r(spec, where);
    Channel c;
    c.name = name;
    c.type = r.choice("type", "", {"slack", "teams", "mattermost", "webhook", "email"});
    c.timeout_ms = r.duration_ms("timeout", 10'000, 100);
    c.ca_file = r.string("ca_file", "");
    if (c.type == "email") {
      c.server = r.string("server", "");
      c.from = r.string("from", "");
      c.to = r.strings("to");
      c.credential = r.string("credential", "");
      c.require_tls = r.choice("tls", "required", {"required", "optional"}) == "required";
      if (c.server.rfind("smtp://", 0) != 0 && c.server.rfind("smtps://", 0) != 0)
        problems += where + ".server: expected smtp://host:port (STARTTLS) or smtps://host:port\n";
      if (c.from.find('@') == std::string::npos) problems += where + ".from: expected an address\n";
      if (c.to.empty()) problems += where + ".to: name at least one recipient\n";
      for (const auto& address : c.to) {
        if (address.find('@') == std::string::npos || text::has_control_character(address))
          problems += where + ".to: '" + address + "' is not an address\n";
      }
      if (text::has_control_character(c.from)) problems += where + ".from: control characters\n";
    } else {
      c.url = r.string("url", "");
      c.username = r.string("username", "");
      c.icon = r.string("icon", "");
      c.room = r.string("channel", "");
      c.sign = r.string("sign", "");
      if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0 &&
          c.url.rfind("${vault:", 0) != 0)
        problems += where + ".url: expected an https:// URL or a vault reference\n";
    }
    if (auto done = r.finish(); !done) problems += done.error().message + "\n";
    channels[name] = std::move(c);
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return channels;
}

json chat_payload(const Channel& channel, const Message& message) {
  const auto heading = message.title.empty() ? message.text : message.title + "\n" + message.text;
  if (channel.type == "slack" || channel.type == "mattermost") {
    json body{{"text", heading}};
    if (!channel.username.empty()) body["username"] = channel.username;
    if (!channel.room.empty()) body["channel"] = channel.room;
    if (!channel.icon.empty())
      body[channel.type == "slack" ? "icon_emoji" : "icon_url"] = channel.icon;
    return body;
  }
  if (channel.type == "teams") {
    json blocks = json::array();
    if (!message.title.empty()) {
      blocks.push_back({{"type", "TextBlock"},
                        {"text", message.title},
                        {"weight", "Bolder"},
                        {"size", "Medium"},
                        {"wrap", true}});
    }
    blocks.push_back({{"type", "TextBlock"}, {"text", message.text}, {"wrap", true}});
    return json{{"type", "message"},
                {"attachments",
                 json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                               {"content",
                                {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                                 {"type", "AdaptiveCard"},
                                 {"version", "1.4"},
                                 {"body", blocks}}}}})}};
  }
  return json{{"channel", channel.name},
              {"title", message.title},
              {"text", message.text},
              {"severity", message.severity},
              {"source", message.source}};
}

namespace {

// A header value on one line (RFC 5322 has no room for a line break in it).
std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return text;
}

}  // namespace

std::string mail_text(const Channel& channel, const Message& message, std::int64_t unix_seconds,
                      const std::string& message_id) {
  char date[64];
  const std::time_t when = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&when, &utc);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  std::string to;
  for (const auto& address : channel.to)
    to += (to.empty() ? "" : ", ") + address;
  const auto subject =
      message.title.empty() ? "nauto: " + message.text.substr(0, 60) : message.title;
  std::string mail = "Date: " + std::string(date) + "\r\nFrom: " + channel.from + "\r\nTo: " + to +
                     "\r\nSubject: " + one_line(subject) + "\r\nMessage-ID: <" + message_id +
                     ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n";
  if (!message.source.empty()) mail += "X-Nauto-Source: " + one_line(message.source) + "\r\n";
  mail += "\r\n";
  // Body lines end in CRLF; a line that is a lone "." is doubled by libcurl's SMTP (dot-stuffing).
  std::size_t start = 0;
  const auto& text = message.text;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    mail += line + "\r\n";
    start = end + 1;
  }
  return mail;
}

}  // namespace nauto::outbound
