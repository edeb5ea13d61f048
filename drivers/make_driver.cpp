#include "nauto/drivers/make_driver.h"

#include <algorithm>

#include "arista_eos/eapi_driver.h"
#include "cisco_nxos/nxapi_driver.h"
#include "cli/cli_driver.h"
#include "juniper_junos/junos_driver.h"
#include "linux/linux_driver.h"
#include "meraki/meraki_driver.h"

namespace nauto::drivers {

Result<std::unique_ptr<Driver>> make_driver(const DeviceTarget& target,
                                            const PlatformCatalog& catalog) {
  auto found = catalog.find(target.platform);
  if (!found) return on_device(target, std::move(found).error());
  const PlatformDefinition& platform = **found;
  std::string transport = target.transport.empty() ? platform.transports.front() : target.transport;
  if (std::find(platform.transports.begin(), platform.transports.end(), transport) ==
      platform.transports.end()) {
    std::string known;
    for (const auto& t : platform.transports)
      known += (known.empty() ? "" : ", ") + t;
    return device_error(target, Errc::InvalidConfig,
                        "platform " + platform.name + " has no transport '" + transport +
                            "' (it has: " + known + ")");
  }
  std::unique_ptr<Driver> driver;
  if (transport == "ssh_cli") driver = std::make_unique<cli::CliDriver>(target, platform);
  if (transport == "ssh_exec") driver = std::make_unique<linux_host::LinuxDriver>(target, platform);
  if (transport == "netconf")
    driver = std::make_unique<juniper_junos::JunosDriver>(target, platform);
  if (transport == "eapi") driver = std::make_unique<arista_eos::EapiDriver>(target, platform);
  if (transport == "nxapi") driver = std::make_unique<cisco_nxos::NxapiDriver>(target, platform);
  if (transport == "rest") driver = std::make_unique<meraki::MerakiDriver>(target, platform);
  if (!driver) {
    return device_error(
        target, Errc::Unsupported,
        "no driver speaks transport '" + transport + "' (definition " + platform.name + ")");
  }
  return driver;
}

DriverFactory driver_factory(const PlatformCatalog& catalog) {
  return [&catalog](const DeviceTarget& target) { return make_driver(target, catalog); };
}

}  // namespace nauto::drivers
