#include "principals.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "nauto/base/clock.h"
#include "nauto/sdk/config_reader.h"

namespace nauto::kernel {

using nlohmann::json;

namespace {

constexpr std::int64_t kGroupsKeptUs = 60'000'000;

// The user's login name; nullopt when the user database has no such uid.
std::optional<std::string> login_name(uid_t uid) {
  // getpwuid_r: the router thread is not the only one that may look users up.
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
    return std::string(found->pw_name);
  return std::nullopt;
}

std::optional<uid_t> uid_of(const std::string& user) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found)
    return found->pw_uid;
  return std::nullopt;
}

std::optional<gid_t> gid_of(const std::string& group) {
  std::vector<char> buffer(65536);
  struct group entry {};
  struct group* found = nullptr;
  if (::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found)
    return found->gr_gid;
  return std::nullopt;
}

// The groups of a user (`login`, nullopt for a uid the user database lacks): its primary group
// as the connection carried it, and the groups the group database lists it in.
std::vector<gid_t> groups_of(const std::optional<std::string>& login, gid_t primary) {
  std::vector<gid_t> groups{primary};
  if (!login) return groups;
  int count = 64;
  std::vector<gid_t> listed(static_cast<std::size_t>(count));
  if (::getgrouplist(login->c_str(), primary, listed.data(), &count) < 0) {
    listed.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(login->c_str(), primary, listed.data(), &count) < 0) return groups;
  }
  listed.resize(static_cast<std::size_t>(count));
  groups.insert(groups.end(), listed.begin(), listed.end());
  return groups;
}

