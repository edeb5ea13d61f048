#pragma once
// RouteTable: the REST routes of modules/api/routes.yaml (generated into kRoutesJson), matched
// by method and path, and turned into the bus request each one makes:
//   - {name} path segments are the service's request fields of that name;
//   - GET and DELETE take the other fields as query parameters, POST as a JSON object body,
//     each converted to the type bus/schema gives the field (an integer parameter must be an
//     integer...), so a wrong one is invalid_argument naming the parameter;
//   - a route's `fixed` fields are set whatever the caller sent;
//   - a `list` route pages its reply list: ?limit= (1 to 500, default 50) and ?cursor= (the
//     next_cursor of the page before); it answers {items, next_cursor, ...the reply's other
//     fields};
//   - a `pick` route answers the one item of a reply list named by a path parameter.
//
// Immutable after load(); any thread.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/sdk/http_server.h"

namespace nauto::api {

struct Route {
  std::string method;
  std::string path;  ///< /api/v1/jobs/{id}
  std::string service;
  std::string list;                   ///< the reply field a list route pages; empty otherwise
  std::string pick_list, pick_by;     ///< a pick route's reply list and key
  nlohmann::json fixed;               ///< request fields the route sets
  std::vector<std::string> segments;  ///< the path split at '/', "{id}" kept as is
};

/// A route a request matched, with its path parameters.
struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
};

/// Where a list route's page starts and how long it is.
struct Page {
  std::size_t offset = 0;
  std::size_t limit = 50;
};

inline constexpr std::size_t kDefaultPageLimit = 50;
inline constexpr std::size_t kMaxPageLimit = 500;

class RouteTable {
 public:
  /// The routes from generated JSON (kRoutesJson). Errc::Bug when it does not read: a build
  /// fault, never a user's.
  static Result<RouteTable> load(const std::string& routes_json);

  /// The route for `method` and `path`: not_found when no route has the path, unsupported
  /// (answered 405 with Allow) when routes have it for other methods only; its message
  /// lists them.
  Result<RouteMatch> match(const std::string& method, const std::string& path) const;
  /// The methods routes serve `path` with ("GET, POST"), for Allow.
  std::string methods_for(const std::string& path) const;

  /// The bus request body of `request` on `matched`; invalid_argument naming the parameter or
  /// field, malformed for a body that is not a JSON object. `page` is set for a list route.
  Result<nlohmann::json> request_body(const RouteMatch& matched, const HttpRequest& request,
                                      Page& page) const;

  /// The answer to send for the service's `reply` on `matched`: the reply as is, a page of its
  /// list, or the one item picked (not_found when none).
  Result<nlohmann::json> shape_reply(const RouteMatch& matched, nlohmann::json reply,
                                     const Page& page) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

/// A path split at '/', without empty segments, each percent-decoded (so %2F is a '/' inside a
/// segment: an approval's id, run/key).
std::vector<std::string> path_segments(const std::string& path);

}  // namespace nauto::api
