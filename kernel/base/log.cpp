#include "nauto/base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>
#include <vector>

namespace nauto {
namespace {

// A JSON-lines formatter: spdlog's pattern language cannot escape the message, so write our own.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto time = msg.time.time_since_epoch();
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time).count();
    const auto seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[40];
    const auto len = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    fmt::format_to(std::back_inserter(dest), R"({{"time":"{}.{:06d}Z","level":")",
                   std::string_view(stamp, len), static_cast<int>(micros % 1000000));
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view(R"(","logger":")"));
    escape(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    dest.append(std::string_view(R"(","thread":)"));
    fmt::format_to(std::back_inserter(dest), "{}", msg.thread_id);
    dest.append(std::string_view(R"(,"message":")"));
    escape(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static void escape(std::string_view text, spdlog::memory_buf_t& dest) {
    for (const unsigned char c : text) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (c < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<int>(c));
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
    }
  }
};

// Every logger writes to this one sink, which forwards to the configured sinks. A reload swaps
// the forwarded-to sinks under the forwarding sink's own lock (dist_sink::set_sinks); it never
// touches a logger's sink list, which spdlog reads without a lock while other threads log
// (replacing it under them freed sinks in use: a crash found by store_flood_test.sh).
std::mutex g_level_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;

std::shared_ptr<spdlog::sinks::dist_sink_mt> forwarding_sink() {
  static const auto sink = [] {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
    return std::make_shared<spdlog::sinks::dist_sink_mt>(std::vector<spdlog::sink_ptr>{console});
  }();
  return sink;
}

}  // namespace

Result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  static constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (name == kNames[i]) return static_cast<spdlog::level::level_enum>(i);
  }
  return fail(Errc::InvalidConfig, "unknown log level '" + std::string(name) +
                                       "'; expected one of trace, debug, info, warn, error, "
                                       "critical, off");
}

Result<void> log_setup(const LogOptions& options) {
  auto level = parse_log_level(options.level);
  if (!level) return std::move(level).error();
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  if (options.console_format == LogFormat::Json) {
    console->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    console->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  sinks.push_back(console);
  if (!options.file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
      file->set_formatter(std::make_unique<JsonFormatter>());
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      return fail(Errc::System, std::string("cannot open log file: ") + e.what(), options.file);
    }
  }
  forwarding_sink()->set_sinks(std::move(sinks));
  {
    std::lock_guard lock(g_level_mutex);
    g_level = *level;
  }
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& existing) {
    existing->set_level(*level);  // atomic in spdlog
    existing->flush_on(spdlog::level::warn);
  });
  // Warnings reach the file at once (an operator tails it while something goes wrong); the
  // rest within a second.
  spdlog::flush_every(std::chrono::seconds(1));
  return ok();
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(name, forwarding_sink());
  {
    std::lock_guard lock(g_level_mutex);
    created->set_level(g_level);
  }
  created->flush_on(spdlog::level::warn);
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered the same name first; use theirs.
    if (auto raced = spdlog::get(name)) return raced;
  }
  return created;
}

}  // namespace nauto
