#pragma once
// Static registration of modules: each module's .cpp says NAUTO_REGISTER_MODULE(Class, "name")
// and is linked whole into the binaries that host it, so the registrar is never dropped.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nauto/sdk/module.h"

namespace nauto {

using ModuleFactory = ModulePtr (*)();

/// Process-wide table of module factories. Filled before main() by registrars; read-only after.
class ModuleRegistry {
 public:
  /// Adds a factory; returns true (for the registrar's static initialiser).
  static bool add(const char* name, ModuleFactory factory);
  /// nullptr if no module of that name is linked in.
  static ModuleFactory find(const std::string& name);
  static std::vector<std::string> names();
};

}  // namespace nauto

#define NAUTO_REGISTER_MODULE(Class, name)                                   \
  static const bool nauto_registered_##Class = ::nauto::ModuleRegistry::add( \
      name, []() -> ::nauto::ModulePtr { return std::make_unique<Class>(); })
