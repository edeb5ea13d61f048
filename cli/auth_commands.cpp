// nauto whoami: the caller as nautod verified it (issue 30): the principal its unix user (or
// CURVE key) maps to through `auth.users`, its roles, and how it is connected.
// nauto auth users|roles: the mapping and the roles (bus.auth).

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

using nlohmann::json;

namespace nauto::cli {
namespace {

std::string joined(const json& list) {
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : " ") + cell(item);
  return out;
}

void print_users(const json& auth) {
  Table table{{"PRINCIPAL", "MATCHES", "ROLES"}, {}};
  for (const auto& user : auth["users"]) {
    std::string matches = user.contains("uid")   ? "uid " + cell(user["uid"])
                          : user.contains("gid") ? "gid " + cell(user["gid"]) + " (members)"
                                                 : "key " + user.value("key", "") + "...";
    table.rows.push_back({user.value("name", ""), matches, joined(user["roles"])});
  }
  std::cout << table.render() << "default roles (a unix user no entry names): "
            << (auth["default_roles"].empty() ? "(none)" : joined(auth["default_roles"]))
            << "\nroot and nautod's own user: admin unless an entry names them\n";
}

void print_roles(const json& auth) {
  Table table{{"ROLE", "SERVICES", "PUBLISHES", "DEVICES"}, {}};
  for (const auto& role : auth["roles"]) {
    const auto devices = role.value("devices", "");
    table.rows.push_back({role.value("name", "") + (role.value("builtin", false) ? "" : " *"),
                          joined(role["services"]),
                          role["topics"].empty() ? "-" : joined(role["topics"]),
                          devices.empty() ? "all" : devices});
  }
  std::cout << table.render() << "* from auth.roles\n";
}

}  // namespace

void add_auth_commands(CLI::App& app, CliContext& context) {
  auto* whoami = app.add_subcommand("whoami", "who nautod takes you for: principal and roles");
  add_output_option(whoami, context);
  whoami->callback([&context] {
    call_and_print(context, bus::schema::BusWhoamiRequest::kTopic, json::object(),
                   [](const json& me) {
                     std::string roles;
                     for (const auto& role : me["roles"])
                       roles += (roles.empty() ? "" : ", ") + role.get<std::string>();
                     std::cout << "principal: " << me.value("principal", "") << "\n"
                               << "roles:     " << (roles.empty() ? "(none)" : roles) << "\n"
                               << "via:       " << me.value("via", "");
                     if (me.contains("uid"))
                       std::cout << " (uid " << me["uid"] << ", gid " << me["gid"] << ", pid "
                                 << me["pid"] << ")";
                     std::cout << "\n";
                   });
  });
  auto* auth = app.add_subcommand("auth", "who may do what: auth.users and the roles");
  auth->require_subcommand(1);
  auto* users = auth->add_subcommand("users", "the auth.users entries and the roles they give");
  add_output_option(users, context);
  users->callback([&context] {
    call_and_print(context, bus::schema::BusAuthRequest::kTopic, json::object(), print_users);
  });
  auto* roles = auth->add_subcommand("roles", "each role's services, events and devices");
  add_output_option(roles, context);
  roles->callback([&context] {
    call_and_print(context, bus::schema::BusAuthRequest::kTopic, json::object(), print_roles);
  });
}

}  // namespace nauto::cli
