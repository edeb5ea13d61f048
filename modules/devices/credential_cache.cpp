#include "credential_cache.h"

namespace nauto::devices {

nlohmann::json CredentialCache::find(const std::set<std::string>& names,
                                     std::set<std::string>& missing, std::int64_t now_us) const {
  nlohmann::json found = nlohmann::json::object();
  for (const auto& name : names) {
    const auto it = entries_.find(name);
    if (it != entries_.end() && now_us < it->second.expires_us)
      found[name] = it->second.credential;
    else
      missing.insert(name);
  }
  return found;
}

void CredentialCache::put(const nlohmann::json& credentials, std::int64_t now_us) {
  if (!credentials.is_object()) return;
  for (const auto& [name, credential] : credentials.items())
    entries_[name] = Entry{credential, now_us + lifetime_us_};
}

}  // namespace nauto::devices