void add_roles(std::vector<std::string>& to, const std::vector<std::string>& roles) {
  for (const auto& role : roles)
    if (std::find(to.begin(), to.end(), role) == to.end()) to.push_back(role);
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::map<std::string, RoleDefinition, std::less<>> AuthOptions::default_roles_map() {
  return *read_role_definitions(json());
}

std::string_view via_name(PeerCredentials::Via via) noexcept {
  switch (via) {
    case PeerCredentials::Via::InProcess:
      return "in-process";
    case PeerCredentials::Via::Ipc:
      return "ipc";
    case PeerCredentials::Via::Tcp:
      return "tcp";
  }
  return "?";
}

Result<AuthOptions> read_auth_options(const json& section) {
  AuthOptions out;
  std::vector<std::string> problems;
  ConfigReader top(section.is_object() ? section : json::object(), "auth");
  top.allow("users");
  top.allow("default_roles");
  top.allow("roles");
  if (auto finished = top.finish(); !finished) problems.push_back(finished.error().message);
  if (!section.is_null() && !section.is_object()) problems.push_back("auth: must be a map");
  auto roles = read_role_definitions(section.is_object() ? section.value("roles", json()) : json());
  if (roles) {
    out.roles = std::move(*roles);
  } else {
    problems.push_back(roles.error().message);
  }
  std::string role_names;
  for (const auto& [name, role] : out.roles)
    role_names += (role_names.empty() ? "" : ", ") + name;
  const json users = section.is_object() ? section.value("users", json()) : json();
  const json defaults = section.is_object() ? section.value("default_roles", json()) : json();
  auto read_roles = [&](const json& list, const std::string& at) {
    std::vector<std::string> roles;
    if (!list.is_array()) {
      problems.push_back(at + ": must be a list of roles (" + role_names + ")");
      return roles;
    }
    for (const auto& role : list) {
      if (!role.is_string() || !out.roles.count(role.get<std::string>())) {
        problems.push_back(at + ": unknown role " + role.dump() + " (roles: " + role_names + ")");
        continue;
      }
      roles.push_back(role.get<std::string>());
    }
    return roles;
  };
  if (!defaults.is_null()) out.default_roles = read_roles(defaults, "auth.default_roles");
  if (!users.is_null() && !users.is_array()) problems.push_back("auth.users: must be a list");
  for (std::size_t i = 0; users.is_array() && i < users.size(); ++i) {
    const auto at = "auth.users[" + std::to_string(i) + "]";
    const auto& u = users[i];
    if (!u.is_object()) {
      problems.push_back(at + ": must be a map {name, uid|user|group|key, roles}");
      continue;
    }
    ConfigReader r(u, at);
    AuthEntry entry;
    const auto user = r.string("user", "");
    const auto group = r.string("group", "");
    entry.key = r.string("key", "");
    entry.name = r.string("name", user);
    const auto uid = r.integer("uid", -1, -1, 4294967294LL);
    r.allow("roles");
    if (auto finished = r.finish(); !finished) problems.push_back(finished.error().message);
    const int matchers = (uid >= 0) + !user.empty() + !group.empty() + !entry.key.empty();
    if (matchers != 1) {
      problems.push_back(at + ": give exactly one of uid, user, group or key");
      continue;
    }
    if (uid >= 0) entry.uid = static_cast<uid_t>(uid);
    if (!user.empty()) {
      entry.uid = uid_of(user);
      if (!entry.uid) problems.push_back(at + ".user: no unix user '" + user + "'");
    }
    if (!group.empty()) {
      entry.gid = gid_of(group);
      if (!entry.gid) problems.push_back(at + ".group: no unix group '" + group + "'");
    }
    if (!entry.key.empty() && entry.key.size() != 40)
      problems.push_back(at + ".key: a CURVE public key is 40 Z85 characters");
    if (entry.name.empty() && group.empty())
      problems.push_back(at + ".name: the principal's name is required");
    if (entry.name.rfind("module:", 0) == 0)
      problems.push_back(at + ".name: 'module:' names are the kernel's own");
    entry.roles = read_roles(u.value("roles", json::array()), at + ".roles");
    out.users.push_back(std::move(entry));
  }
  if (auto checked = config_problems(problems); !checked) return std::move(checked).error();
  return out;
}

std::optional<PeerCredentials> parse_ipc_peer_address(std::string_view address) {
  // The last three ':'-separated fields; the address before them may hold ':' itself.
  std::uint64_t numbers[3] = {};
  for (int i = 2; i >= 0; --i) {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto field = address.substr(colon + 1);
    if (!all_digits(field)) return std::nullopt;
    std::from_chars(field.data(), field.data() + field.size(), numbers[i]);
    address = address.substr(0, colon);
  }
  PeerCredentials peer;
  peer.via = PeerCredentials::Via::Ipc;
  peer.uid = static_cast<uid_t>(numbers[0]);
  peer.gid = static_cast<gid_t>(numbers[1]);
  peer.pid = static_cast<pid_t>(numbers[2]);
  return peer;
}

PrincipalMap::PrincipalMap(AuthOptions options, uid_t own_uid,
                           std::vector<std::string> in_process_modules,
                           std::vector<std::string> child_modules)
    : options_(std::move(options)),
      own_uid_(own_uid),
      in_process_modules_(std::move(in_process_modules)) {
  own_ = unix_identity(own_uid_, ::getgid());
  for (const auto& module : in_process_modules_)
    by_module_[module] = Identity{"module:" + module, {}, true, {}};
  for (const auto& module : child_modules)
    by_child_[module] = Identity{"module:" + module, {}, true, {}};
}

const Identity& PrincipalMap::resolve(const PeerCredentials& peer, std::string_view routing_id) {
  switch (peer.via) {
    case PeerCredentials::Via::InProcess: {
      // A module connects as "<name>#<random>" (ModuleRunner); the name is what counts.
      const auto module = by_module_.find(routing_id.substr(0, routing_id.find('#')));
      return module != by_module_.end() ? module->second : own_;
    }
    case PeerCredentials::Via::Tcp: {
      auto known = by_key_.find(peer.curve_key);
      if (known == by_key_.end())
        known = by_key_.emplace(peer.curve_key, key_identity(peer.curve_key)).first;
      return known->second;
    }
    case PeerCredentials::Via::Ipc:
      if (peer.uid == own_uid_) {
        const auto child = by_child_.find(routing_id.substr(0, routing_id.find('#')));
        if (child != by_child_.end()) return child->second;
      }
      break;
  }
  const std::uint64_t key = (std::uint64_t{peer.uid} << 32) | peer.gid;
  const auto now = steady_us();
  auto& cached = by_unix_[key];
  if (cached.until_us <= now) {
    cached.identity = unix_identity(peer.uid, peer.gid);
    cached.until_us = now + kGroupsKeptUs;
  }
  return cached.identity;
}

Identity PrincipalMap::unix_identity(uid_t uid, gid_t gid) const {
  Identity out;
  for (const auto& entry : options_.users) {
    if (entry.uid && *entry.uid == uid) {
      out.principal = entry.name;
      out.roles = entry.roles;
      return out;
    }
  }
  // One user database lookup gives both the principal's name and the groups' key.
  const auto login = login_name(uid);
  out.principal = login ? *login : "uid:" + std::to_string(uid);
  bool grouped = false;
  const auto groups = groups_of(login, gid);
  for (const auto& entry : options_.users) {
    if (entry.gid && std::find(groups.begin(), groups.end(), *entry.gid) != groups.end()) {
      add_roles(out.roles, entry.roles);
      grouped = true;
    }
  }
  if (grouped) return out;
  if (uid == own_uid_ || uid == 0) {
    out.roles = {"admin"};
  } else {
    out.roles = options_.default_roles;
  }
  return out;
}

Identity PrincipalMap::key_identity(std::string_view key) const {
  // tcp without a client allow-list: encrypted, but nobody in particular.
  if (key.empty()) return Identity{"anonymous", options_.default_roles, false, {}};
  for (const auto& entry : options_.users)
    if (entry.key == key) return Identity{entry.name, entry.roles, false, {}};
  // A key on the router's allow-list that no entry names: known, without roles.
  return Identity{"key:" + std::string(key.substr(0, 8)), options_.default_roles, false, {}};
}

Identity delegated_identity(const Identity& module, std::string_view acting_for,
                            std::string_view roles) {
  Identity user;
  user.principal = std::string(acting_for);
  user.delegate = module.principal;
  while (!roles.empty()) {
    const auto comma = roles.find(',');
    const auto role = roles.substr(0, comma);
    if (!role.empty()) user.roles.emplace_back(role);
    roles = comma == std::string_view::npos ? std::string_view() : roles.substr(comma + 1);
  }
  return user;
}

}  // namespace nauto::kernel
