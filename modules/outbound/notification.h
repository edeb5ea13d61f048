#pragma once
// Notification channels (modules.outbound.channels) and what each sends: the JSON an incoming
// webhook of Slack, Mattermost or Microsoft Teams (Workflows, Adaptive Card) expects, nauto's own
// JSON for a generic webhook, or a plain-text mail (RFC 5322) for SMTP.
//
//   channels:
//     netops:  {type: slack, url: "https://hooks.slack.com/services/..."}
//     noc:     {type: teams, url: "https://....logic.azure.com/workflows/..."}
//     chat:    {type: mattermost, url: "https://mm.example.net/hooks/...", channel: town-square}
//     tickets: {type: webhook, url: "https://itsm.example.net/hooks/nauto", sign: itsm-hmac}
//     mail:    {type: email, server: "smtp://mail.example.net:587", from: nauto@example.net,
//               to: [noc@example.net], credential: smtp-relay, tls: required}
// A URL may be a vault reference ("${vault:slack:password}") so the secret path stays in the
// vault. Thread-safe (pure).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::outbound {

struct Channel {
  std::string name;
  std::string type;                  ///< slack | teams | mattermost | webhook | email
  std::string url;                   ///< chat and webhook types
  std::string username, icon, room;  ///< slack/mattermost: override name, icon, channel
  std::string sign;                  ///< webhook: vault credential signing the body
  std::string ca_file;
  std::int64_t timeout_ms = 10'000;
  // email
  std::string server;  ///< smtp://host:port (STARTTLS) or smtps://host:port
  std::string from;
  std::vector<std::string> to;
  std::string credential;   ///< SMTP AUTH user and password
  bool require_tls = true;  ///< tls: required (default) | optional
};

/// Errors: InvalidConfig naming the key ("modules.outbound.channels.netops.url: ...").
Result<std::map<std::string, Channel>> parse_channels(const nlohmann::json& config);

struct Message {
  std::string text;
  std::string title;     ///< optional: a heading (Teams, mail subject)
  std::string severity;  ///< optional: info | warning | critical
  std::string source;    ///< who sent it: "run <id> (<runbook>)", "rule <name>"
};

/// The JSON body a chat or webhook channel posts.
nlohmann::json chat_payload(const Channel& channel, const Message& message);

/// The whole mail (headers and body, CRLF line ends) for an email channel.
std::string mail_text(const Channel& channel, const Message& message, std::int64_t unix_seconds,
                      const std::string& message_id);

}  // namespace nauto::outbound
