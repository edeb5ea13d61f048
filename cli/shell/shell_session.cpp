#include "shell_session.h"

#include <filesystem>
#include <limits>
#include <lua.hpp>

#include "nauto/bus/schema_types.h"
#include "nauto/runbook/outbound_effects.h"
#include "nauto/runbook/params.h"
#include "nauto/runbook/run_engine.h"
#include "nauto/runbook/runbook_loader.h"
#include "nauto/runbook/yaml_compiler.h"
#include "shell_loop.h"

namespace nauto::cli::shell {

using nlohmann::json;
using runbook::Run;
using runbook::RunState;

namespace {
constexpr std::int64_t kFollowEveryMs = 250;
// The outbound module answers within its own timeouts and retries; this only bounds the wait
// should it not answer at all.
constexpr std::int64_t kOutboundTimeoutMs = 30 * 60'000;
constexpr const char* kInterrupted = "interrupted (Ctrl-C)";

json failed(const std::string& error) {
  return json{{"ok", false}, {"error", error}};
}

json value_type(const json& value) {
  if (value.is_null()) return "nil";
  if (value.is_boolean()) return "boolean";
  if (value.is_number()) return "number";
  if (value.is_string()) return "string";
  return "table";
}
}  // namespace

ShellSession::ShellSession(ShellBus& bus, SessionOptions options, std::atomic<bool>& interrupt,
                           LogSink log, ApprovalPrompt approve)
    : bus_(bus),
      options_(std::move(options)),
      interrupt_(interrupt),
      log_(std::move(log)),
      approve_(std::move(approve)) {}

ShellSession::~ShellSession() = default;

Result<std::unique_ptr<ShellSession>> ShellSession::create(ShellBus& bus, SessionOptions options,
                                                           std::atomic<bool>& interrupt,
                                                           LogSink log, ApprovalPrompt approve) {
  std::unique_ptr<ShellSession> session(
      new ShellSession(bus, std::move(options), interrupt, std::move(log), std::move(approve)));
  // The site variables YAML runbooks read, as nautod's runs see them; none when the runbooks
  // module does not answer (a viewer may not ask, an older nautod does not serve it).
  if (auto vars = bus.call(bus::schema::RunbookVarsRequest::kTopic, json::object(), 5'000);
      vars && (*vars)["vars"].is_object())
    session->vars_ = (*vars)["vars"];
  if (auto opened = session->open_session(); !opened) return std::move(opened).error();
  return session;
}

runbook::RunSpec ShellSession::spec_for(std::string id, std::string name,
                                        std::string source) const {
  runbook::RunSpec spec;
  spec.id = std::move(id);
  spec.runbook = name;
  spec.chunk_name = name;
  spec.source = std::move(source);
  spec.context = json{
      {"id", spec.id}, {"runbook", name}, {"dry_run", false}, {"shell", true}, {"vars", vars_}};
  // A person is at the keyboard with Ctrl-C: no instruction budget or deadline, only memory.
  spec.limits.max_memory_bytes = options_.max_memory_bytes;
  spec.limits.instruction_budget = std::numeric_limits<std::uint64_t>::max();
  spec.limits.deadline_steady_us = 0;
  return spec;
}

Result<void> ShellSession::open_session() {
  if (session_) live_.erase(session_->id());
  session_.reset();
  input_key_.reset();
  auto spec = spec_for(options_.id + "/" + std::to_string(++generation_), "shell", kShellLoop);
  spec.interactive = true;
  auto run = Run::create(std::move(spec), {}, *this);
  if (!run) return std::move(run).error();
  session_ = std::move(*run);
  session_->sandbox().set_interrupt_flag(&interrupt_);
  live_[session_->id()] = session_.get();
  session_->start();
  if (!input_key_)
    return fail(Errc::Bug, "the shell loop did not ask for input: " + session_->error());
  return ok();
}

json ShellSession::evaluate(const std::string& chunk) {
  if (!session_ || session_->state() != RunState::Running || !input_key_) {
    if (auto opened = open_session(); !opened) return failed(opened.error().describe());
  }
  const auto key = *input_key_;
  input_key_.reset();
  outcome_ = json();
  session_->complete(key, json(chunk));
  drive_until([&] { return input_key_.has_value() || session_->state() != RunState::Running; });
  if (input_key_) return outcome_.is_object() ? outcome_ : failed("no outcome");
  const auto reason = session_->error();
  auto opened = open_session();
  return failed(reason + (opened ? "; the Lua session was reset (globals are gone)"
                                 : "; no new session: " + opened.error().describe()));
}

json ShellSession::run_runbook(const std::string& file_name, const std::string& text,
                               const std::vector<std::string>& params) {
  namespace fs = std::filesystem;
  const auto extension = fs::path(file_name).extension().string();
  std::string source = text;
  if (extension == ".yaml" || extension == ".yml") {
    auto compiled = runbook::compile_yaml_runbook(text, file_name);
    if (!compiled) return failed(compiled.error().describe());
    source = std::move(*compiled);
  }
  auto description = runbook::describe_runbook(source, file_name);
  if (!description) return failed(description.error().describe());
  json given = json::object();
  for (const auto& p : params) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) return failed(p + ": expected name=value");
    given[p.substr(0, eq)] = p.substr(eq + 1);
  }
  const auto name =
      description->name.empty() ? fs::path(file_name).stem().string() : description->name;
  auto bound = runbook::bind_params(description->params, given, name);
  if (!bound) return failed(bound.error().describe());
  auto spec = spec_for(options_.id + "/run" + std::to_string(++runbooks_started_), name, source);
  spec.chunk_name = fs::path(file_name).filename().string();
  spec.params = std::move(*bound);
  auto created = Run::create(std::move(spec), {}, *this);
  if (!created) return failed(created.error().describe());
  auto run = std::move(*created);
  run->sandbox().set_interrupt_flag(&interrupt_);
  live_[run->id()] = run.get();
  run->start();
  drive_until([&] { return run->state() != RunState::Running; });
  live_.erase(run->id());
  if (run->state() != RunState::Succeeded) {
    return failed("runbook " + name + " " + std::string(runbook::run_state_name(run->state())) +
                  ": " + run->error());
  }
  return json{
      {"ok", true},
      {"values", json::array({{{"type", value_type(run->result())}, {"value", run->result()}}})}};
}

