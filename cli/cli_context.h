#pragma once
// What every `nauto` command shares: global options, the way to reach nautod, error reporting
// and the interrupt flag. Commands live in one file per command group (inventory, creds, job,
// completion) and register themselves on the CLI11 app with a callback that sets exit_code.

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <zmq.hpp>

#include "nauto/base/result.h"
#include "nauto/bus/client.h"
#include "output.h"

namespace nauto::textfsm {
struct Table;
}  // namespace nauto::textfsm

namespace nauto::cli {

/// Set by SIGINT/SIGTERM; long-running commands check it.
extern std::atomic<bool> g_interrupted;

struct CliContext {
  std::string endpoint;
  std::string config = "/etc/nauto/nauto.yaml";
  std::string output = "table";
  std::int64_t timeout_ms = 5000;
  mutable zmq::context_t zmq;
  int exit_code = 0;

  /// --endpoint, else NAUTO_ENDPOINT, else the run_dir of the configuration.
  std::string resolve_endpoint() const;
  Result<bus::BusClient> connect() const;
  /// One request to nautod; the reply body or the error it carried.
  Result<nlohmann::json> call(const std::string& service, const nlohmann::json& body);
  /// Like call(), but when no nautod answers, asks a private one started for this request
  /// (shell/private_nautod.h) and stopped after it: checks such as `inventory validate` run
  /// the module's own code without a daemon, so what they accept is what an import accepts.
  Result<nlohmann::json> call_even_offline(const std::string& service, const nlohmann::json& body);
  /// The parsed --output (table when it cannot be parsed; CLI11 checked it already).
  OutputFormat format() const;
};

/// Prints "nauto: <error>" to stderr; returns the exit code for it (2 for bad arguments).
int report(const Error& error);

/// The shape of most listing commands: calls `service` with `body`, then prints the reply as
/// the --output format asks (`print_table` for a table) or reports the error in exit_code.
void call_and_print(CliContext& context, const std::string& service, const nlohmann::json& body,
                    const std::function<void(const nlohmann::json&)>& print_table);

/// Adds `-o,--output table|json|yaml` to a command.
void add_output_option(CLI::App* command, CliContext& context);

/// "90s", "15m", "2h", "7d" of --since in milliseconds; InvalidArgument naming --since.
Result<std::int64_t> duration_ms(const std::string& text);

/// Reads a whole file, or standard input for "-".
Result<std::string> read_input(const std::string& path);

/// Who is at the keyboard, for "started by" and "decided by" records.
std::string user_name();
void add_inventory_commands(CLI::App& app, CliContext& context);
/// nauto rules list|validate|test and nauto approvals list|show|approve|deny.
void add_event_commands(CLI::App& app, CliContext& context);
void add_creds_commands(CLI::App& app, CliContext& context);
void add_job_commands(CLI::App& app, CliContext& context);
/// nauto schedule list|show|next|add|rm|pause|resume|run-now|validate.
void add_schedule_commands(CLI::App& app, CliContext& context);
/// nauto config backup|backups|status|history|show|diff|search|drift (the config archive).
void add_config_commands(CLI::App& app, CliContext& context);
/// A request answered when a fleet operation is done (a backup, a drift check, a rollout with
/// wait): it may take as long as the router lets a request live.
Result<nlohmann::json> fleet_call(CliContext& context, const std::string& service,
                                  const nlohmann::json& body);
/// nauto rollout push|template|runbook|list|status|pause|resume|abort (staged rollouts).
void add_rollout_commands(CLI::App& app, CliContext& context);
/// nauto compliance policies|validate|run|runs|results|report.
void add_compliance_commands(CLI::App& app, CliContext& context);
/// nauto metrics query|list|targets|thresholds (the telemetry module).
void add_metrics_commands(CLI::App& app, CliContext& context);
/// configs.push with `body`, its outcome printed; the exit status (3: a device failed or the
/// push was rolled back). `nauto config push` and `nauto job push --commit-confirm`.
int confirmed_push(CliContext& context, const nlohmann::json& body);
void add_run_commands(CLI::App& app, CliContext& context);
/// `nauto whoami`, `nauto auth users|roles` and `nauto token create|list|revoke`.
void add_auth_commands(CLI::App& app, CliContext& context);
/// nauto workers (worker_commands.cpp).
void add_worker_commands(CLI::App& app, CliContext& context);
/// `nauto audit list|show|verify|export|stats`.
void add_audit_commands(CLI::App& app, CliContext& context);
/// `nauto parse`: TextFSM parsing of command output, offline.
void add_parse_commands(CLI::App& app, CliContext& context);
/// The TextFSM template directory: `given` (--templates), else $NAUTO_TEXTFSM_TEMPLATES, else
/// modules.runbooks.textfsm_templates of the configuration file; an error saying so if none.
Result<std::string> textfsm_template_directory(const std::string& given, const CliContext& context);
/// Parsed records as a table (one column per Value, lower-cased), for the table output format.
std::string records_table(const textfsm::Table& parsed);
/// `nauto shell`: the interactive Lua REPL (shell/ in this folder).
void add_shell_command(CLI::App& app, CliContext& context);
/// `nauto doctor`: checks of an installation, each with what to fix (doctor_commands.cpp).
void add_doctor_command(CLI::App& app, CliContext& context);
/// `nauto completion bash|zsh|fish`: scripts generated from the app's own definition.
void add_completion_command(CLI::App& app, CliContext& context);

}  // namespace nauto::cli
