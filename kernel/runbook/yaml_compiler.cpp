#include "nauto/runbook/yaml_compiler.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "yaml_expressions.h"

namespace nauto::runbook {

namespace {

// ---------------------------------------------------------------- the compiler

class Writer {
 public:
  /// Moves to `line` (1-based) unless the text is already past it.
  void at(int line) {
    while (line_ < line) {
      text_ += '\n';
      ++line_;
    }
  }
  void put(std::string_view code) {
    text_ += code;
    text_ += ' ';
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
  int line_ = 1;
};

const std::map<std::string, std::set<std::string>> kStepKeys = {
    {"command", {"device", "command", "commands", "parse"}},
    {"config", {"device", "lines", "dry_run", "replace", "save", "commit_confirm"}},
    {"runbook", {"runbook", "params"}},
    {"wait", {"seconds"}},
    {"approval", {"message", "approvers", "timeout"}},
    {"emit", {"topic", "body"}},
    {"assert", {"that", "message"}},
    {"set", {"vars"}},
    {"log", {"message", "level"}},
    {"webhook",
     {"url", "method", "payload", "body", "headers", "timeout", "expect_status", "retry_unsafe",
      "ca_file", "sign"}},
    {"http",
     {"url", "method", "payload", "body", "headers", "timeout", "expect_status", "retry_unsafe",
      "ca_file", "sign"}},
    {"notify", {"channel", "text", "title", "severity"}},
    {"ai_analyze", {"prompt", "max_tokens", "system", "optional"}},
};
// Steps whose `retry:` is the request's own (retries that never repeat a change), not a
// wrapper that would run the step again.
bool retries_itself(const std::string& type) {
  return type == "webhook" || type == "http";
}
const std::set<std::string> kCommonKeys = {"name",       "type",        "condition",  "when",
                                           "loop",       "foreach",     "parallel",   "retry",
                                           "on_failure", "save_output", "description"};

class Compiler {
 public:
  Compiler(std::string file) : file_(std::move(file)) {}

  Result<std::string> compile(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return fail(Errc::InvalidArgument, file_ + ":" + std::to_string(e.mark.line + 1) + ": " +
                                             e.msg + " (is the indentation consistent?)");
    }
    if (!root.IsMap()) {
      return fail(Errc::InvalidArgument,
                  file_ + ": a YAML runbook is a mapping with name, params and steps");
    }
    for (const auto& entry : root) {
      const auto key = entry.first.as<std::string>();
      if (key != "name" && key != "description" && key != "params" && key != "parameters" &&
          key != "steps" && key != "rollback" && key != "version" && key != "author") {
        problem(entry.first, key,
                "unknown key (name, description, params, steps, rollback, version, author)");
      }
    }
    const auto params = root["params"] ? root["params"] : root["parameters"];
    if (params && !params.IsSequence() && !params.IsMap()) {
      problem(params, "params", "expected a list of {name, type, required, default}");
    }
    if (params) {
      for (const auto& p : params) {
        const auto& spec = params.IsSequence() ? p : p.second;
        const auto name = params.IsSequence() ? (p.IsMap() && p["name"] ? p["name"].Scalar() : "")
                                              : (p.first.IsScalar() ? p.first.Scalar() : "");
        declared_.insert(name);
        if (spec.IsMap() && spec["type"] && spec["type"].IsScalar() &&
            spec["type"].Scalar() == "device")
          device_params_.push_back(name);
      }
    }
    std::set<std::string> known = declared_;
    known.insert({"item", "index", "error"});
    collect_written(root["steps"], known);
    collect_written(root["rollback"], known);
    std::string header = expression_helpers(known);
    header += "local rollback_steps = nil ";
    header += "local RB = { name = " + text_of(root["name"]) +
              ", description = " + text_of(root["description"]) +
              ", version = " + text_of(root["version"]) + ", author = " + text_of(root["author"]) +
              ", params = " + (params ? literal(params) : "nil") + " } ";
    header += "RB.run = function(params) local V = setmetatable({}, { __index = params }) ";
    writer_.put(header);
    const auto steps = root["steps"];
    if (!steps || !steps.IsSequence() || steps.size() == 0) {
      problem(steps ? steps : root, "steps", "a runbook needs a list of steps");
    } else {
      compile_steps(steps, "steps");
    }
    writer_.put("return Y.saved(V) end ");
    if (const auto rollback = root["rollback"]) {
      if (!rollback.IsSequence()) {
        problem(rollback, "rollback", "expected a list of steps");
      } else {
        writer_.at(line_of(rollback));
        writer_.put("rollback_steps = function(V) ");
        compile_steps(rollback, "rollback");
        writer_.put("end ");
      }
    }
    writer_.put("return runbook(RB)\n");
    if (!problems_.empty()) {
      std::string message;
      for (const auto& p : problems_)
        message += (message.empty() ? "" : "\n") + p;
      return fail(Errc::InvalidArgument, message);
    }
    return writer_.take();
  }

