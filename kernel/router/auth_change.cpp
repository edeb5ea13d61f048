#include "auth_change.h"

#include <map>
#include <vector>

namespace nauto::kernel {

namespace {

bool same_entry(const AuthEntry& a, const AuthEntry& b) {
  return a.uid == b.uid && a.gid == b.gid && a.key == b.key && a.roles == b.roles;
}

bool same_role(const RoleDefinition& a, const RoleDefinition& b) {
  return a.services == b.services && a.topics == b.topics && a.devices == b.devices;
}

std::string joined(const std::vector<std::string>& items, const char* empty) {
  if (items.empty()) return empty;
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "+a, -b, ~c" over two maps by name; `same` compares the values of a name in both.
template <typename Map, typename Same>
std::string name_changes(const Map& before, const Map& after, Same same) {
  std::vector<std::string> changes;
  for (const auto& [name, value] : after) {
    const auto old = before.find(name);
    if (old == before.end()) {
      changes.push_back("+" + name);
    } else if (!same(old->second, value)) {
      changes.push_back("~" + name);
    }
  }
  for (const auto& [name, value] : before)
    if (!after.count(name)) changes.push_back("-" + name);
  return joined(changes, "");
}

// Entries by name; two entries of one name (a uid and a group) are compared as a list.
std::map<std::string, std::vector<AuthEntry>> users_by_name(const AuthOptions& options) {
  std::map<std::string, std::vector<AuthEntry>> out;
  for (const auto& entry : options.users)
    out[entry.name].push_back(entry);
  return out;
}

}  // namespace

std::string describe_auth_change(const AuthOptions& before, const AuthOptions& after) {
  std::vector<std::string> parts;
  const auto users =
      name_changes(users_by_name(before), users_by_name(after), [](const auto& a, const auto& b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
          if (!same_entry(a[i], b[i])) return false;
        return true;
      });
  if (!users.empty()) parts.push_back("users: " + users);
  const auto roles = name_changes(before.roles, after.roles, same_role);
  if (!roles.empty()) parts.push_back("roles: " + roles);
  if (before.default_roles != after.default_roles) {
    parts.push_back("default_roles: " + joined(before.default_roles, "none") + " -> " +
                    joined(after.default_roles, "none"));
  }
  std::string out;
  for (const auto& part : parts)
    out += (out.empty() ? "" : "; ") + part;
  return out;
}

}  // namespace nauto::kernel
