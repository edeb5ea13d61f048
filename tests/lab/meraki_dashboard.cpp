#include "meraki_dashboard.h"

#include <httplib.h>

#include "device.h"
#include "show_format.h"

namespace nauto::lab {
namespace {

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

}  // namespace

MerakiDashboard::MerakiDashboard(const FleetSpec& fleet) : fleet_(fleet) {
  const auto& spec = fleet.meraki;
  const char* models[] = {"MX68", "MS120-8LP", "MR46", "MS225-48FP", "MR36"};
  int serial_number = 0;
  for (int o = 1; o <= spec.organizations; ++o) {
    std::string org = std::to_string(100000 + o);
    organizations_.push_back(
        {{"id", org},
         {"name", "Lab Org " + std::to_string(o)},
         {"url", "https://n1.meraki.example/o/" + org + "/manage/organization/overview"},
         {"api", {{"enabled", true}}}});
    for (int n = 1; n <= spec.networks_per_org; ++n) {
      std::string network = "L_" + org + "_" + std::to_string(n);
      networks_.push_back({{"id", network},
                           {"organizationId", org},
                           {"name", "Site " + std::to_string(n)},
                           {"productTypes", {"appliance", "switch", "wireless"}},
                           {"timeZone", "Europe/Berlin"},
                           {"tags", nlohmann::json::array()}});
      for (int d = 1; d <= spec.devices_per_network; ++d) {
        uint64_t r = mix(fleet.seed, static_cast<uint64_t>(++serial_number));
        std::string serial = format("Q2%02X-%04X-%04X", static_cast<unsigned>(r & 0xff),
                                    static_cast<unsigned>((r >> 8) & 0xffff),
                                    static_cast<unsigned>((r >> 24) & 0xffff));
        std::string model = models[(serial_number - 1) % 5];
        devices_.push_back(
            {{"serial", serial},
             {"name", "site" + std::to_string(n) + "-" + model + "-" + std::to_string(d)},
             {"model", model},
             {"networkId", network},
             {"organizationId", org},
             {"mac", format("e0:55:3d:%02x:%02x:%02x", static_cast<unsigned>(o),
                            static_cast<unsigned>(n), static_cast<unsigned>(d))},
             {"lanIp", format("10.%d.%d.%d", o, n, d)},
             {"firmware", "switch-16-4"},
             {"address", ""},
             {"notes", ""},
             {"tags", nlohmann::json::array()}});
      }
    }
  }
}

bool MerakiDashboard::admit(const std::string& bucket_name, double* retry_after) {
  double rate = fleet_.meraki.requests_per_second;
  auto& bucket = buckets_[bucket_name];
  int64_t now = steady_ms();
  if (bucket.last_ms == 0) bucket.tokens = rate;
  bucket.tokens =
      std::min(rate, bucket.tokens + static_cast<double>(now - bucket.last_ms) * rate / 1000.0);
  bucket.last_ms = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  *retry_after = std::max(1.0, (1 - bucket.tokens) / rate);
  return false;
}

void MerakiDashboard::install(httplib::Server& server, const std::string& base_url) {
  // Every request: API key, then the organisation's rate limit.
  auto guard = [this](const httplib::Request& request, httplib::Response& response,
                      const std::string& org) {
    std::string key = request.get_header_value("X-Cisco-Meraki-API-Key");
    auto bearer = request.get_header_value("Authorization");
    if (key.empty() && bearer.rfind("Bearer ", 0) == 0) key = bearer.substr(7);
    if (key != fleet_.meraki.api_key) {
      send_json(response, 401, {{"errors", {"Invalid API key"}}});
      return false;
    }
    double retry = 0;
    if (!admit(org.empty() ? "global" : org, &retry)) {
      response.set_header("Retry-After", std::to_string(static_cast<int>(std::ceil(retry))));
      send_json(response, 429, {{"errors", {"API rate limit exceeded for organization"}}});
      return false;
    }
    return true;
  };
  auto org_of_network = [this](const std::string& network) -> std::string {
    for (const auto& item : networks_) {
      if (item["id"] == network) return item["organizationId"];
    }
    return {};
  };
  server.Get("/api/v1/organizations",
             [this, guard](const httplib::Request& request, httplib::Response& response) {
               std::lock_guard lock(mutex_);
               if (guard(request, response, "")) send_json(response, 200, organizations_);
             });
  server.Get(R"(/api/v1/organizations/([^/]+)/networks)",
             [this, guard](const httplib::Request& request, httplib::Response& response) {
               std::lock_guard lock(mutex_);
               std::string org = request.matches[1];
               if (!guard(request, response, org)) return;
               auto out = nlohmann::json::array();
               for (const auto& item : networks_) {
                 if (item["organizationId"] == org) out.push_back(item);
               }
               if (out.empty())
                 return send_json(response, 404, {{"errors", {"Organization not found"}}});
               send_json(response, 200, out);
             });
  server.Get(R"(/api/v1/organizations/([^/]+)/devices)", [this, guard, base_url](
                                                             const httplib::Request& request,
                                                             httplib::Response& response) {
    std::lock_guard lock(mutex_);
    std::string org = request.matches[1];
    if (!guard(request, response, org)) return;
    int per_page =
        request.has_param("perPage") ? std::atoi(request.get_param_value("perPage").c_str()) : 1000;
    if (per_page < 3 || per_page > 1000) {
      return send_json(response, 400,
                       {{"errors", {"'perPage' must be an integer between 3 and 1000"}}});
    }
    std::string after = request.get_param_value("startingAfter");
    std::vector<nlohmann::json> all;
    for (const auto& item : devices_) {
      if (item["organizationId"] == org) all.push_back(item);
    }
    if (all.empty()) return send_json(response, 404, {{"errors", {"Organization not found"}}});
    size_t start = 0;
    if (!after.empty()) {
      while (start < all.size() && all[start]["serial"] != after)
        ++start;
      start = start < all.size() ? start + 1 : all.size();
    }
    auto page = nlohmann::json::array();
    for (size_t i = start; i < all.size() && page.size() < static_cast<size_t>(per_page); ++i)
      page.push_back(all[i]);
    std::string path =
        base_url + "/api/v1/organizations/" + org + "/devices?perPage=" + std::to_string(per_page);
    std::string link = "<" + path + ">; rel=first";
    if (start + page.size() < all.size()) {
      link += ", <" + path + "&startingAfter=" + page.back()["serial"].get<std::string>() +
              ">; rel=next";
    }
    size_t last_start =
        all.size() > static_cast<size_t>(per_page) ? all.size() - static_cast<size_t>(per_page) : 0;
    if (last_start > 0)
      link += ", <" + path + "&startingAfter=" + all[last_start - 1]["serial"].get<std::string>() +
              ">; rel=last";
    response.set_header("Link", link);
    send_json(response, 200, page);
  });
  server.Get(
      R"(/api/v1/networks/([^/]+)/devices)",
      [this, guard, org_of_network](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mutex_);
        std::string network = request.matches[1];
        auto org = org_of_network(network);
        if (!guard(request, response, org)) return;
        if (org.empty()) return send_json(response, 404, {{"errors", {"Network not found"}}});
        auto out = nlohmann::json::array();
        for (const auto& item : devices_) {
          if (item["networkId"] == network) out.push_back(item);
        }
        send_json(response, 200, out);
      });
  auto device_route = [this, guard](const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mutex_);
    std::string serial = request.matches[1];
    nlohmann::json* found = nullptr;
    for (auto& item : devices_) {
      if (item["serial"] == serial) found = &item;
    }
    if (!guard(request, response, found ? (*found)["organizationId"].get<std::string>() : ""))
      return;
    if (found == nullptr) return send_json(response, 404, {{"errors", {"Device not found"}}});
    if (request.method == "PUT") {
      auto body = nlohmann::json::parse(request.body, nullptr, false);
      if (!body.is_object())
        return send_json(response, 400, {{"errors", {"Request body must be a JSON object"}}});
      for (const auto& item : body.items()) {
        static const std::set<std::string> kWritable{"name",  "tags", "address",
                                                     "notes", "lat",  "lng"};
        if (!kWritable.contains(item.key())) {
          return send_json(
              response, 400,
              {{"errors", {"'" + item.key() + "' is not a writable device attribute"}}});
        }
        (*found)[item.key()] = item.value();
      }
    }
    send_json(response, 200, *found);
  };
  server.Get(R"(/api/v1/devices/([^/]+))", device_route);
  server.Put(R"(/api/v1/devices/([^/]+))", device_route);
}

}  // namespace nauto::lab