 private:
  static int line_of(const YAML::Node& node) { return node.Mark().line + 1; }
  std::string where(const YAML::Node& node) const {
    return file_ + ":" + std::to_string(node.Mark().line >= 0 ? line_of(node) : 1);
  }
  static std::string text_of(const YAML::Node& node) {
    return node && node.IsScalar() ? lua_string(node.Scalar()) : "nil";
  }

  // The names steps write (save_output, set's vars), in on_failure lists too: before a step
  // writes one it is nil, not undefined.
  static void collect_written(const YAML::Node& steps, std::set<std::string>& names) {
    if (!steps || !steps.IsSequence()) return;
    for (const auto& step : steps) {
      if (!step.IsMap()) continue;
      if (step["save_output"] && step["save_output"].IsScalar())
        names.insert(step["save_output"].Scalar());
      if (step["vars"] && step["vars"].IsMap()) {
        for (const auto& entry : step["vars"]) {
          if (entry.first.IsScalar()) names.insert(entry.first.Scalar());
        }
      }
      collect_written(step["on_failure"], names);
    }
  }

  void problem(const YAML::Node& node, const std::string& path, const std::string& message) {
    problems_.push_back(file_ + ":" + std::to_string(node.Mark().line >= 0 ? line_of(node) : 1) +
                        ": " + path + ": " + message);
  }

  // A YAML value as a Lua literal (no templates: params declarations).
  std::string literal(const YAML::Node& node) {
    if (node.IsSequence()) {
      std::string out = "{";
      for (const auto& item : node)
        out += literal(item) + ", ";
      return out + "}";
    }
    if (node.IsMap()) {
      std::string out = "{";
      for (const auto& entry : node)
        out += "[" + lua_string(entry.first.Scalar()) + "] = " + literal(entry.second) + ", ";
      return out + "}";
    }
    if (!node.IsScalar()) return "nil";
    return scalar(node);
  }

