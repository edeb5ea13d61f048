#include "meraki_driver.h"

#include <nlohmann/json.hpp>
#include <set>

#include "nauto/base/clock.h"
#include "nauto/drivers/config_diff.h"

namespace nauto::drivers::meraki {
namespace {
// The attributes the Dashboard lets a PUT change; a snapshot restores only these.
const std::set<std::string> kWritable{"name", "tags", "address", "notes", "lat", "lng"};
}  // namespace

MerakiDriver::MerakiDriver(DeviceTarget target, PlatformDefinition platform)
    : target_(std::move(target)), platform_(std::move(platform)) {}

Result<void> MerakiDriver::open(Deadline) {
  if (target_.url.empty() || target_.credentials.api_key.empty()) {
    return device_error(target_, Errc::InvalidConfig,
                        "meraki targets need url (…/api/v1) and an api_key");
  }
  if (!client_) {
    client_ = std::make_unique<http::HttpClient>(target_, effective_timeouts(target_, platform_));
  }
  return ok();
}

http::HttpRequest MerakiDriver::request(const std::string& method, const std::string& path) const {
  // The key goes in a header: it never appears in a URL, and so never in an error message.
  return http::HttpRequest{method,
                           target_.url + path,
                           {"X-Cisco-Meraki-API-Key: " + target_.credentials.api_key,
                            "Content-Type: application/json", "Accept: application/json"},
                           {},
                           false};
}

Result<CommandOutput> MerakiDriver::run_checked(const std::string& command, Deadline deadline,
                                                const CallOptions&) {
  if (!client_) return device_error(target_, Errc::Unavailable, "not open (call open() first)");
  if (command.rfind("GET /", 0) != 0) {
    return device_error(
        target_, Errc::InvalidArgument,
        "meraki run() takes read-only requests like 'GET /organizations'; got '" + command + "'");
  }
  auto started = steady_us();
  auto path = command.substr(4);
  auto response = client_->send(request("GET", path), deadline);
  if (!response) return std::move(response).error();
  std::string body = response->body;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_array()) {  // a list: follow its pages
    auto all = client_->get_all_pages(request("GET", path), deadline);
    if (!all) return std::move(all).error();
    body = *all;
    parsed = nlohmann::json::parse(body, nullptr, false);
  }
  return CommandOutput{command, parsed.dump(2), body, steady_us() - started};
}

Result<std::string> MerakiDriver::device_json(Deadline deadline) {
  if (!client_) return device_error(target_, Errc::Unavailable, "not open (call open() first)");
  auto response = client_->send(request("GET", "/devices/" + target_.serial), deadline);
  if (!response) return std::move(response).error();
  auto parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (!parsed.is_object())
    return device_error(target_, Errc::Malformed, "device is not a JSON object");
  return parsed.dump(2);
}

Result<std::string> MerakiDriver::get_config(ConfigSource source, Deadline deadline) {
  if (source != ConfigSource::Running) {
    return device_error(target_, Errc::Unsupported, "the Dashboard keeps one config per device");
  }
  return device_json(deadline);
}

Result<PushResult> MerakiDriver::push_checked(const ConfigPush& push, Deadline deadline) {
  auto change = nlohmann::json::parse(push.text, nullptr, false);
  if (!change.is_object()) {
    return device_error(target_, Errc::InvalidArgument,
                        "meraki config must be a JSON object of device attributes");
  }
  for (const auto& item : change.items()) {
    if (!kWritable.contains(item.key())) {
      return device_error(target_, Errc::InvalidArgument,
                          "'" + item.key() +
                              "' is not a writable device attribute (writable: name, "
                              "tags, address, notes, lat, lng)");
    }
  }
  auto before = device_json(deadline);
  if (!before) return std::move(before).error();
  PushResult result;
  result.snapshot = *before;
  auto predicted = nlohmann::json::parse(*before);
  for (const auto& item : change.items())
    predicted[item.key()] = item.value();
  result.commands = {"PUT /devices/" + target_.serial + " " + change.dump()};
  if (push.dry_run) {
    result.diff = unified_diff(*before, predicted.dump(2), "dashboard", "intended");
    result.changed = !result.diff.empty();
    return result;
  }
  auto put = request("PUT", "/devices/" + target_.serial);
  put.body = change.dump();
  auto response = client_->send(put, deadline);
  if (!response) return std::move(response).error();
  auto after = nlohmann::json::parse(response->body, nullptr, false);
  result.diff = unified_diff(*before, after.dump(2), "dashboard (before)", "dashboard (after)");
  result.changed = !result.diff.empty();
  return result;
}

Result<void> MerakiDriver::commit(int, Deadline) {
  return device_error(target_, Errc::Unsupported, "Dashboard changes apply at once");
}

Result<void> MerakiDriver::rollback(const RollbackTarget& target, Deadline deadline) {
  auto snapshot = nlohmann::json::parse(target.snapshot, nullptr, false);
  if (!snapshot.is_object()) {
    return device_error(target_, Errc::InvalidArgument,
                        "rollback needs a snapshot from push_config");
  }
  nlohmann::json writable = nlohmann::json::object();
  for (const auto& item : snapshot.items()) {
    if (kWritable.contains(item.key())) writable[item.key()] = item.value();
  }
  ConfigPush push{writable.dump(), PushMode::Merge};
  auto pushed = push_config(push, deadline);
  if (!pushed) return std::move(pushed).error();
  return ok();
}

Result<Facts> MerakiDriver::facts(Deadline deadline) {
  auto text = device_json(deadline);
  if (!text) return std::move(text).error();
  const auto device = nlohmann::json::parse(*text, nullptr, false);
  // The Dashboard's answer: a field of another type is left empty (value() would throw).
  const auto field = [&](const char* key) {
    const auto it = device.is_object() ? device.find(key) : device.end();
    return it != device.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Facts facts;
  facts.vendor = platform_.vendor;
  facts.hostname = field("name");
  facts.model = field("model");
  facts.os_version = field("firmware");
  facts.serial = field("serial");
  return facts;
}

}  // namespace nauto::drivers::meraki
