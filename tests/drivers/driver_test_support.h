#pragma once
// Helpers shared by the driver integration tests: the built-in platform catalog, a driver
// opened (or the test fails with the error), and the default deadline of a test step.

#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>

#include "nauto/drivers/make_driver.h"

namespace nauto::test {

inline const drivers::PlatformCatalog& catalog() {
  static drivers::PlatformCatalog loaded = [] {
    auto result = drivers::PlatformCatalog::load_default();
    if (!result) throw std::runtime_error(result.error().describe());
    return std::move(*result);
  }();
  return loaded;
}

inline std::unique_ptr<drivers::Driver> open_driver(const drivers::DeviceTarget& target,
                                                    std::int64_t deadline_ms = 20000) {
  auto driver = drivers::make_driver(target, catalog());
  REQUIRE(driver);
  auto opened = (*driver)->open(drivers::Deadline::after_ms(deadline_ms));
  INFO((opened ? "" : opened.error().describe()));
  REQUIRE(opened);
  return std::move(*driver);
}

inline drivers::Deadline soon() {
  return drivers::Deadline::after_ms(20000);
}

}  // namespace nauto::test
