// nauto shell [-e CODE] [--history FILE] [--no-private]
// An interactive Lua session with the runbook API against live devices: a REPL on a terminal,
// or one script from -e or standard input (exit status 0 when it ran without error, 1 when it
// failed, 2 for bad arguments). It talks to the running nautod; when none answers it starts a
// private one for the session (PrivateNautod).

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "../cli_context.h"
#include "nauto/bus/schema_types.h"
#include "nauto/runbook/lua_textfsm.h"
#include "nauto/text/textfsm/template_library.h"
#include "private_nautod.h"
#include "shell_repl.h"

namespace nauto::cli {

using nlohmann::json;
using namespace nauto::cli::shell;

namespace {

struct ShellArgs {
  std::vector<std::string> execute;
  std::string history;
  bool no_private = false;
};

// The template directory nautod's runbooks use, so textfsm parsing in the shell matches runs.
std::string textfsm_templates(const std::string& config) {
  try {
    auto root = YAML::LoadFile(config);
    auto templates = root["modules"]["runbooks"]["textfsm_templates"];
    if (templates && templates.IsScalar()) return templates.as<std::string>();
  } catch (const YAML::Exception&) {
    // No config, or a broken one (nautod reports it): no templates here.
  }
  return "";
}

std::string default_history() {
  if (const char* file = std::getenv("NAUTO_HISTORY")) return file;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.nauto_history";
  return "";
}

CompletionData platform_commands(ShellBus& bus,
                                 const std::shared_ptr<textfsm::TemplateLibrary>& templates) {
  CompletionData data;
  auto platforms = bus.call(bus::schema::DevicePlatformsRequest::kTopic, json::object(), 10'000);
  if (!platforms) return data;
  for (const auto& platform : (*platforms)["platforms"]) {
    const auto name = platform.value("name", "");
    auto& commands = data.platform_commands[name];
    const json listed = platform.value("commands", json::array());
    for (const auto& command : listed)
      commands.push_back(command.get<std::string>());
    if (!templates) continue;
    for (auto& command : templates->index().commands(name)) {
      if (std::find(commands.begin(), commands.end(), command) == commands.end())
        commands.push_back(std::move(command));
    }
  }
  return data;
}

int run_shell(CliContext& context, const ShellArgs& args) {
  const bool terminal = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  // A closed terminal ends the session like Ctrl-D, so the private nautod is stopped and its
  // directory removed rather than left behind.
  ::signal(SIGHUP, [](int) { g_interrupted = true; });
  zmq::context_t& zmq = context.zmq;
  std::optional<PrivateNautod> private_kernel;
  auto endpoint = context.resolve_endpoint();
  {
    auto probe = context.connect();
    if (!probe || !probe->call(bus::schema::KernelStatusRequest::kTopic, json::object(), 1'000)) {
      if (args.no_private) {
        return report(fail(Errc::Unavailable, "no nautod answers at " + endpoint +
                                                  " (start it, or drop --no-private)"));
      }
      auto started = PrivateNautod::start(context.config, 20'000);
      if (!started) return report(started.error());
      private_kernel.emplace(std::move(*started));
      endpoint = private_kernel->endpoint();
      std::fprintf(stderr,
                   "nauto shell: no nautod at %s; started a private one for this session "
                   "(pid %d, log %s)\n",
                   context.resolve_endpoint().c_str(), private_kernel->pid(),
                   private_kernel->log_file().c_str());
    }
  }
  auto bus = ShellBus::connect(zmq, endpoint, "shell." + std::to_string(::getpid()));
  if (!bus) return report(bus.error());

  std::shared_ptr<textfsm::TemplateLibrary> templates;
  if (const auto directory = textfsm_templates(context.config); !directory.empty()) {
    auto library = textfsm::TemplateLibrary::open(directory);
    if (library) {
      templates = *library;
      runbook::set_textfsm_templates(templates);
    } else {
      std::fprintf(stderr, "nauto shell: textfsm templates: %s\n",
                   library.error().describe().c_str());
    }
  }

  const bool color = terminal && !std::getenv("NO_COLOR");
  SessionOptions options;
  options.id = "shell-" + std::to_string(::getpid());
  options.user = user_name();
  auto session = ShellSession::create(
      **bus, options, g_interrupted,
      [](const std::string& level, const std::string& message) {
        if (level == "info") {
          std::cout << message << "\n";
        } else {
          std::cout << level << ": " << message << "\n";
        }
        std::cout.flush();
      },
      [terminal, color, user = options.user](const json& request) -> Result<json> {
        if (!terminal) {
          return fail(Errc::Rejected,
                      "an approval was asked for, but nobody is at a terminal to give it; run "
                      "this as a runbook (nauto run) to use nautod's approvals");
        }
        return ask_approval(request, user, color);
      });
  if (!session) return report(session.error());

  ReplOptions repl_options;
  repl_options.user = options.user;
  repl_options.holder = options.id;
  repl_options.color = color;
  // A page is the terminal's height, less the prompt and the pager's own line.
  if (winsize size{};
      terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 12)
    repl_options.page_lines = size.ws_row - 3u;
  repl_options.history_file = args.history.empty() ? default_history() : args.history;
  ShellRepl repl(**bus, **session, platform_commands(**bus, templates), repl_options);
  repl.refresh_devices();

  int status = 0;
  if (!args.execute.empty()) {
    for (const auto& code : args.execute)
      status = std::max(status, repl.script(code));
  } else if (!terminal) {
    auto script = read_input("-");
    if (!script) return report(script.error());
    status = repl.script(*script);
  } else {
    status = repl.interactive();
  }
  repl.release_sessions();
  return status;
}

}  // namespace

void add_shell_command(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<ShellArgs>();
  auto* shell = app.add_subcommand(
      "shell",
      "interactive Lua with live device sessions (the runbook API); -e or stdin runs a "
      "script");
  shell->add_option("-e,--execute", args->execute,
                    "run this Lua (or one :meta-command) and exit; repeatable");
  shell->add_option("--history", args->history,
                    "history file (default $NAUTO_HISTORY, else ~/.nauto_history)");
  shell->add_flag("--no-private", args->no_private,
                  "fail when no nautod runs instead of starting a private one");
  shell->callback([&context, args] { context.exit_code = run_shell(context, *args); });
}

}  // namespace nauto::cli
