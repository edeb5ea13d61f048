#pragma once
// Logging set-up for every nauto binary: spdlog loggers named by component
// ("kernel.router", "mod.journal"), a human console format, and an optional JSON-lines file.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto {

enum class LogFormat { Console, Json };

/// Where and how logs go. `file` empty means console only.
struct LogOptions {
  std::string level = "info";  ///< trace, debug, info, warn, error, critical, off
  LogFormat console_format = LogFormat::Console;
  std::string file;  ///< a JSON-lines file; one object per record
};

/// Installs sinks and level for all loggers, including ones already created. Call from main
/// before threads start, and again on reload (spdlog's registry is thread-safe).
Result<void> log_setup(const LogOptions& options);

/// The logger for a component; created on first use with the configured sinks. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/// Parses a level name, naming the allowed values on failure.
Result<spdlog::level::level_enum> parse_log_level(std::string_view name);

}  // namespace nauto
