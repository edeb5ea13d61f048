// nauto whoami: the caller as nautod verified it (issue 30): the principal its unix user (or
// CURVE key) maps to through `auth.users`, its roles, and how it is connected.
// nauto auth users|roles: the mapping and the roles (bus.auth).
// nauto token create|list|revoke: the HTTP API's tokens (api.token.*, issue 31).

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

void print_tokens(const json& reply) {
  Table table{{"ID", "PRINCIPAL", "ROLES", "STATE", "EXPIRES", "LAST USED", "FROM", "NOTE"}, {}};
  for (const auto& token : reply["tokens"]) {
    const auto last = token.value("last_used_us", std::int64_t{0});
    table.rows.push_back({token.value("id", ""), token.value("principal", ""),
                          joined(token["roles"]), token.value("state", ""),
                          format_time_us(token.value("expires_us", std::int64_t{0})),
                          last ? format_time_us(last) : "never", token.value("last_address", ""),
                          token.value("note", "")});
  }
  std::cout << table.render();
}

void add_token_commands(CLI::App& app, CliContext& context) {
  auto* token = app.add_subcommand("token", "API tokens for the HTTP API and the dashboard");
  token->require_subcommand(1);
  struct CreateOptions {
    std::string principal, expires = "30d", note;
    std::vector<std::string> roles;
  };
  auto create_options = std::make_shared<CreateOptions>();
  auto* create = token->add_subcommand(
      "create", "a token acting as PRINCIPAL with ROLES; its secret is printed once");
  create->add_option("--principal", create_options->principal, "whom it acts as")->required();
  create->add_option("--roles", create_options->roles, "its roles (viewer operator ...)")
      ->required()
      ->delimiter(',');
  create->add_option("--expires", create_options->expires, "valid for (30d; at most 366d)");
  create->add_option("--note", create_options->note, "what it is for");
  add_output_option(create, context);
  create->callback([&context, create_options] {
    json body = {{"principal", create_options->principal},
                 {"roles", create_options->roles},
                 {"expires", create_options->expires}};
    if (!create_options->note.empty()) body["note"] = create_options->note;
    call_and_print(
        context, bus::schema::ApiTokenCreateRequest::kTopic, body, [](const json& created) {
          std::cout << created.value("token", "") << "\n";
          std::cerr << "token " << created.value("id", "") << " for "
                    << created.value("principal", "") << " (" << joined(created["roles"])
                    << "), expires " << format_time_us(created.value("expires_us", std::int64_t{0}))
                    << ". It is shown only now: keep it in a secret store.\n";
        });
  });
  auto all = std::make_shared<bool>(false);
  auto* list = token->add_subcommand("list", "tokens with their holder, roles and last use");
  list->add_flag("--all", *all, "revoked and expired ones too");
  add_output_option(list, context);
  list->callback([&context, all] {
    call_and_print(context, bus::schema::ApiTokenListRequest::kTopic, json{{"all", *all}},
                   print_tokens);
  });
  auto id = std::make_shared<std::string>();
  auto* revoke = token->add_subcommand("revoke", "revokes a token at once, and its sessions");
  revoke->add_option("id", *id, "the token's id (nauto token list)")->required();
  add_output_option(revoke, context);
  revoke->callback([&context, id] {
    call_and_print(context, bus::schema::ApiTokenRevokeRequest::kTopic, json{{"id", *id}},
                   [](const json& revoked) {
                     std::cout << "token " << revoked.value("id", "") << " revoked\n";
                   });
  });
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
  add_token_commands(app, context);
}

}  // namespace nauto::cli