void ShellSession::drive_until(const std::function<bool()>& done) {
  while (!done()) {
    if (interrupt_.exchange(false)) {
      // Device work in nautod stops too: every call of this shell carries its id as `run`.
      bus_.request(bus::schema::DeviceCancelRequest::kTopic, json{{"run", options_.id}}, 2'000,
                   [](Result<json>) {});
      for (auto& [id, run] : live_)
        run->interrupt_waiting(kInterrupted);
      continue;
    }
    bus_.drive(100);
  }
}

void ShellSession::complete(const std::string& run_id, const std::string& key,
                            Result<json> result) {
  const auto it = live_.find(run_id);
  if (it == live_.end()) return;  // that run ended (or the session was reset) meanwhile
  it->second->complete(key, std::move(result));
}

void ShellSession::issue(Run& run, const runbook::Effect& effect) {
  const auto id = run.id();
  const auto& key = effect.key;
  const auto& args = effect.args;
  auto answer = [this, id, key](Result<json> result) { complete(id, key, std::move(result)); };
  if (effect.kind == "input") {
    input_key_ = key;
    outcome_ = args;
    return;
  }
  if (effect.kind == "device") {
    json body = args;
    body["started_by"] = "shell " + options_.user;
    body["run"] = options_.id;
    return bus_.request(bus::schema::DeviceCallRequest::kTopic, body,
                        options_.device_timeout_ms + 5'000, answer);
  }
  if (effect.kind == "select") {
    return bus_.request(bus::schema::InventorySelectRequest::kTopic,
                        json{{"selector", args.value("selector", "")}}, options_.lookup_timeout_ms,
                        [answer](Result<json> reply) {
                          if (reply) reply = json((*reply)["hosts"]);
                          answer(std::move(reply));
                        });
  }
  if (effect.kind == "wait") {
    const auto ms = static_cast<std::int64_t>(args.value("seconds", 0.0) * 1000);
    bus_.after(ms, [answer] { answer(json()); });
    return;
  }
  if (effect.kind == "approval") return answer(approve_(args));
  if (effect.kind == "emit") {
    const auto topic = args.value("topic", "");
    if (runbook::reserved_topic(topic)) {
      return answer(fail(Errc::InvalidArgument,
                         "emit: topic '" + topic +
                             "' is reserved (kernel., bus., run., job., audit.); use your own"));
    }
    bus_.publish(topic, json{{"run", id},
                             {"runbook", run.spec().runbook},
                             {"body", args.contains("body") ? args["body"] : json()}});
    return answer(json());
  }
  if (effect.kind == "state_get" || effect.kind == "state_put") {
    json body = {{"runbook", run.spec().runbook}, {"key", args.value("key", "")}};
    if (effect.kind == "state_put") body["value"] = args.contains("value") ? args["value"] : json();
    return bus_.request("runbook." + effect.kind, body, options_.lookup_timeout_ms,
                        [answer](Result<json> reply) {
                          if (reply) reply = json((*reply).value("value", json()));
                          answer(std::move(reply));
                        });
  }
  if (effect.kind == "call") return issue_call(id, key, args);
  // HTTP, notifications and AI as nautod's runs make them (nauto/runbook/outbound_effects.h),
  // as this user: the router checks the user's roles. Shell runs are not journaled, so there
  // is nothing to replay.
  if (effect.kind == "http") {
    return bus_.request(bus::schema::HttpRequestRequest::kTopic, runbook::http_request_body(args),
                        kOutboundTimeoutMs, [answer](Result<json> reply) {
                          if (reply) reply = runbook::http_result(std::move(*reply));
                          answer(std::move(reply));
                        });
  }
  if (effect.kind == "notify") {
    json body = args;
    body["source"] = "shell " + options_.user;
    return bus_.request(bus::schema::NotifySendRequest::kTopic, body, kOutboundTimeoutMs, answer);
  }
  if (effect.kind == "ai") {
    return bus_.request(bus::schema::RunbookAiAnalyzeRequest::kTopic, args, kOutboundTimeoutMs,
                        answer);
  }
  answer(fail(Errc::Bug, "unknown effect kind " + effect.kind));
}

void ShellSession::issue_call(const std::string& run_id, const std::string& key, const json& args) {
  json body = {{"runbook", args.value("runbook", "")},
               {"params", args.value("params", json::object())},
               {"started_by", "shell " + options_.user}};
  bus_.request(bus::schema::RunStartRequest::kTopic, body, options_.lookup_timeout_ms,
               [this, run_id, key](Result<json> started) {
                 if (!started) return complete(run_id, key, std::move(started).error());
                 follow_child(run_id, key, (*started).value("id", ""));
               });
}

// The child runs in nautod; its record says when it ended and how.
void ShellSession::follow_child(const std::string& run_id, const std::string& key,
                                const std::string& child) {
  bus_.request(bus::schema::RunStatusRequest::kTopic, json{{"id", child}},
               options_.lookup_timeout_ms, [this, run_id, key, child](Result<json> status) {
                 if (!status) return complete(run_id, key, std::move(status).error());
                 const auto state = status->value("state", "");
                 if (state == "running") {
                   if (!live_.count(run_id)) return;
                   bus_.after(kFollowEveryMs,
                              [this, run_id, key, child] { follow_child(run_id, key, child); });
                   return;
                 }
                 if (state == "succeeded")
                   return complete(run_id, key, status->value("result", json()));
                 complete(run_id, key,
                          fail(Errc::Rejected, "runbook '" + status->value("runbook", "") + "' " +
                                                   state + ": " + status->value("error", "")));
               });
}

void ShellSession::note(Run&, const std::string&, const json& record) {
  if (record.value("type", "") != "log") return;  // steps matter to a run's record, not here
  log_(record.value("level", "info"), record.value("message", ""));
}

void ShellSession::finished(Run&) {}

namespace {

// Pushes the value at a dotted global path (or nil); raw reads only, so no Lua code runs.
void push_path(lua_State* L, const std::string& path) {
  lua_pushglobaltable(L);
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    const auto part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lua_pushlstring(L, part.data(), part.size());
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (dot == std::string::npos) return;
    start = dot + 1;
  }
}

void string_keys(lua_State* L, int index, std::vector<std::string>& out) {
  index = lua_absindex(L, index);
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      std::string key = lua_tostring(L, -1);
      if (key.rfind("__", 0) != 0) out.push_back(std::move(key));
    }
  }
}

}  // namespace

