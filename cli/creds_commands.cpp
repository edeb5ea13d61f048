// nauto creds set NAME | list | rm NAME | rotate-key | keygen
// Secret values come from standard input or a prompt with echo off, never from the command
// line (where ps and shell history would keep them).

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli_context.h"
#include "nauto/base/digest.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

struct CredsArgs {
  std::string name;
  std::string username;
  std::string private_key_file;
  std::string key_file;
  bool enable = false;
};

// One secret: prompted with echo off on a terminal, else the next line of standard input.
Result<std::string> read_secret(const std::string& prompt) {
  std::string value;
  if (::isatty(STDIN_FILENO)) {
    termios saved{};
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::cerr << prompt << std::flush;
    std::getline(std::cin, value);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  } else if (!std::getline(std::cin, value)) {
    return fail(Errc::InvalidArgument,
                "expected the secret on standard input (one line per secret)");
  }
  if (!value.empty() && value.back() == '\r') value.pop_back();
  return value;
}

int set_credential(CliContext& context, const CredsArgs& args) {
  json body = {{"name", args.name},
               {"username", args.username},
               {"private_key_file", args.private_key_file}};
  auto password = read_secret("Password for " + args.name + ": ");
  if (!password) return report(password.error());
  if (args.private_key_file.empty() && password->empty()) {
    return report(fail(Errc::InvalidArgument, "empty password and no --private-key-file"));
  }
  body[args.private_key_file.empty() ? "password" : "key_passphrase"] = *password;
  if (args.enable) {
    auto enable = read_secret("Enable secret for " + args.name + ": ");
    if (!enable) return report(enable.error());
    body["enable_secret"] = *enable;
  }
  auto answer = context.call(bus::schema::VaultSetRequest::kTopic, body);
  if (!answer) return report(answer.error());
  std::cout << "credential " << args.name << " stored\n";
  return 0;
}

int list_credentials(CliContext& context) {
  auto answer = context.call(bus::schema::VaultListRequest::kTopic, json::object());
  if (!answer) return report(answer.error());
  const auto& list = (*answer)["credentials"];
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(list, context.format());
    return 0;
  }
  Table table{{"NAME", "USERNAME", "SECRETS", "UPDATED"}, {}};
  for (const auto& c : list) {
    std::string fields;
    for (const auto& f : c["fields"])
      fields += (fields.empty() ? "" : ",") + f.get<std::string>();
    table.rows.push_back(
        {cell(c["name"]), cell(c["username"]), fields.empty() ? "-" : fields, cell(c["updated"])});
  }
  std::cout << table.render();
  return 0;
}

int rotate_key(CliContext& context, const CredsArgs& args) {
  json body = json::object();
  if (!args.key_file.empty()) {
    body["key_file"] = args.key_file;
  } else {
    auto passphrase = read_secret("New vault passphrase: ");
    if (!passphrase) return report(passphrase.error());
    if (::isatty(STDIN_FILENO)) {
      auto again = read_secret("Again: ");
      if (!again || *again != *passphrase) {
        return report(fail(Errc::InvalidArgument, "the passphrases differ; nothing changed"));
      }
    }
    if (passphrase->size() < 12) {
      return report(fail(Errc::InvalidArgument,
                         "a vault passphrase needs at least 12 characters; nothing changed"));
    }
    body["passphrase"] = *passphrase;
  }
  auto answer = context.call(bus::schema::VaultRotateKeyRequest::kTopic, body);
  if (!answer) return report(answer.error());
  std::cout << "vault key rotated; " << cell((*answer)["rotated"])
            << " credentials re-sealed. Give nautod the new key before its next start.\n";
  return 0;
}

int keygen(const CredsArgs& args) {
  // 32 random bytes as hex: the vault key file format (modules/vault/vault_file.h). Written
  // here, not by nautod, because nautod needs the key before it can start.
  auto key = random_hex(32);
  if (!key) return report(key.error());
  const std::string text = *key + "\n";
  struct stat existing {};
  if (::stat(args.key_file.c_str(), &existing) == 0) {
    return report(
        fail(Errc::InvalidArgument, args.key_file + " exists; a new key would lock out its vault"));
  }
  const auto old_mask = ::umask(077);
  std::ofstream out(args.key_file);
  ::umask(old_mask);
  if (!(out << text)) return report(fail(Errc::System, "cannot write " + args.key_file));
  std::cout << "vault key written to " << args.key_file << " (mode 0600)\n";
  return 0;
}

}  // namespace

void add_creds_commands(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<CredsArgs>();
  auto* creds = app.add_subcommand("creds", "credentials in nautod's encrypted vault");
  creds->require_subcommand(1);

  auto* set = creds->add_subcommand(
      "set", "add or replace a credential; secrets from standard input or a prompt");
  set->add_option("name", args->name, "credential name, as inventories refer to it")->required();
  set->add_option("-u,--username", args->username, "login name")->required();
  set->add_flag("--enable", args->enable, "also read an enable secret (second line)");
  set->add_option("--private-key-file", args->private_key_file,
                  "SSH key; the secret read is then its passphrase");
  set->callback([&context, args] { context.exit_code = set_credential(context, *args); });

  auto* list = creds->add_subcommand("list", "credential names and users, never secrets");
  add_output_option(list, context);
  list->callback([&context] { context.exit_code = list_credentials(context); });

  auto* remove = creds->add_subcommand("rm", "remove a credential");
  remove->add_option("name", args->name, "credential name")->required();
  remove->callback([&context, args] {
    auto answer = context.call(bus::schema::VaultRemoveRequest::kTopic, {{"name", args->name}});
    context.exit_code = answer ? 0 : report(answer.error());
    if (answer) std::cout << "credential " << args->name << " removed\n";
  });

  auto* rotate = creds->add_subcommand(
      "rotate-key", "re-seal every credential under a new passphrase (prompted) or key file");
  rotate->add_option("--key-file", args->key_file, "new key file (nauto creds keygen)");
  rotate->callback([&context, args] { context.exit_code = rotate_key(context, *args); });

  auto* generate = creds->add_subcommand("keygen", "write a new random vault key file");
  generate->add_option("--key-file", args->key_file, "where to write it")->required();
  generate->callback([&context, args] { context.exit_code = keygen(*args); });
}

}  // namespace nauto::cli