  static std::string scalar(const YAML::Node& node) {
    const auto& text = node.Scalar();
    if (node.Tag() == "!") return lua_string(text);  // quoted
    if (text == "true" || text == "yes" || text == "True") return "true";
    if (text == "false" || text == "no" || text == "False") return "false";
    if (text == "null" || text == "~" || text.empty()) return "nil";
    char* end = nullptr;
    (void)std::strtod(text.c_str(), &end);
    if (end && *end == '\0' && !text.empty() &&
        (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-'))
      return text;
    return lua_string(text);
  }

  // A YAML value where strings may hold {{ }} templates.
  std::string value(const YAML::Node& node, const std::string& path) {
    if (node.IsSequence()) {
      std::string out = "{";
      for (std::size_t i = 0; i < node.size(); ++i)
        out += value(node[i], path + "[" + std::to_string(i) + "]") + ", ";
      return out + "}";
    }
    if (node.IsMap()) {
      std::string out = "{";
      for (const auto& entry : node) {
        out += "[" + lua_string(entry.first.Scalar()) +
               "] = " + value(entry.second, path + "." + entry.first.Scalar()) + ", ";
      }
      return out + "}";
    }
    if (!node.IsScalar()) return "nil";
    if (node.Scalar().find("{{") == std::string::npos &&
        node.Scalar().find("{%") == std::string::npos)
      return scalar(node);
    auto compiled = compile_template(node.Scalar(), where(node));
    if (!compiled) {
      problem(node, path, compiled.error().message);
      return "nil";
    }
    return *compiled;
  }

  std::string condition(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      problem(node, path, "expected an expression such as \"'Established' in output\"");
      return "true";
    }
    auto compiled = compile_condition(node.Scalar(), where(node));
    if (!compiled) {
      problem(node, path, compiled.error().message);
      return "true";
    }
    return *compiled;
  }

  void compile_steps(const YAML::Node& steps, const std::string& path) {
    for (std::size_t i = 0; i < steps.size(); ++i)
      compile_step(steps[i], path + "[" + std::to_string(i) + "]");
  }

  std::string device_of(const YAML::Node& step, const std::string& path, bool looping) {
    if (step["device"]) return value(step["device"], path + ".device");
    if (looping) return "item";
    // One parameter of type device is the device of every step that names none.
    if (device_params_.size() == 1) return "V[" + lua_string(device_params_.front()) + "]";
    if (device_params_.empty() && declared_.count("device")) return "V[\"device\"]";
    if (device_params_.size() > 1) {
      std::string names;
      for (const auto& n : device_params_)
        names += (names.empty() ? "" : ", ") + n;
      problem(step, path + ".device",
              "which device? the parameters " + names +
                  " are all devices; say which, e.g. device: \"{{ " + device_params_.front() +
                  " }}\"");
      return "nil";
    }
    problem(step, path + ".device",
            "which device? give device: \"{{ some_param }}\", declare a parameter of type "
            "device, or loop over devices (foreach: {select: \"role=leaf\"})");
    return "nil";
  }

  // Lua that performs the step's action once and returns its output.
  std::string action(const YAML::Node& step, const std::string& type, const std::string& path,
                     bool looping) {
    if (type == "command") {
      std::string commands;
      if (step["command"])
        commands = value(step["command"], path + ".command");
      else if (step["commands"])
        commands = value(step["commands"], path + ".commands");
      else
        problem(step, path, "a command step needs command: or commands:");
      std::string options = "nil";
      if (step["parse"]) options = "{ parse = " + value(step["parse"], path + ".parse") + " }";
      return "return device(" + device_of(step, path, looping) + "):run(" + commands + ", " +
             options + ")";
    }
    if (type == "config") {
      if (!step["lines"]) problem(step, path, "a config step needs lines:");
      const auto lines = step["lines"] ? value(step["lines"], path + ".lines") : "''";
      const auto dry = step["dry_run"] ? value(step["dry_run"], path + ".dry_run") : "false";
      const auto replace = step["replace"] ? value(step["replace"], path + ".replace") : "false";
      const auto save = step["save"] ? value(step["save"], path + ".save") : "false";
      const auto confirm =
          step["commit_confirm"] ? value(step["commit_confirm"], path + ".commit_confirm") : "nil";
      return "return device(" + device_of(step, path, looping) + "):push(" + lines +
             ", { dry_run = Y.truthy(" + dry + "), replace = Y.truthy(" + replace +
             "), save = Y.truthy(" + save + "), commit_confirm = " + confirm + " })";
    }
    if (type == "runbook") {
      if (!step["runbook"]) problem(step, path, "a runbook step needs runbook: <name>");
      const auto name = step["runbook"] ? value(step["runbook"], path + ".runbook") : "''";
      const auto params = step["params"] ? value(step["params"], path + ".params") : "{}";
      return "return call(" + name + ", " + params + ")";
    }
    if (type == "wait") {
      if (!step["seconds"]) problem(step, path, "a wait step needs seconds:");
      return "wait(Y.num(" + (step["seconds"] ? value(step["seconds"], path + ".seconds") : "0") +
             ")) return nil";
    }
    if (type == "approval") {
      if (!step["message"]) problem(step, path, "an approval step needs message:");
      return "return approve{ message = " +
             (step["message"] ? value(step["message"], path + ".message") : "''") +
             ", approvers = " +
             (step["approvers"] ? value(step["approvers"], path + ".approvers") : "{}") +
             ", timeout = " +
             (step["timeout"] ? value(step["timeout"], path + ".timeout") : "3600") + " }";
    }
    if (type == "emit") {
      if (!step["topic"]) problem(step, path, "an emit step needs topic:");
      return "emit(" + (step["topic"] ? value(step["topic"], path + ".topic") : "''") + ", " +
             (step["body"] ? value(step["body"], path + ".body") : "nil") + ") return nil";
    }
    if (type == "assert") {
      const auto that = step["that"];
      if (!that) {
        problem(step, path, "an assert step needs that: <expression> (or a list of them)");
        return "return nil";
      }
      std::string code;
      const auto check = [&](const YAML::Node& node, const std::string& at) {
        const auto message = step["message"] ? value(step["message"], path + ".message")
                                             : lua_string("assertion failed: " + node.Scalar());
        code += "if not " + condition(node, at) + " then fail(" + message + ") end ";
      };
      if (that.IsSequence()) {
        for (std::size_t i = 0; i < that.size(); ++i)
          check(that[i], path + ".that[" + std::to_string(i) + "]");
      } else {
        check(that, path + ".that");
      }
      return code + "return true";
    }
    if (type == "set") {
      const auto vars = step["vars"];
      if (!vars || !vars.IsMap()) {
        problem(step, path, "a set step needs vars: {name: value}");
        return "return nil";
      }
      std::string code;
      for (const auto& entry : vars) {
        code += "V[" + lua_string(entry.first.Scalar()) +
                "] = " + value(entry.second, path + ".vars." + entry.first.Scalar()) + " ";
      }
      return code + "return nil";
    }
    if (type == "webhook" || type == "http") {
      if (!step["url"]) problem(step, path, "a " + type + " step needs url:");
      const auto field = [&](const char* key) {
        return step[key] ? value(step[key], path + "." + key) : std::string("nil");
      };
      std::string method = field("method");
      if (method == "nil")
        method = type == "webhook" || step["payload"] || step["body"] ? "\"POST\"" : "\"GET\"";
      std::string retry = "nil";
      if (const auto r = step["retry"]) {
        retry = r.IsMap() ? value(r, path + ".retry") : "{ attempts = " + scalar(r) + " }";
      }
      return "return http{ method = " + method + ", url = " + field("url") +
             ", headers = " + field("headers") + ", json = " + field("payload") +
             ", body = " + field("body") + ", timeout = " + field("timeout") +
             ", retry = " + retry + ", expect_status = " + field("expect_status") +
             ", retry_unsafe = " + field("retry_unsafe") + ", ca_file = " + field("ca_file") +
             ", sign = " + field("sign") + " }";
    }
    if (type == "notify") {
      if (!step["channel"] || !step["text"])
        problem(step, path, "a notify step needs channel: and text:");
      const auto field = [&](const char* key) {
        return step[key] ? value(step[key], path + "." + key) : std::string("nil");
      };
      return "return notify{ channel = Y.str(" + field("channel") + "), text = Y.str(" +
             field("text") + "), title = " + field("title") + ", severity = " + field("severity") +
             " }";
    }
    if (type == "ai_analyze") {
      if (!step["prompt"]) problem(step, path, "an ai_analyze step needs prompt:");
      const auto field = [&](const char* key) {
        return step[key] ? value(step[key], path + "." + key) : std::string("nil");
      };
      // Skipped (optional, no provider): the saved answer is "", so conditions on it read false.
      return "local text_ = ai.analyze{ prompt = Y.str(" + field("prompt") +
             "), max_tokens = " + field("max_tokens") + ", system = " + field("system") +
             ", optional = Y.truthy(" + field("optional") +
             ") } if text_ == nil then log.warn('AI analysis skipped: no AI provider configured "
             "(modules.runbooks.ai)') return '' end return text_";
    }
    if (type == "log") {
      const auto level = step["level"] ? step["level"].Scalar() : "info";
      if (level != "info" && level != "warn" && level != "error")
        problem(step["level"], path + ".level", "info, warn or error");
      return "log." + level + "(Y.str(" +
             (step["message"] ? value(step["message"], path + ".message") : "''") + ")) return nil";
    }
    return "return nil";
  }

  void compile_step(const YAML::Node& step, const std::string& path) {
    if (!step.IsMap()) {
      problem(step, path, "a step is a mapping with name and type");
      return;
    }
    writer_.at(line_of(step));
    const auto type = step["type"] ? step["type"].Scalar() : "";
    const auto known = kStepKeys.find(type);
    if (known == kStepKeys.end()) {
      problem(
          step["type"] ? step["type"] : step, path + ".type",
          (type.empty() ? std::string("missing") : "unknown type '" + type + "'") +
              " (command, config, runbook, wait, approval, emit, assert, set, log, webhook, http, "
              "notify, ai_analyze)");
      return;
    }
    for (const auto& entry : step) {
      const auto key = entry.first.Scalar();
      if (!kCommonKeys.count(key) && !known->second.count(key)) {
        std::string allowed;
        for (const auto& k : known->second)
          allowed += (allowed.empty() ? "" : ", ") + k;
        problem(entry.first, path + "." + key,
                "unknown key for a " + type + " step (" + allowed +
                    ", or name, condition, "
                    "loop, foreach, parallel, retry, on_failure, save_output)");
      }
    }
    const auto name = step["name"] ? step["name"].Scalar() : type + " " + path;
    const auto loop = step["loop"] ? step["loop"] : step["foreach"];
    const bool looping = static_cast<bool>(loop);

    std::string body =
        "local body_ = function(V, item, index) " + action(step, type, path, looping) + " end ";
    if (const auto retry = retries_itself(type) ? YAML::Node() : step["retry"]) {
      std::string options = "{}";
      if (retry.IsMap()) {
        options = value(retry, path + ".retry");
      } else if (retry.IsScalar()) {
        options = "{ attempts = " + scalar(retry) + " }";
      }
      body +=
          "local once_ = body_ body_ = function(V, item, index) return retry(function() "
          "return once_(V, item, index) end, " +
          options + ") end ";
    }
    std::string run;
    const auto save = step["save_output"] ? step["save_output"].Scalar() : "";
    if (looping) {
      std::string items;
      if (loop.IsMap() && loop["select"]) {
        items = "inventory.select(" + value(loop["select"], path + ".foreach.select") + ")";
      } else {
        items = value(loop, path + (step["loop"] ? ".loop" : ".foreach"));
      }
      std::string runner =
          "foreach(items_, function(item, i) return body_(Y.scope(V, item, i), "
          "item, i - 1) end)";
      if (const auto parallel = step["parallel"]) {
        std::string max = "0";
        if (parallel.IsMap() && parallel["max"])
          max = value(parallel["max"], path + ".parallel.max");
        else if (parallel.IsScalar() && parallel.Scalar() != "true")
          max = scalar(parallel);
        runner =
            "parallel(items_, function(item, i) return body_(Y.scope(V, item, i), item, "
            "i - 1) end, { max = " +
            max + " })";
      }
      run = "local items_ = " + items + " if type(items_) ~= 'table' then fail(" +
            lua_string(path + ": the loop's value is not a list") + ") end " +
            "local results_, failures_ = " + runner + " " +
            (save.empty() ? "" : "V[" + lua_string(save) + "] = results_ ") +
            "if #failures_ > 0 then error(Y.failures(failures_, #items_), 0) end " +
            "return results_";
    } else {
      if (step["parallel"]) problem(step["parallel"], path + ".parallel", "parallel needs a loop");
      run = "local out_ = body_(V) " + (save.empty() ? "" : "V[" + lua_string(save) + "] = out_ ") +
            "return out_";
    }
    std::string code = "do " + body + "local ok_, err_ = true, nil ";
    const auto when = step["condition"] ? step["condition"] : step["when"];
    if (when) code += "if " + condition(when, path + ".condition") + " then ";
    code += "ok_, err_ = pcall(step, " + lua_string(name) + ", function() " + run + " end) ";
    if (when) code += "end ";
    writer_.put(code);
    writer_.put("if not ok_ then ");
    const auto on_failure = step["on_failure"];
    const auto message = "'step \"" + name + "\" failed: ' .. Y.str(err_)";
    if (!on_failure || (on_failure.IsScalar() && on_failure.Scalar() == "abort")) {
      writer_.put("error(" + message + ", 0) ");
    } else if (on_failure.IsScalar() && on_failure.Scalar() == "continue") {
      writer_.put("log.warn(" + message + " .. ' (continuing)') ");
    } else if (on_failure.IsScalar() && on_failure.Scalar() == "rollback") {
      writer_.put("log.error(" + message +
                  " .. ' (rolling back)') if rollback_steps then "
                  "rollback_steps(V) end error(" +
                  message + ", 0) ");
    } else if (on_failure.IsSequence()) {
      writer_.put("log.warn(" + message + " .. ' (running its on_failure steps)') ");
      writer_.put("V[\"error\"] = Y.str(err_) ");
      compile_steps(on_failure, path + ".on_failure");
    } else {
      problem(on_failure, path + ".on_failure", "abort, continue, rollback, or a list of steps");
    }
    writer_.put("end end ");
  }

  std::string file_;
  Writer writer_;
  std::vector<std::string> problems_;
  std::set<std::string> declared_;
  std::vector<std::string> device_params_;  // parameters of type device, in order
};

}  // namespace

// yaml-cpp throws for what its nodes cannot be (a scalar indexed as a map, found by fuzzing);
// the library edge turns any of it into the file's error.
Result<std::string> compile_yaml_runbook(const std::string& text, const std::string& file_name) {
  try {
    return Compiler(file_name).compile(text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidArgument, file_name + ": " + e.what());
  }
}

}  // namespace nauto::runbook
