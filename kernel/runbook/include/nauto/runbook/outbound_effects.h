#pragma once
// The requests a run's http, notify and ai effects make of the outbound module, shared by the
// engine (kernel/runbook/run_engine.cpp) and the shell's own runs (cli/shell), so both ask the
// same thing and hand runbooks the same answers.
// Thread-safe (pure).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"

namespace nauto::runbook {

/// The OpenAI-compatible chat-completions endpoint ai.analyze calls (modules.runbooks.ai);
/// an empty url: none configured.
struct AiProvider {
  std::string url;  ///< https://host/v1/chat/completions (or a local llama.cpp/Ollama)
  std::string model;
  std::string credential;  ///< vault credential whose password is the bearer token; "" none
  std::int64_t timeout_ms = 120'000;
  int max_tokens = 1024;
};

/// GET, HEAD, PUT, DELETE, OPTIONS, TRACE: asking again changes nothing (RFC 9110 9.2.2).
bool idempotent_method(const std::string& method);

/// An http effect's args as the http.request body (the method upper-cased, GET by default).
nlohmann::json http_request_body(nlohmann::json args);
/// http.request's answer as http{} returns it: the body's text under `body`.
nlohmann::json http_result(nlohmann::json reply);

/// An ai effect's args ({prompt, max_tokens, system}) as the ai.analyze body for `provider`.
/// Errc::Unsupported "no AI provider configured (modules.runbooks.ai)" when there is none.
Result<nlohmann::json> ai_analyze_body(const AiProvider& provider, const nlohmann::json& args);
/// What ai.analyze{optional = true} returns when there is no provider.
nlohmann::json ai_skipped(const std::string& reason);

}  // namespace nauto::runbook
