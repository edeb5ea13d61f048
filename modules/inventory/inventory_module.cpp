#include "inventory_module.h"

#include <fstream>
#include <sstream>

#include "inventory_import.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"
#include "selector.h"

namespace nauto::mod::inventory {

using nlohmann::json;
namespace inv = nauto::inventory;

namespace {
constexpr const char* kSourceKey = "source";

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Errc::InvalidConfig, "cannot read inventory file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

Manifest InventoryModule::manifest() const {
  return Manifest::declared("inventory",
                            "devices, groups and selectors; imports Ansible and CSV inventories",
                            {}, {kTable});
}

Result<void> InventoryModule::validate(const json& config) const {
  ConfigReader r(config, "modules.inventory");
  r.strings("files");
  return r.finish();
}

Result<void> InventoryModule::start(Context& ctx) {
  ConfigReader r(ctx.config(), "modules.inventory");
  files_ = r.strings("files");
  if (auto done = r.finish(); !done) return done;
  if (!ctx.store()) {
    return fail(Errc::Unsupported, "the inventory needs the kernel's store; run it in-process",
                "modules.inventory");
  }
  auto stored = ctx.store()->get(kTable, kSourceKey);
  if (!stored) return std::move(stored).error();
  if (*stored) {
    auto doc = bus::from_body(**stored);
    if (!doc) return std::move(doc).error();
    auto source = inv::source_from_json(*doc);
    if (!source) return std::move(source).error();
    stored_ = std::move(*source);
  }
  return rebuild(ctx);
}

Result<void> InventoryModule::rebuild(Context& ctx) {
  auto combined = stored_;
  for (const auto& path : files_) {
    auto text = read_file(path);
    if (!text) return std::move(text).error();
    auto format = inv::import_format("auto", path, *text);
    if (!format) return std::move(format).error();
    auto imported = inv::import_inventory(*format, *text, path);
    if (!imported) return std::move(imported).error();
    for (const auto& warning : imported->warnings)
      ctx.log().warn("{}", warning);
    inv::merge_source(combined, imported->source);
  }
  auto built = inv::Inventory::build(combined);
  if (!built) return std::move(built).error();
  inventory_ = std::move(*built);
  variables_ = inv::variable_names(*inventory_);
  return ok();
}

Result<json> InventoryModule::import(const ImportArgs& args, Context& ctx, bool store) {
  const auto& text = args.text;
  const auto& origin = args.origin;
  auto format = inv::import_format(args.format, origin, text);
  if (!format) return std::move(format).error();
  auto imported = inv::import_inventory(*format, text, origin);
  if (!imported) return std::move(imported).error();
  auto next = args.replace ? inv::InventorySource{} : stored_;
  inv::merge_source(next, imported->source);
  // Validate the whole result before keeping anything: a bad import changes nothing.
  auto built = inv::Inventory::build(next);
  if (!built) return std::move(built).error();
  json answer = {{"hosts", built->hosts().size()},
                 {"groups", built->group_names().size()},
                 {"imported", imported->source.host_order.size()},
                 {"warnings", imported->warnings}};
  if (!store) return answer;
  store::WriteBatch batch;
  batch.put(kTable, kSourceKey, bus::to_body(inv::to_json(next)));
  if (auto written = ctx.store()->write_and_wait(std::move(batch)); !written) {
    return std::move(written).error();
  }
  stored_ = std::move(next);
  if (auto rebuilt = rebuild(ctx); !rebuilt) return std::move(rebuilt).error();
  answer["hosts"] = inventory_->hosts().size();
  ctx.log().info("inventory import from {}: {} hosts ({} in the inventory)", origin,
                 answer["imported"].get<std::size_t>(), answer["hosts"].get<std::size_t>());
  return answer;
}

Result<json> InventoryModule::handle(const std::string& service, const json& body, Context& ctx) {
  namespace schema = bus::schema;
  if (service == schema::InventoryImportRequest::kTopic) {
    auto args = schema::InventoryImportRequest::decode(body);
    if (!args) return std::move(args).error();
    return import({args->text, args->origin, args->format, args->replace}, ctx, true);
  }
  if (service == schema::InventoryValidateRequest::kTopic) {
    auto args = schema::InventoryValidateRequest::decode(body);
    if (!args) return std::move(args).error();
    return import({args->text, args->origin, args->format, args->replace}, ctx, false);
  }
  if (service == schema::InventoryShowRequest::kTopic) {
    auto args = schema::InventoryShowRequest::decode(body);
    if (!args) return std::move(args).error();
    const auto* host = inventory_->find(args->name);
    if (!host) return fail(Errc::NotFound, "no device '" + args->name + "' in the inventory");
    return json{{"host", inv::to_json(*host)}};
  }
  auto args = schema::InventorySelectRequest::decode(body);
  if (!args) return std::move(args).error();
  auto selector = inv::Selector::parse(args->selector, &variables_);
  if (!selector) return std::move(selector).error();
  json hosts = json::array();
  for (const auto* host : inv::select(*inventory_, *selector))
    hosts.push_back(inv::to_json(*host));
  return json{{"hosts", std::move(hosts)}, {"total", inventory_->hosts().size()}};
}

void InventoryModule::on_request(const bus::Envelope& request, Context& ctx, Reply reply) {
  auto body = bus::from_body(request.body);
  if (!body) return reply.fail(body.error());
  auto answer = handle(request.topic, *body, ctx);
  if (!answer) return reply.fail(answer.error());
  reply.ok_json(*answer);
}

NAUTO_REGISTER_MODULE(InventoryModule, "inventory");

}  // namespace nauto::mod::inventory