std::vector<std::string> ShellSession::field_names(const std::string& path) {
  std::vector<std::string> names;
  // A state at its memory cap could fail even these small pushes, outside any pcall.
  if (!session_ || !session_->sandbox().tripped().empty()) return names;
  lua_State* L = session_->sandbox().state();
  const int top = lua_gettop(L);
  if (path.empty()) {
    lua_pushglobaltable(L);
  } else {
    push_path(L, path);
  }
  if (lua_istable(L, -1)) {
    string_keys(L, -1, names);
    // Methods of an object live in its metatable's __index (a device handle's run, config...).
    if (lua_getmetatable(L, -1)) {
      lua_pushliteral(L, "__index");
      lua_rawget(L, -2);
      if (lua_istable(L, -1)) string_keys(L, -1, names);
    }
  }
  lua_settop(L, top);
  return names;
}

std::optional<std::string> ShellSession::device_of(const std::string& global) {
  if (!session_ || !session_->sandbox().tripped().empty()) return std::nullopt;
  lua_State* L = session_->sandbox().state();
  const int top = lua_gettop(L);
  std::optional<std::string> name;
  push_path(L, global);
  if (lua_istable(L, -1) && lua_getmetatable(L, -1)) {
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    bool device_like = false;
    if (lua_istable(L, -1)) {
      lua_pushliteral(L, "run");
      lua_rawget(L, -2);
      device_like = lua_isfunction(L, -1);
    }
    lua_settop(L, top + 1);
    lua_pushliteral(L, "name");
    lua_rawget(L, -2);
    if (device_like && lua_type(L, -1) == LUA_TSTRING) name = lua_tostring(L, -1);
  }
  lua_settop(L, top);
  return name;
}

}  // namespace nauto::cli::shell
