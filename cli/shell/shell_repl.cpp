#include "shell_repl.h"

#include "nauto/bus/schema_types.h"

// clang-format off
#include <cstdio>
#include <editline/readline.h>
// clang-format on
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "../cli_context.h"
#include "../output.h"
#include "nauto/text/regex.h"

namespace nauto::cli::shell {

using nlohmann::json;

namespace {

constexpr const char* kPrompt = "nauto> ";
constexpr const char* kContinue = "  ...> ";
using ansi::kRed;
using ansi::kReset;
// A session :connect keeps open closes after this long without use (a shell that died).
constexpr double kConnectIdleSeconds = 900;

// libedit's callbacks are plain functions; the one REPL of the process answers them.
const ShellRepl* g_repl = nullptr;
std::vector<std::string> g_matches;

char* next_match(const char*, int state) {
  static std::size_t next = 0;
  if (state == 0) next = 0;
  if (next >= g_matches.size()) return nullptr;
  return ::strdup(g_matches[next++].c_str());
}

char** attempt_completion(const char* text, int, int end) {
  rl_attempted_completion_over = 1;
  if (!g_repl) return nullptr;
  const std::string line(rl_line_buffer, static_cast<std::size_t>(std::max(end, 0)));
  auto completion = g_repl->complete(line);
  if (completion.candidates.empty()) return nullptr;
  g_matches = std::move(completion.candidates);
  rl_completion_append_character = completion.append;
  return rl_completion_matches(text, next_match);
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::pair<std::string, std::string> split_first(const std::string& text) {
  const auto space = text.find_first_of(" \t");
  if (space == std::string::npos) return {text, ""};
  return {text.substr(0, space), trimmed(text.substr(space + 1))};
}

bool lua_identifier(const std::string& name) {
  static const auto identifier =
      text::Regex::literal(R"([A-Za-z_][A-Za-z0-9_]*)", text::Regex::Anchor::Whole);
  return text::matches(identifier, name);
}

}  // namespace

ShellRepl::ShellRepl(ShellBus& bus, ShellSession& session, CompletionData data, ReplOptions options)
    : bus_(bus),
      session_(session),
      data_(std::move(data)),
      options_(std::move(options)),
      completer_(data_,
                 Completer::Lookup{
                     [&session](const std::string& path) { return session.field_names(path); },
                     [&session](const std::string& global) { return session.device_of(global); }}),
      pager_(options_.page_lines) {}

Completion ShellRepl::complete(const std::string& line_to_cursor) const {
  return completer_.complete(line_to_cursor);
}

void ShellRepl::error(const std::string& message) const {
  failed_ = true;
  std::fflush(stdout);
  if (options_.color) {
    std::fprintf(stderr, "%serror:%s %s\n", kRed, kReset, message.c_str());
  } else {
    std::fprintf(stderr, "error: %s\n", message.c_str());
  }
  std::fflush(stderr);
}

bool ShellRepl::show(const json& outcome, bool paged) {
  if (!outcome.value("ok", false)) {
    error(outcome.value("error", "failed"));
    return false;
  }
  std::string text;
  const json values = outcome.value("values", json::array());
  for (const auto& value : values) {
    if (!text.empty()) text += "\n";
    text += render_value(value, PrintStyle{options_.color});
  }
  if (text.empty()) return true;
  if (paged) {
    std::cout << pager_.first_page(text);
  } else {
    std::cout << text << "\n";
  }
  std::cout.flush();
  return true;
}

void ShellRepl::print_help() const {
  std::cout << R"(Lua with the runbook API, against live devices:
  r1 = device("r1")                     a device handle (Tab completes names)
  r1:run("show ip bgp summary")         a command's output (Tab completes commands)
  r1:run("show ip int brief", {parse = "textfsm"})   parsed records, shown as a table
  r1:config()  r1:facts()  r1:diff(text)  r1:push(lines, {dry_run = true})
  inventory.select("site=dc1 and role=leaf")          devices by selector
  parallel(list, function(d) return d:run("show clock") end)
  textfsm.parse(template, text)  re.match(pattern, text)  json.encode(v)
  store.get(key)  store.put(key, value)  wait(seconds)  call(runbook, params)
Globals persist between entries (locals last one entry). Unfinished input continues on
the next line; Ctrl-C stops what is running, Ctrl-D or :quit leaves.
Meta-commands:
  :devices [selector]   list devices (all by default)
  :connect NAME         NAME = device("NAME"), and log in to check it (shows its facts)
  :run FILE [k=v ...]   run a runbook file here, with parameters
  :save NAME            this session's successful entries as runbook NAME.lua (:save! replaces)
  :timing on|off        show how long each entry took
  :more                 the next page of long output
  :help  :quit
)";
  std::cout.flush();
}

void ShellRepl::refresh_devices() {
  auto reply =
      bus_.call(bus::schema::InventorySelectRequest::kTopic, json{{"selector", "all"}}, 30'000);
  if (!reply) return;
  data_.device_platform.clear();
  data_.selector_values.clear();
  for (const auto& host : (*reply)["hosts"]) {
    const auto name = host.value("name", "");
    data_.device_platform[name] = host.value("platform", "");
    data_.selector_values["name"].insert(name);
    for (const char* key : {"platform", "transport"}) {
      if (host.contains(key) && host[key].is_string())
        data_.selector_values[key].insert(host[key].get<std::string>());
    }
    for (const auto& [field, key] : {std::pair{"tags", "tag"}, std::pair{"groups", "group"}}) {
      const json members = host.value(field, json::array());
      for (const auto& item : members)
        if (item.is_string()) data_.selector_values[key].insert(item.get<std::string>());
    }
    const json vars = host.value("vars", json::object());
    for (const auto& [key, value] : vars.items()) {
      if (value.is_string()) data_.selector_values[key].insert(value.get<std::string>());
      if (value.is_number()) data_.selector_values[key].insert(value.dump());
    }
  }
}

void ShellRepl::devices(const std::string& selector) {
  auto reply = bus_.call(bus::schema::InventorySelectRequest::kTopic,
                         json{{"selector", selector.empty() ? "all" : selector}}, 30'000);
  if (!reply) return error(reply.error().describe());
  Table table{{"NAME", "PLATFORM", "HOST", "PORT"}, {}};
  std::vector<std::string> variables;
  for (const auto& host : (*reply)["hosts"]) {
    const json vars = host.value("vars", json::object());
    for (const auto& [key, value] : vars.items()) {
      if (std::find(variables.begin(), variables.end(), key) == variables.end())
        variables.push_back(key);
    }
  }
  for (const auto& key : variables) {
    std::string upper = key;
    for (auto& c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    table.header.push_back(upper);
  }
  for (const auto& host : (*reply)["hosts"]) {
    std::vector<std::string> row = {host.value("name", ""), host.value("platform", ""),
                                    host.value("host", ""),
                                    host.contains("port") ? cell(host["port"]) : ""};
    const auto vars = host.value("vars", json::object());
    for (const auto& key : variables)
      row.push_back(vars.contains(key) ? cell(vars[key]) : "");
    table.rows.push_back(std::move(row));
  }
  std::cout << table.render() << "(" << table.rows.size() << " devices)\n";
  std::cout.flush();
  if (selector.empty() || selector == "all") refresh_devices();
}

void ShellRepl::connect(const std::string& name) {
  if (name.empty()) return error(":connect NAME: which device? (:devices lists them)");
  if (!data_.device_platform.empty() && !data_.device_platform.count(name)) {
    return error(":connect " + name + ": no such device in the inventory (:devices lists them)");
  }
  auto held = bus_.call(
      bus::schema::DeviceSessionOpenRequest::kTopic,
      json{{"device", name}, {"holder", options_.holder}, {"idle_timeout", kConnectIdleSeconds}},
      10'000);
  if (!held) return error(held.error().describe());
  held_sessions_ = true;
  const std::string variable = lua_identifier(name) ? name : "d";
  const std::string bind = variable + " = device(\"" + name + "\")";
  auto bound = session_.evaluate(bind);
  if (!show(bound, false)) return;
  recorder_.record(bind, false);
  std::cout << variable << " = device(\"" << name << "\"); logging in...\n";
  std::cout.flush();
  auto facts = session_.evaluate(variable + ":facts()");
  if (show(facts, false)) {
    std::cout << "connected to " << name << " as `" << variable
              << "`; the session stays open until :quit\n";
  }
}

void ShellRepl::release_sessions() {
  if (!held_sessions_) return;
  held_sessions_ = false;
  (void)bus_.call(bus::schema::DeviceSessionCloseRequest::kTopic, json{{"holder", options_.holder}},
                  5'000);
}

void ShellRepl::run_file(const std::string& arguments) {
  std::istringstream words(arguments);
  std::string file, word;
  words >> file;
  if (file.empty()) return error(":run FILE [name=value ...]: which runbook file?");
  std::vector<std::string> params;
  while (words >> word)
    params.push_back(word);
  auto text = read_input(file);
  if (!text) return error(text.error().describe());
  const auto started = std::chrono::steady_clock::now();
  auto outcome = session_.run_runbook(file, *text, params);
  if (show(outcome, true)) std::cout << "runbook " << file << " succeeded\n";
  if (timing_) print_took(std::chrono::steady_clock::now() - started);
}

// Milliseconds to a tenth below a second (a device call on a kept session takes a few), else
// seconds to the millisecond.
void ShellRepl::print_took(std::chrono::steady_clock::duration took) {
  const std::chrono::duration<double, std::milli> ms = took;
  if (ms.count() < 1000)
    std::printf("(%.1f ms)\n", ms.count());
  else
    std::printf("(%.3f s)\n", ms.count() / 1000);
}

void ShellRepl::save(const std::string& name, bool overwrite) {
  if (name.empty()) return error(":save NAME: the runbook's name (it is written to NAME.lua)");
  auto saved = recorder_.save(name, options_.user, overwrite);
  if (!saved) return error(saved.error().describe());
  std::cout << "saved " << recorder_.size() << " entries as runbook " << *saved << " (nauto run "
            << *saved << ")\n";
}

bool ShellRepl::meta(const std::string& line) {
  auto [command, argument] = split_first(line.substr(1));
  if (command == "quit" || command == "q" || command == "exit") return false;
  if (command == "help" || command == "h" || command == "?") {
    print_help();
  } else if (command == "devices") {
    devices(argument);
  } else if (command == "connect") {
    connect(argument);
  } else if (command == "run") {
    run_file(argument);
  } else if (command == "save" || command == "save!") {
    save(argument, command == "save!");
  } else if (command == "more") {
    std::cout << pager_.next_page();
  } else if (command == "timing") {
    if (argument == "on" || argument == "off") {
      timing_ = argument == "on";
    } else if (!argument.empty()) {
      error(":timing on|off, not '" + argument + "'");
    }
    std::cout << "timing is " << (timing_ ? "on" : "off") << "\n";
  } else {
    error("unknown meta-command :" + command + " (:help lists them)");
  }
  std::cout.flush();
  return true;
}

bool ShellRepl::handle(const std::string& entry) {
  const auto text = trimmed(entry);
  if (text.empty()) return true;
  if (text[0] == ':') return meta(text);
  const auto started = std::chrono::steady_clock::now();
  auto outcome = session_.evaluate(entry);
  const auto took = std::chrono::steady_clock::now() - started;
  if (show(outcome, true)) recorder_.record(entry, reader_.expression(entry));
  if (timing_) print_took(took);
  std::fflush(stdout);
  return true;
}

int ShellRepl::interactive() {
  g_repl = this;
  rl_readline_name = const_cast<char*>("nauto");
  rl_attempted_completion_function = attempt_completion;
  // libedit reads the basic set; GNU readline the completer set: give both the same.
  rl_completer_word_break_characters = const_cast<char*>(kWordBreaks);
  rl_basic_word_break_characters = const_cast<char*>(kWordBreaks);
  using_history();
  stifle_history(2000);
  if (!options_.history_file.empty()) read_history(options_.history_file.c_str());
  std::cout << "nauto shell — Lua with live devices; :help for help, Ctrl-D or :quit to leave\n";
  std::cout.flush();
  for (;;) {
    g_interrupted = false;
    char* raw = readline(reader_.continuing() ? kContinue : kPrompt);
    if (!raw) {
      if (g_interrupted.exchange(false)) {  // Ctrl-C at the prompt: drop the line, go on
        reader_.discard();
        std::cout << "\n";
        continue;
      }
      std::cout << "\n";
      break;  // Ctrl-D
    }
    std::string line(raw);
    std::free(raw);
    const bool meta_line =
        !reader_.continuing() && !trimmed(line).empty() && trimmed(line)[0] == ':';
    if (!meta_line && !reader_.add_line(line)) continue;  // unfinished: ask for more
    const auto entry = meta_line ? line : reader_.take();
    if (!trimmed(entry).empty()) {
      add_history(entry.c_str());
      if (!options_.history_file.empty()) write_history(options_.history_file.c_str());
    }
    if (!handle(entry)) break;
  }
  g_repl = nullptr;
  return 0;
}

int ShellRepl::script(const std::string& script) {
  const auto text = trimmed(script);
  if (!text.empty() && text[0] == ':' && text.find('\n') == std::string::npos) {
    failed_ = false;
    meta(text);
    return failed_ ? 1 : 0;
  }
  return show(session_.evaluate(script), false) ? 0 : 1;
}

Result<json> ask_approval(const json& request, const std::string& user, bool color) {
  std::cout << "approval asked: " << request.value("message", "") << "\n";
  if (request.contains("diff") && request["diff"].is_string()) {
    const auto diff = request["diff"].get<std::string>();
    std::cout << (color ? color_diff(diff) : diff);
    if (!diff.empty() && diff.back() != '\n') std::cout << "\n";
  }
  std::cout.flush();
  char* answer = readline("approve? [y/N] ");
  const std::string text = answer ? trimmed(answer) : "";
  std::free(answer);
  if (text == "y" || text == "Y" || text == "yes") {
    return json{{"approved", true}, {"by", user}, {"comment", "approved in nauto shell"}};
  }
  return fail(Errc::Rejected, "not approved (answered '" + text + "' in the shell)");
}

}  // namespace nauto::cli::shell
