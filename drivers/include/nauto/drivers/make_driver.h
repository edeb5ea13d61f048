#pragma once
// make_driver: the one place that maps a target's platform and transport to a Driver class.
// Platforms are data (PlatformCatalog); the transport picks the code that speaks to them.

#include <memory>

#include "nauto/drivers/driver.h"
#include "nauto/drivers/driver_pool.h"
#include "nauto/drivers/platform.h"

namespace nauto::drivers {

/// A closed driver for `target`. Errors: NotFound for an unknown platform, InvalidConfig for a
/// transport the platform does not list.
Result<std::unique_ptr<Driver>> make_driver(const DeviceTarget& target,
                                            const PlatformCatalog& catalog);

/// A DriverFactory over a catalog (which must outlive the factory).
DriverFactory driver_factory(const PlatformCatalog& catalog);

}  // namespace nauto::drivers
