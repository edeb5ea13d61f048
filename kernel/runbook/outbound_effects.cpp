#include "nauto/runbook/outbound_effects.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace nauto::runbook {

using nlohmann::json;

bool idempotent_method(const std::string& method) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    if (method == m) return true;
  }
  return false;
}

json http_request_body(json args) {
  std::string method = args.contains("method") && args["method"].is_string()
                           ? args["method"].get<std::string>()
                           : "GET";
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  args["method"] = method;
  return args;
}

json http_result(json reply) {
  if (!reply.is_object()) return reply;
  reply["body"] = reply.contains("text") && reply["text"].is_string() ? reply["text"] : json("");
  reply.erase("text");
  return reply;
}

Result<json> ai_analyze_body(const AiProvider& provider, const json& args) {
  if (provider.url.empty())
    return fail(Errc::Unsupported, "no AI provider configured (modules.runbooks.ai)");
  int max_tokens = provider.max_tokens;
  if (args.contains("max_tokens") && args["max_tokens"].is_number()) {
    const double asked = args["max_tokens"].get<double>();
    if (std::isfinite(asked)) max_tokens = static_cast<int>(std::clamp(asked, 1.0, 100'000.0));
  }
  json body{
      {"prompt", args.contains("prompt") && args["prompt"].is_string() ? args["prompt"] : json("")},
      {"max_tokens", max_tokens},
      {"url", provider.url},
      {"model", provider.model},
      {"credential", provider.credential},
      {"timeout", static_cast<double>(provider.timeout_ms) / 1000.0}};
  if (args.contains("system") && args["system"].is_string()) body["system"] = args["system"];
  return body;
}

json ai_skipped(const std::string& reason) {
  return json{{"skipped", true}, {"reason", reason}, {"text", ""}};
}

}  // namespace nauto::runbook
