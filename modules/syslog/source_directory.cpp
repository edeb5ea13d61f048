#include "source_directory.h"

#include <algorithm>
#include <cctype>

namespace nauto::syslog {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

void SourceDirectory::load(const nlohmann::json& hosts) {
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

std::string SourceDirectory::resolve(const std::string& hostname,
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

}  // namespace nauto::syslog
