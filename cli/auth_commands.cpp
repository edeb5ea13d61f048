// nauto whoami: the caller as nautod verified it (issue 30): the principal its unix user (or
// CURVE key) maps to through `auth.users`, its roles, and how it is connected.

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"

using nlohmann::json;

namespace nauto::cli {

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
}

}  // namespace nauto::cli
