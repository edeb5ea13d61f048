#pragma once
// CredentialCache: vault answers kept for a short lifetime, so the device calls of one run (a
// one-device job each) do not each ask the vault. Emptied whenever the vault announces a
// change (audit.secret.write, .remove, .rotate), so an update is never shadowed. Secrets stay
// in this module's memory as they already do in the jobs that use them; never logged.
// Single-threaded (the module's thread).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace nauto::devices {

class CredentialCache {
 public:
  explicit CredentialCache(std::int64_t lifetime_us) : lifetime_us_(lifetime_us) {}

  /// The fresh cached credentials among `names` ({name: credential}); the others go to
  /// `missing`.
  nlohmann::json find(const std::set<std::string>& names, std::set<std::string>& missing,
                      std::int64_t now_us) const;
  /// Keeps a vault.resolve answer's credentials ({name: credential}).
  void put(const nlohmann::json& credentials, std::int64_t now_us);
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    nlohmann::json credential;
    std::int64_t expires_us;
  };
  std::int64_t lifetime_us_;
  std::map<std::string, Entry> entries_;
};

}  // namespace nauto::devices
