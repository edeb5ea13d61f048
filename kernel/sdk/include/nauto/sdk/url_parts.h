#pragma once
// What modules that call out over HTTP (the rules' webhook action, the outbound module) need to
// say about a URL without showing it: its origin for logs and journals, its host for checks.
// Thread-safe (pure).

#include <string>

namespace nauto {

/// "https://hooks.example.com/services/T0/B0/XYZ" -> "https://hooks.example.com/…": what may be
/// logged and journaled of a URL, whose path often is the secret (Slack, Teams).
std::string url_origin(const std::string& url);

/// The URL's host, lower-cased, without user info, port or IPv6 brackets ("" when it has none).
std::string url_host(const std::string& url);

}  // namespace nauto
