// The vault module: named credentials, sealed in a VaultFile, served on the bus.
//   vault.resolve {names: [..], purpose}  -> {credentials: {name: {username, password, ...}}}
//   vault.list                            -> {credentials: [{name, username, fields, updated}]}
//   vault.set     {name, username, password, enable_secret, private_key_file, key_passphrase}
//   vault.remove  {name}
//   vault.rotate_key {key_file | passphrase}
// A credential in the environment (NAUTO_CRED_<NAME>_*) wins over the file, for CI.
// Every access is published as an audit.secret.<action> event naming who asked (the principal
// the router verified), which credential and why; values never leave except in vault.resolve's
// reply. vault.resolve answers only modules whose bus schema declares that they call it
// (`calls:`, as the devices module's does) and the principals in `modules.vault.resolvers`;
// anyone else, root included, is refused (permission_denied) and the refusal audited.

#include <algorithm>
#include <cstdlib>

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/module.h"
#include "nauto/sdk/registry.h"
#include "vault_file.h"

namespace nauto::mod::vault {

using nauto::vault::Credential;
using nauto::vault::VaultFile;
using nauto::vault::VaultKeySource;
using nlohmann::json;

class VaultModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("vault", "encrypted credentials (AES-256-GCM); every access audited",
                              {}, {});
  }

  Result<void> validate(const json& config) const override {
    ConfigReader r(config, "modules.vault");
    r.string("file", "");
    r.string("key_file", "");
    r.string("passphrase_env", "NAUTO_VAULT_PASSPHRASE");
    r.strings("resolvers");
    return r.finish();
  }

  Result<void> start(Context& ctx) override {
    ConfigReader r(ctx.config(), "modules.vault");
    path_ = r.string("file", "");
    key_.key_file = r.string("key_file", "");
    const auto passphrase_env = r.string("passphrase_env", "NAUTO_VAULT_PASSPHRASE");
    resolvers_ = r.strings("resolvers");
    if (auto done = r.finish(); !done) return done;
    if (const char* passphrase = std::getenv(passphrase_env.c_str())) key_.passphrase = passphrase;
    if (path_.empty()) {
      ctx.log().info("no modules.vault.file: credentials come from NAUTO_CRED_* only");
      return ok();
    }
    if (key_.key_file.empty() && key_.passphrase.empty()) {
      ctx.log().warn("vault {}: no key_file and no {}: credentials come from NAUTO_CRED_* only",
                     path_, passphrase_env);
      return ok();
    }
    auto opened = VaultFile::open(path_, key_, true);
    if (!opened) return fail(opened.error().code, opened.error().message, "modules.vault");
    vault_.emplace(std::move(*opened));
    return ok();
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    // The caller as the router verified it; only a request that did not cross the router (a
    // test driving the module) has just its source.
    const auto& who = caller_of(request.header);
    auto answer = handle(request.topic, *body, who, ctx);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

 private:
  // A module that declares vault.resolve among the services it calls, or a configured principal.
  bool may_resolve(const std::string& who) const {
    if (std::find(resolvers_.begin(), resolvers_.end(), who) != resolvers_.end()) return true;
    constexpr std::string_view kModule = "module:";
    if (who.rfind(kModule, 0) != 0) return false;
    const auto calls = bus::schema::module_interface(who.substr(kModule.size())).calls;
    return std::find(calls.begin(), calls.end(), bus::schema::VaultResolveRequest::kTopic) !=
           calls.end();
  }

  Result<VaultFile*> need_vault() {
    if (!vault_) {
      return fail(Errc::Unavailable,
                  "no vault is open: set modules.vault.file and key_file (or the passphrase in "
                  "NAUTO_VAULT_PASSPHRASE) and reload nautod");
    }
    return &*vault_;
  }

  void audit(Context& ctx, const std::string& action, const std::string& who,
             const std::string& credential, const std::string& purpose, const std::string& from,
             bool granted) {
    (void)ctx.publish("audit.secret." + action, bus::to_body(json{{"who", who},
                                                                  {"credential", credential},
                                                                  {"purpose", purpose},
                                                                  {"from", from},
                                                                  {"granted", granted},
                                                                  {"time_us", now_us()}}));
  }

  Result<json> handle(const std::string& service, const json& body, const std::string& who,
                      Context& ctx) {
    namespace schema = bus::schema;
    if (service == schema::VaultResolveRequest::kTopic) {
      auto args = schema::VaultResolveRequest::decode(body);
      if (!args) return std::move(args).error();
      if (!may_resolve(who)) {
        for (const auto& name : args->names)
          audit(ctx, "read", who, name, args->purpose, "refused", false);
        return fail(Errc::PermissionDenied,
                    "'" + who +
                        "' may not read secrets: vault.resolve answers the modules that declare "
                        "it (devices, ...) and modules.vault.resolvers",
                    service);
      }
      json out = json::object();
      const auto& purpose = args->purpose;
      for (const auto& name : args->names) {
        if (auto from_env = nauto::vault::credential_from_environment(name)) {
          out[name] = credential_json(*from_env);
          audit(ctx, "read", who, name, purpose, "environment", true);
          continue;
        }
        auto vault = need_vault();
        if (!vault) {
          audit(ctx, "read", who, name, purpose, "vault", false);
          return std::move(vault).error();
        }
        auto credential = (*vault)->get(name);
        audit(ctx, "read", who, name, purpose, "vault", credential.has_value());
        if (!credential) return std::move(credential).error();
        out[name] = credential_json(*credential);
      }
      return json{{"credentials", out}};
    }
    auto vault = need_vault();
    if (!vault) return std::move(vault).error();
    if (service == schema::VaultListRequest::kTopic) {
      json list = json::array();
      for (const auto& info : (*vault)->list()) {
        list.push_back({{"name", info.name},
                        {"username", info.username},
                        {"fields", info.fields},
                        {"updated", info.updated}});
      }
      return json{{"credentials", list}};
    }
    if (service == schema::VaultSetRequest::kTopic) {
      auto args = schema::VaultSetRequest::decode(body);
      if (!args) return std::move(args).error();
      const auto& name = args->name;
      Credential c{args->username, args->password, args->enable_secret, args->private_key_file,
                   args->key_passphrase};
      auto done = (*vault)->set(name, c);
      audit(ctx, "write", who, name, "set", "vault", done.has_value());
      if (!done) return std::move(done).error();
      return json{{"name", name}};
    }
    if (service == schema::VaultRemoveRequest::kTopic) {
      auto args = schema::VaultRemoveRequest::decode(body);
      if (!args) return std::move(args).error();
      const auto& name = args->name;
      auto done = (*vault)->remove(name);
      audit(ctx, "remove", who, name, "remove", "vault", done.has_value());
      if (!done) return std::move(done).error();
      return json{{"name", name}};
    }
    if (service == schema::VaultRotateKeyRequest::kTopic) {
      auto args = schema::VaultRotateKeyRequest::decode(body);
      if (!args) return std::move(args).error();
      VaultKeySource next{args->passphrase, args->key_file};
      auto done = (*vault)->rotate_key(next);
      audit(ctx, "rotate", who, "*", next.key_file.empty() ? "passphrase" : "key-file", "vault",
            done.has_value());
      if (!done) return std::move(done).error();
      key_ = next;
      return json{{"rotated", (*vault)->list().size()}};
    }
    return fail(Errc::Unsupported, "unknown vault service " + service);
  }

  static json credential_json(const Credential& c) {
    return json{{"username", c.username},
                {"password", c.password},
                {"enable_secret", c.enable_secret},
                {"private_key_file", c.private_key_file},
                {"key_passphrase", c.key_passphrase}};
  }

  std::string path_;
  std::vector<std::string> resolvers_;  // principals that may resolve besides the modules
  VaultKeySource key_;
  std::optional<VaultFile> vault_;
};

NAUTO_REGISTER_MODULE(VaultModule, "vault");

}  // namespace nauto::mod::vault
