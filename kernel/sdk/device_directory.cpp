#include "nauto/sdk/device_directory.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/context.h"

namespace nauto {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

void DeviceDirectory::load(const nlohmann::json& hosts) {
  by_name_.clear();
  by_address_.clear();
  devices_ = 0;
  if (!hosts.is_array()) return;
  for (const auto& host : hosts) {
    const auto name = host.value("name", "");
    if (name.empty()) continue;
    ++devices_;
    const auto key = lower(name);
    by_name_[key] = name;
    if (const auto dot = key.find('.'); dot != std::string::npos)
      by_name_.emplace(key.substr(0, dot), name);
    const auto address = lower(host.value("host", ""));
    if (address.empty()) continue;
    by_name_.emplace(address, name);
    auto [it, inserted] = by_address_.emplace(address, name);
    if (!inserted && it->second != name) it->second.clear();  // shared: says nothing
  }
}

std::string DeviceDirectory::resolve(const std::string& hostname,
                                     const std::string& address) const {
  if (!hostname.empty()) {
    const auto key = lower(hostname);
    if (auto it = by_name_.find(key); it != by_name_.end()) return it->second;
    if (const auto dot = key.find('.'); dot != std::string::npos) {
      if (auto it = by_name_.find(key.substr(0, dot)); it != by_name_.end()) return it->second;
    }
  }
  if (auto it = by_address_.find(lower(address)); it != by_address_.end()) return it->second;
  return {};
}

std::string topic_segment(const std::string& name) {
  std::string out = name;
  for (auto& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::string device_event_topic(const std::string& device, const std::string& kind) {
  return "device." + (device.empty() ? std::string("_unknown") : topic_segment(device)) + "." +
         kind;
}

bool DeviceDirectory::contains(const std::string& name) const {
  auto it = by_name_.find(lower(name));
  return it != by_name_.end() && it->second == name;
}

void DeviceDirectory::refresh(Context& ctx) {
  if (refreshing_) return;
  refreshing_ = true;
  ctx.request(bus::schema::InventorySelectRequest::kTopic,
              bus::to_body(nlohmann::json{{"selector", "all"}}), 5000,
              [this, &ctx](Result<std::string> reply) {
                refreshing_ = false;
                auto body = reply ? bus::from_body(*reply) : Result<nlohmann::json>(reply.error());
                if (!body) {
                  // Not there yet at start-up: try again soon rather than at the next period.
                  if (devices_ == 0)
                    ctx.after(std::chrono::milliseconds(500), [this, &ctx] { refresh(ctx); });
                  return;
                }
                load((*body)["hosts"]);
              });
}

void DeviceDirectory::keep_current(Context& ctx, std::chrono::milliseconds period) {
  refresh(ctx);
  ctx.every(period, [this, &ctx] { refresh(ctx); });
}

void DeviceDirectory::refresh_after_miss(Context& ctx, std::int64_t now_us) {
  if (now_us - last_miss_refresh_us_ <= 5'000'000) return;
  last_miss_refresh_us_ = now_us;
  refresh(ctx);
}

}  // namespace nauto
