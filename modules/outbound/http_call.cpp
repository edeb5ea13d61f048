#include "http_call.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "nauto/text/control_characters.h"

namespace nauto::outbound {

using nlohmann::json;

namespace {

Error field_error(const std::string& field, const std::string& message) {
  return fail(Errc::InvalidArgument, field + ": " + message, "http.request");
}

// A duration as seconds (a number) or text ("500ms", "10s", "2m").
std::optional<std::int64_t> duration_ms(const json& value) {
  if (value.is_number()) {
    const double seconds = value.get<double>();
    if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
    return static_cast<std::int64_t>(seconds * 1000);
  }
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  const auto unit = text.substr(used);
  double scale = 1000;
  if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60'000;
  else if (unit != "s" && !unit.empty())
    return std::nullopt;
  if (!std::isfinite(number) || number < 0) return std::nullopt;
  return static_cast<std::int64_t>(number * scale);
}

bool token_char(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

bool idempotent(const std::string& method) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    if (method == m) return true;
  }
  return false;
}

Result<HttpCall> parse_http_call(const json& request) {
  if (!request.is_object()) return field_error("body", "expected an object");
  HttpCall call;
  if (request.contains("method")) {
    if (!request["method"].is_string()) return field_error("method", "expected a string");
    call.method = request["method"].get<std::string>();
    std::transform(call.method.begin(), call.method.end(), call.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (call.method.empty() || call.method.size() > 16 ||
        !std::all_of(call.method.begin(), call.method.end(),
                     [](unsigned char c) { return std::isupper(c); }))
      return field_error("method", "expected an HTTP method such as GET or POST");
  }
  if (!request.contains("url") || !request["url"].is_string())
    return field_error("url", "required: an http:// or https:// URL");
  call.url = request["url"].get<std::string>();
  if (call.url.rfind("http://", 0) != 0 && call.url.rfind("https://", 0) != 0)
    return field_error("url", "expected an http:// or https:// URL");
  if (text::has_control_character(call.url))
    return field_error("url", "control characters are not allowed");
  if (request.contains("headers")) {
    const auto& headers = request["headers"];
    if (!headers.is_object()) return field_error("headers", "expected {name: value}");
    for (const auto& [name, value] : headers.items()) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), token_char))
        return field_error("headers." + name, "not a valid header name");
      if (!value.is_string() && !value.is_number() && !value.is_boolean())
        return field_error("headers." + name, "expected a string");
      const auto text = value.is_string() ? value.get<std::string>() : value.dump();
      if (text::has_control_character(text))
        return field_error("headers." + name, "control characters are not allowed");
      call.headers.emplace_back(name, text);
    }
  }
  const bool has_json = request.contains("json") && !request["json"].is_null();
  if (has_json && request.contains("data") && !request["data"].is_null())
    return field_error("json", "give json or data, not both");
  if (has_json) {
    call.body = request["json"].dump(-1, ' ', false, json::error_handler_t::replace);
    const bool typed = std::any_of(call.headers.begin(), call.headers.end(), [](const auto& h) {
      std::string name = h.first;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return name == "content-type";
    });
    if (!typed) call.headers.emplace_back("Content-Type", "application/json");
  } else if (request.contains("data") && !request["data"].is_null()) {
    if (!request["data"].is_string()) return field_error("data", "expected a string (or use json)");
    call.body = request["data"].get<std::string>();
  }
  if (request.contains("timeout")) {
    const auto timeout = duration_ms(request["timeout"]);
    if (!timeout || *timeout < 100 || *timeout > 600'000)
      return field_error("timeout", "expected 0.1 to 600 seconds");
    call.timeout_ms = *timeout;
  }
  if (request.contains("retry")) {
    const auto& retry = request["retry"];
    const json options = retry.is_number_integer() ? json{{"attempts", retry}} : retry;
    if (!options.is_object()) return field_error("retry", "expected {attempts, delay, backoff}");
    if (options.contains("attempts")) {
      if (!options["attempts"].is_number_integer() || options["attempts"].get<int>() < 1 ||
          options["attempts"].get<int>() > 10)
        return field_error("retry.attempts", "expected 1 to 10");
      call.attempts = options["attempts"].get<int>();
    }
    if (options.contains("delay")) {
      const auto delay = duration_ms(options["delay"]);
      if (!delay || *delay > 300'000)
        return field_error("retry.delay", "expected 0 to 300 seconds");
      call.delay_ms = *delay;
    }
    if (options.contains("backoff")) {
      if (!options["backoff"].is_number() || options["backoff"].get<double>() < 1 ||
          options["backoff"].get<double>() > 10)
        return field_error("retry.backoff", "expected 1 to 10");
      call.backoff = options["backoff"].get<double>();
    }
  }
  if (request.contains("expect_status")) {
    const auto& expect = request["expect_status"];
    const json list = expect.is_array() ? expect : json::array({expect});
    for (const auto& status : list) {
      if (!status.is_number_integer() || status.get<int>() < 100 || status.get<int>() > 599)
        return field_error("expect_status", "expected an HTTP status or a list of them");
      call.expect_status.push_back(status.get<int>());
    }
  }
  if (request.contains("retry_unsafe")) {
    if (!request["retry_unsafe"].is_boolean())
      return field_error("retry_unsafe", "expected true or false");
    call.retry_unsafe = request["retry_unsafe"].get<bool>();
  }
  if (request.contains("ca_file")) {
    if (!request["ca_file"].is_string()) return field_error("ca_file", "expected a path");
    call.ca_file = request["ca_file"].get<std::string>();
  }
  if (request.contains("sign") && !request["sign"].is_null()) {
    const auto& sign = request["sign"];
    if (sign.is_string()) {
      call.sign_credential = sign.get<std::string>();
    } else if (sign.is_object()) {
      for (const char* key : {"credential", "scheme", "header"}) {
        if (sign.contains(key) && !sign[key].is_string())
          return field_error(std::string("sign.") + key, "expected a string");
      }
      call.sign_credential = sign.value("credential", "");
      call.sign_scheme = sign.value("scheme", call.sign_scheme);
      call.sign_header = sign.value("header", call.sign_header);
    } else {
      return field_error("sign", "expected a vault credential or {credential, scheme, header}");
    }
    if (call.sign_credential.empty()) return field_error("sign.credential", "required");
    if (call.sign_scheme != "nauto" && call.sign_scheme != "hmac-sha256")
      return field_error("sign.scheme", "nauto or hmac-sha256");
    if (call.sign_header.empty() ||
        !std::all_of(call.sign_header.begin(), call.sign_header.end(), token_char))
      return field_error("sign.header", "not a valid header name");
  }
  return call;
}

bool expected_status(const HttpCall& call, long status) {
  if (call.expect_status.empty()) return status >= 200 && status < 300;
  return std::find(call.expect_status.begin(), call.expect_status.end(), status) !=
         call.expect_status.end();
}

std::optional<std::int64_t> retry_after(const HttpCall& call, const Attempt& outcome, int attempt,
                                        std::int64_t previous_delay_ms) {
  if (attempt >= call.attempts) return std::nullopt;
  const bool may_repeat = idempotent(call.method) || call.retry_unsafe;
  bool retry = false;
  if (outcome.status != 0) {
    if (expected_status(call, outcome.status)) return std::nullopt;
    if (outcome.status == 429 || outcome.status == 503)
      retry = true;  // refused without acting on it
    else if (outcome.status == 500 || outcome.status == 502 || outcome.status == 504)
      retry = may_repeat;
  } else if (!outcome.tls_failure) {
    retry = !outcome.sent || may_repeat;
  }
  if (!retry) return std::nullopt;
  std::int64_t delay =
      previous_delay_ms == 0
          ? call.delay_ms
          : static_cast<std::int64_t>(static_cast<double>(previous_delay_ms) * call.backoff);
  if (const auto it = outcome.headers.find("retry-after"); it != outcome.headers.end()) {
    try {
      const auto seconds = std::stoll(it->second);
      if (seconds >= 0)
        delay = std::max<std::int64_t>(delay, std::min<std::int64_t>(seconds, 300) * 1000);
    } catch (...) {
      // an HTTP date: the backoff stands
    }
  }
  return std::min<std::int64_t>(delay, 300'000);
}

}  // namespace nauto::outbound
