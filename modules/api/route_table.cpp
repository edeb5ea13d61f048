#include "route_table.h"

#include <algorithm>
#include <charconv>

#include "nauto/bus/schema.h"

namespace nauto::api {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

const schema::Field* find_field(const schema::Message* message, const std::string& name) {
  if (!message) return nullptr;
  for (std::size_t i = 0; i < message->field_count; ++i)
    if (name == message->fields[i].name) return &message->fields[i];
  return nullptr;
}

std::string field_names(const schema::Message* message, const RouteMatch& matched) {
  std::string names;
  if (message) {
    for (std::size_t i = 0; i < message->field_count; ++i) {
      const std::string name = message->fields[i].name;
      if (matched.params.contains(name) || matched.route->fixed.contains(name)) continue;
      names += (names.empty() ? "" : ", ") + name;
    }
  }
  if (!matched.route->list.empty()) names += std::string(names.empty() ? "" : ", ") + "cursor";
  return names.empty() ? "none" : names;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A query or path parameter's text as the type its field has.
Result<json> typed(const schema::Field& field, const std::string& text, const std::string& what) {
  auto wrong = [&](const char* expected) {
    return fail(
        Errc::InvalidArgument,
        what + " '" + field.name + "' must be " + expected + ", not '" + text.substr(0, 80) + "'",
        field.name);
  };
  switch (field.type) {
    case schema::FieldType::String:
    case schema::FieldType::Duration:
      return json(text);
    case schema::FieldType::Integer:
      if (auto value = parse_integer(text)) return json(*value);
      return wrong("an integer");
    case schema::FieldType::Number: {
      if (auto value = parse_integer(text)) return json(*value);
      auto parsed = json::parse(text, nullptr, false);
      if (parsed.is_number()) return parsed;
      return wrong("a number");
    }
    case schema::FieldType::Boolean:
      if (text == "true" || text == "1" || text.empty()) return json(true);
      if (text == "false" || text == "0") return json(false);
      return wrong("true or false");
    case schema::FieldType::Strings: {
      json list = json::array();
      std::size_t from = 0;
      while (from <= text.size()) {
        const auto comma = text.find(',', from);
        const auto item = text.substr(from, comma - from);
        if (!item.empty()) list.push_back(item);
        if (comma == std::string::npos) break;
        from = comma + 1;
      }
      return list;
    }
    case schema::FieldType::Object:
    case schema::FieldType::Array:
    case schema::FieldType::Any: {
      auto parsed = json::parse(text, nullptr, false);
      if (parsed.is_discarded()) return wrong("JSON");
      return parsed;
    }
  }
  return wrong("valid");
}

Result<Page> read_page(const HttpRequest& request) {
  Page page;
  if (auto limit = request.query_value("limit")) {
    auto value = parse_integer(*limit);
    if (!value || *value < 1 || *value > static_cast<std::int64_t>(kMaxPageLimit))
      return fail(
          Errc::InvalidArgument,
          "query parameter 'limit' must be an integer from 1 to " + std::to_string(kMaxPageLimit),
          "limit");
    page.limit = static_cast<std::size_t>(*value);
  }
  if (auto cursor = request.query_value("cursor"); cursor && !cursor->empty()) {
    auto offset = cursor->size() > 1 && cursor->front() == 'p' ? parse_integer(cursor->substr(1))
                                                               : std::nullopt;
    if (!offset || *offset < 0)
      return fail(Errc::InvalidArgument,
                  "query parameter 'cursor' is not a next_cursor this API gave", "cursor");
    page.offset = static_cast<std::size_t>(*offset);
  }
  return page;
}

}  // namespace

std::vector<std::string> path_segments(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t from = 0;
  while (from < path.size()) {
    auto slash = path.find('/', from);
    if (slash == std::string::npos) slash = path.size();
    if (slash > from) segments.push_back(percent_decode(path.substr(from, slash - from), false));
    from = slash + 1;
  }
  return segments;
}

Result<RouteTable> RouteTable::load(const std::string& routes_json) {
  auto parsed = json::parse(routes_json, nullptr, false);
  if (!parsed.is_array()) return fail(Errc::Bug, "the generated route table is not a JSON list");
  RouteTable table;
  try {
    for (const auto& item : parsed) {
      Route route;
      route.method = item.at("method").get<std::string>();
      route.path = item.at("path").get<std::string>();
      route.service = item.at("service").get<std::string>();
      route.list = item.value("list", "");
      if (const auto& pick = item.at("pick"); pick.is_object() && !pick.empty()) {
        route.pick_list = pick.at("list").get<std::string>();
        route.pick_by = pick.at("by").get<std::string>();
      }
      route.fixed = item.value("fixed", json::object());
      route.segments = path_segments(route.path);
      table.routes_.push_back(std::move(route));
    }
  } catch (const json::exception& e) {
    return fail(Errc::Bug, std::string("the generated route table does not read: ") + e.what());
  }
  return table;
}

namespace {

// How many of `route`'s segments are literals when it fits `segments` (its {parameters} taken
// into `params` when given); -1 when it does not fit.
int fit(const Route& route, const std::vector<std::string>& segments,
        std::map<std::string, std::string>* params) {
  if (route.segments.size() != segments.size()) return -1;
  int literals = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& pattern = route.segments[i];
    if (pattern.size() > 2 && pattern.front() == '{' && pattern.back() == '}') {
      if (params) (*params)[pattern.substr(1, pattern.size() - 2)] = segments[i];
    } else if (pattern == segments[i]) {
      ++literals;
    } else {
      return -1;
    }
  }
  return literals;
}

}  // namespace

