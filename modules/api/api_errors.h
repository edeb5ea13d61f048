#pragma once
// The API's one error shape and its HTTP status: every failure, the API's own or a bus
// service's, is answered as
//   {"error": {"code": "<bus error code>", "message": "...", "where": "..."}}
// with the status the code maps to (400 for invalid_argument, 403 for permission_denied, 404
// for not_found, 429 for overloaded with Retry-After, 502 when a device failed, ...).
//
// Pure functions; any thread.

#include "nauto/base/result.h"
#include "nauto/sdk/http_server.h"

namespace nauto::api {

/// The HTTP status of a bus error code.
int http_status(Errc code) noexcept;

/// The JSON error body of `error`.
std::string error_body(const Error& error);

/// `error` as a whole response: its status, the JSON body, Retry-After for a 429 or 503.
HttpResponse error_response(const Error& error);

/// 401 for a request without a usable token, with WWW-Authenticate.
HttpResponse unauthenticated(const std::string& message);

}  // namespace nauto::api
