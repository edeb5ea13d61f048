#include "nxapi_driver.h"

#include <nlohmann/json.hpp>

namespace nauto::drivers::cisco_nxos {

Result<std::vector<http::ApiReply>> NxapiDriver::call(const std::vector<std::string>& commands,
                                                      bool structured, bool config,
                                                      Deadline deadline) {
  std::string input;
  for (const auto& command : commands) {
    auto begin = command.find_first_not_of(' ');
    input += (input.empty() ? "" : " ;") + command.substr(begin == std::string::npos ? 0 : begin);
  }
  std::string type = config ? "cli_conf" : structured ? "cli_show" : "cli_show_ascii";
  nlohmann::json body = {{"ins_api",
                          {{"version", "1.0"},
                           {"type", type},
                           {"chunk", "0"},
                           {"sid", "1"},
                           {"input", input},
                           {"output_format", "json"}}}};
  http::HttpRequest request{
      "POST", base_url() + "/ins", {"Content-Type: application/json"}, body.dump(), true};
  auto response = client().send(request, deadline);
  if (!response) return std::move(response).error();
  auto reply = nlohmann::json::parse(response->body, nullptr, false);
  if (!reply.is_object() || !reply.contains("ins_api")) {
    return device_error(target(), Errc::Malformed, "NX-API answered without ins_api");
  }
  auto outputs = reply["ins_api"]["outputs"]["output"];
  if (outputs.is_object()) outputs = nlohmann::json::array({outputs});
  std::vector<http::ApiReply> out;
  for (const auto& output : outputs) {
    std::string code = output.value("code", std::string());
    if (code != "200") {
      std::string clierror = output.value("clierror", std::string());
      while (!clierror.empty() && clierror.back() == '\n')
        clierror.pop_back();
      return device_error(target(), Errc::Rejected,
                          "NX-API: '" + output.value("input", std::string()) +
                              "' failed: " + output.value("msg", std::string("error")) + " (code " +
                              code + ")" + (clierror.empty() ? "" : ": " + clierror));
    }
    http::ApiReply one;
    const auto& result = output.contains("body") ? output["body"] : nlohmann::json();
    if (structured) {
      one.json = result.dump();
    } else {
      one.text = result.is_string() ? result.get<std::string>() : std::string();
    }
    out.push_back(std::move(one));
  }
  if (out.size() != commands.size()) {
    return device_error(target(), Errc::Malformed, "NX-API returned fewer outputs than commands");
  }
  return out;
}

}  // namespace nauto::drivers::cisco_nxos
