#include "api_errors.h"

#include <nlohmann/json.hpp>

namespace nauto::api {

int http_status(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidArgument:
    case Errc::InvalidConfig:
    case Errc::Malformed:
      return 400;
    case Errc::PermissionDenied:
      return 403;
    case Errc::NotFound:
      return 404;
    case Errc::Conflict:
    case Errc::Cancelled:
      return 409;
    case Errc::Rejected:
      return 422;
    case Errc::Overloaded:
      return 429;
    case Errc::Unsupported:
      return 501;
    // A device refused our credentials or its identity did not verify: the API caller's own
    // token was fine, so not a 401.
    case Errc::Unreachable:
    case Errc::Unauthenticated:
    case Errc::Untrusted:
      return 502;
    case Errc::Unavailable:
    case Errc::ResourceExhausted:
      return 503;
    case Errc::Timeout:
      return 504;
    case Errc::System:
    case Errc::Library:
    case Errc::Bug:
      return 500;
  }
  return 500;
}

std::string error_body(const Error& error) {
  nlohmann::json inner = {{"code", std::string(errc_name(error.code))}, {"message", error.message}};
  if (!error.where.empty()) inner["where"] = error.where;
  return nlohmann::json{{"error", std::move(inner)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

HttpResponse error_response(const Error& error) {
  HttpResponse response{http_status(error.code), error_body(error), "application/json", {}};
  if (response.status == 429 || response.status == 503)
    response.headers.emplace_back("Retry-After", "1");
  return response;
}

HttpResponse unauthenticated(const std::string& message) {
  HttpResponse response{
      401, error_body(Error{Errc::Unauthenticated, message, ""}), "application/json", {}};
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"nauto\"");
  return response;
}

}  // namespace nauto::api
