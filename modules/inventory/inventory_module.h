#pragma once
// The inventory module: keeps the inventory in the store (table "inventory") and answers
//   inventory.select   {selector}                  -> {hosts: [resolved host records]}
//   inventory.show     {name}                      -> {host: record}
//   inventory.import   {text, origin, format, replace} -> {hosts, imported, warnings}
//   inventory.validate {text, origin, format}      -> {hosts, warnings} (nothing stored)
// Files named in modules.inventory.files are read at start and on reload, on top of what was
// imported. Thread-bound to its module thread; needs the store, so it runs in-process.

#include <optional>
#include <string>
#include <vector>

#include "inventory.h"
#include "nauto/sdk/module.h"

namespace nauto::mod::inventory {

inline constexpr const char* kTable = "inventory";

class InventoryModule final : public Module {
 public:
  Manifest manifest() const override;
  Result<void> validate(const nlohmann::json& config) const override;
  Result<void> start(Context& ctx) override;
  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override;

 private:
  Result<nlohmann::json> handle(const std::string& service, const nlohmann::json& body,
                                Context& ctx);
  // inventory.import and inventory.validate share their fields (bus/schema/inventory.yaml).
  struct ImportArgs {
    std::string text, origin, format;
    bool replace = false;
  };
  Result<nlohmann::json> import(const ImportArgs& args, Context& ctx, bool store);
  Result<void> rebuild(Context& ctx);

  std::vector<std::string> files_;
  nauto::inventory::InventorySource stored_;  // what was imported (persisted)
  std::optional<nauto::inventory::Inventory> inventory_;
  std::vector<std::string> variables_;
};

}  // namespace nauto::mod::inventory
