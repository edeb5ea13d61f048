#include "eapi_driver.h"

#include <nlohmann/json.hpp>

namespace nauto::drivers::arista_eos {

Result<std::vector<http::ApiReply>> EapiDriver::call(const std::vector<std::string>& commands,
                                                     bool structured, bool config,
                                                     Deadline deadline) {
  auto cmds = nlohmann::json::array();
  std::size_t prefix = 0;
  if (!target().credentials.enable_secret.empty()) {
    cmds.push_back({{"cmd", "enable"}, {"input", target().credentials.enable_secret}});
    ++prefix;
  }
  if (config) {
    cmds.push_back("configure");
    ++prefix;
  }
  for (const auto& command : commands)
    cmds.push_back(command);
  if (config) cmds.push_back("end");
  std::string id = "nauto-" + std::to_string(next_id_++);
  nlohmann::json body = {
      {"jsonrpc", "2.0"},
      {"method", "runCmds"},
      {"params", {{"version", 1}, {"cmds", cmds}, {"format", structured ? "json" : "text"}}},
      {"id", id}};
  http::HttpRequest request{
      "POST", base_url() + "/command-api", {"Content-Type: application/json"}, body.dump(), true};
  auto response = client().send(request, deadline);
  if (!response) return std::move(response).error();
  auto reply = nlohmann::json::parse(response->body, nullptr, false);
  if (!reply.is_object()) {
    return device_error(target(), Errc::Malformed, "eAPI answered with something not JSON");
  }
  if (reply.contains("error")) {
    const auto& error = reply["error"];
    std::string detail;
    if (error.contains("data") && error["data"].is_array()) {
      for (const auto& item : error["data"]) {
        if (item.is_object() && item.contains("errors") && !item["errors"].empty()) {
          detail = item["errors"][0].get<std::string>();
        }
      }
    }
    return device_error(target(), Errc::Rejected,
                        "eAPI: " + error.value("message", std::string("error")) +
                            (detail.empty() ? "" : " (" + detail + ")"));
  }
  if (reply.value("id", std::string()) != id) {
    return device_error(target(), Errc::Malformed, "eAPI reply id does not match the request");
  }
  const auto& results = reply["result"];
  std::vector<http::ApiReply> out;
  for (std::size_t i = prefix; i < prefix + commands.size() && i < results.size(); ++i) {
    http::ApiReply one;
    if (structured) {
      one.json = results[i].dump();
    } else {
      one.text = results[i].value("output", std::string());
    }
    out.push_back(std::move(one));
  }
  if (out.size() != commands.size()) {
    return device_error(target(), Errc::Malformed, "eAPI returned fewer results than commands");
  }
  return out;
}

}  // namespace nauto::drivers::arista_eos