Result<RouteMatch> RouteTable::match(const std::string& method, const std::string& path) const {
  const auto segments = path_segments(path);
  RouteMatch best;
  int best_literals = -1;
  bool path_known = false;
  for (const auto& route : routes_) {
    RouteMatch candidate{&route, {}};
    const int literals = fit(route, segments, &candidate.params);
    if (literals < 0) continue;
    path_known = true;
    if (route.method != method || literals <= best_literals) continue;
    best = std::move(candidate);
    best_literals = literals;
  }
  if (best.route) return best;
  if (path_known)
    return fail(Errc::Unsupported,
                method + " is not served on " + path + "; it takes " + methods_for(path));
  return fail(Errc::NotFound, "no route " + method + " " + path.substr(0, 200) +
                                  "; GET /api/v1/openapi.json lists them");
}

std::string RouteTable::methods_for(const std::string& path) const {
  const auto segments = path_segments(path);
  std::vector<std::string> methods;
  for (const auto& route : routes_)
    if (fit(route, segments, nullptr) >= 0 &&
        std::find(methods.begin(), methods.end(), route.method) == methods.end())
      methods.push_back(route.method);
  std::string out;
  for (const auto& method : methods)
    out += (out.empty() ? "" : ", ") + method;
  return out;
}

Result<json> RouteTable::request_body(const RouteMatch& matched, const HttpRequest& request,
                                      Page& page) const {
  const auto& route = *matched.route;
  const auto* message = schema::find_request(route.service);
  const std::string where = route.method + " " + route.path;
  json body = json::object();
  if (!route.list.empty()) {
    auto read = read_page(request);
    if (!read) return std::move(read).error();
    page = *read;
  }
  if (route.method == "POST") {
    if (!request.body.empty()) {
      body = json::parse(request.body, nullptr, false);
      if (body.is_discarded())
        return fail(Errc::Malformed, "the body is not JSON (" + where + " takes a JSON object)");
      if (!body.is_object())
        return fail(Errc::InvalidArgument, "the body must be a JSON object (" + where + ")");
    }
  }
  for (const auto& [name, text] : request.query) {
    if (!route.list.empty() && (name == "limit" || name == "cursor")) continue;
    const auto* field = find_field(message, name);
    if (route.method == "POST" || !field || matched.params.contains(name) ||
        route.fixed.contains(name))
      return fail(Errc::InvalidArgument,
                  "unknown query parameter '" + name.substr(0, 60) + "': " + where +
                      (route.method == "POST" ? " takes its fields in the JSON body"
                                              : " takes " + field_names(message, matched)),
                  name);
    auto value = typed(*field, text, "query parameter");
    if (!value) return std::move(value).error();
    body[name] = std::move(*value);
  }
  for (const auto& [name, text] : matched.params) {
    const auto* field = find_field(message, name);
    if (!field) continue;  // a pick route's key, matched in the reply
    auto value = typed(*field, text, "path parameter");
    if (!value) return std::move(value).error();
    body[name] = std::move(*value);
  }
  for (const auto& [name, value] : route.fixed.items())
    body[name] = value;
  // A list route asks for everything up to the end of its page and one more, to know whether
  // a next page exists.
  if (!route.list.empty() && find_field(message, "limit"))
    body["limit"] = static_cast<std::int64_t>(page.offset + page.limit + 1);
  return body;
}

Result<json> RouteTable::shape_reply(const RouteMatch& matched, json reply,
                                     const Page& page) const {
  const auto& route = *matched.route;
  if (!route.pick_list.empty()) {
    const auto wanted = matched.params.at(route.pick_by);
    if (reply.is_object() && reply.contains(route.pick_list) && reply[route.pick_list].is_array()) {
      for (auto& item : reply[route.pick_list]) {
        if (!item.is_object() || !item.contains(route.pick_by)) continue;
        const auto& key = item[route.pick_by];
        if ((key.is_string() && key.get<std::string>() == wanted) ||
            (!key.is_string() && key.dump() == wanted))
          return std::move(item);
      }
    }
    return fail(Errc::NotFound, "no " + route.pick_list + " item with " + route.pick_by + " '" +
                                    wanted.substr(0, 80) + "'");
  }
  if (route.list.empty()) return reply;
  json items = json::array();
  if (reply.is_object() && reply.contains(route.list) && reply[route.list].is_array())
    items = std::move(reply[route.list]);
  json out = reply.is_object() ? std::move(reply) : json::object();
  out.erase(route.list);
  json page_items = json::array();
  for (std::size_t i = page.offset; i < items.size() && i < page.offset + page.limit; ++i)
    page_items.push_back(std::move(items[i]));
  out["items"] = std::move(page_items);
  out["next_cursor"] = items.size() > page.offset + page.limit
                           ? json("p" + std::to_string(page.offset + page.limit))
                           : json(nullptr);
  return out;
}

}  // namespace nauto::api
