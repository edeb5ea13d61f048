#pragma once
// The push algorithm for configs that apply at once (IOS-like), written once for every
// transport that carries them (SSH CLI, eAPI, NX-API): read running, compute the commands
// (merge: the lines given; replace: ConfigDiff's remediation), predict or observe the result,
// and diff. The transport supplies three small operations.

#include <functional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/drivers/driver.h"

namespace nauto::drivers {

/// What a transport provides to push_indented_config.
struct IndentedConfigAccess {
  std::function<Result<std::string>()> read_running;  ///< volatile lines already dropped
  std::function<Result<void>(const std::vector<std::string>&)> apply;  ///< in config mode
  std::function<Result<void>()> save;  ///< running to startup; may be empty
};

Result<PushResult> push_indented_config(const ConfigDiff& diff, const ConfigPush& push,
                                        const IndentedConfigAccess& access);

/// Restores a snapshot taken by push_indented_config (a replace push of the snapshot).
Result<void> restore_indented_snapshot(const ConfigDiff& diff, const std::string& snapshot,
                                       const IndentedConfigAccess& access);

/// Splits text into lines without their line ends.
std::vector<std::string> split_lines_of(const std::string& text);

}  // namespace nauto::drivers
