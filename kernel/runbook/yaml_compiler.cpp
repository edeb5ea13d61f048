#include "nauto/runbook/yaml_compiler.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>
#include <vector>

namespace nauto::runbook {

namespace {

// ---------------------------------------------------------------- Lua text

std::string lua_string(std::string_view text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 32 || c == 127) {
          char escape[8];  // three digits, so a digit after it is not read as part of it
          std::snprintf(escape, sizeof escape, "\\%03d", static_cast<int>(c));
          out += escape;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// ---------------------------------------------------------------- expressions

struct Token {
  enum class Kind { Name, Number, String, Symbol, End } kind = Kind::End;
  std::string text;
};

// A small Jinja-like expression language compiled to a Lua expression over the variables
// table V and the helpers table Y (see kHelpers).
class ExpressionCompiler {
 public:
  explicit ExpressionCompiler(std::string_view text) : text_(text) {}

  Result<std::string> compile() {
    if (auto tokenized = tokenize(); !tokenized) return std::move(tokenized).error();
    auto lua = parse_or();
    if (!error_.empty()) return fail(Errc::InvalidArgument, error_);
    if (peek().kind != Token::Kind::End) {
      return fail(Errc::InvalidArgument,
                  "unexpected '" + peek().text + "' in '" + std::string(text_) + "'");
    }
    return lua;
  }

 private:
  Result<void> tokenize() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t j = i;
        while (j < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '_'))
          ++j;
        tokens_.push_back({Token::Kind::Name, std::string(text_.substr(i, j - i))});
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t j = i;
        while (j < text_.size() &&
               (std::isdigit(static_cast<unsigned char>(text_[j])) || text_[j] == '.'))
          ++j;
        tokens_.push_back({Token::Kind::Number, std::string(text_.substr(i, j - i))});
        i = j;
      } else if (c == '\'' || c == '"') {
        std::string value;
        std::size_t j = i + 1;
        for (; j < text_.size() && text_[j] != c; ++j) {
          // \' \" and \\ are escapes; any other backslash stays (regex classes like \S).
          if (text_[j] == '\\' && j + 1 < text_.size() &&
              (text_[j + 1] == c || text_[j + 1] == '\\'))
            ++j;
          value += text_[j];
        }
        if (j >= text_.size()) {
          return fail(Errc::InvalidArgument,
                      "a string is not closed in '" + std::string(text_) + "'");
        }
        tokens_.push_back({Token::Kind::String, value});
        i = j + 1;
      } else {
        static const char* const two[] = {"==", "!=", "<=", ">="};
        std::string symbol(1, c);
        for (const char* t : two) {
          if (text_.substr(i, 2) == t) symbol = t;
        }
        if (std::string_view("=!<>+-*/%~|.,()[]").find(c) == std::string_view::npos ||
            symbol == "=" || symbol == "!") {
          return fail(Errc::InvalidArgument,
                      "unexpected '" + symbol + "' in '" + std::string(text_) + "'");
        }
        tokens_.push_back({Token::Kind::Symbol, symbol});
        i += symbol.size();
      }
    }
    tokens_.push_back({Token::Kind::End, "end of expression"});
    return ok();
  }

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(position_ + ahead, tokens_.size() - 1)];
  }
  bool accept(std::string_view text) {
    const auto& t = peek();
    if ((t.kind == Token::Kind::Symbol || t.kind == Token::Kind::Name) && t.text == text) {
      ++position_;
      return true;
    }
    return false;
  }
  void expect(std::string_view text) {
    if (!accept(text) && error_.empty())
      error_ = "expected '" + std::string(text) + "' before '" + peek().text + "' in '" +
               std::string(text_) + "'";
  }

  std::string parse_or() {
    auto left = parse_and();
    while (accept("or"))
      left = "(Y.truthy(" + left + ") or Y.truthy(" + parse_and() + "))";
    return left;
  }
  std::string parse_and() {
    auto left = parse_not();
    while (accept("and"))
      left = "(Y.truthy(" + left + ") and Y.truthy(" + parse_not() + "))";
    return left;
  }
  std::string parse_not() {
    if (accept("not")) return "(not Y.truthy(" + parse_not() + "))";
    return parse_comparison();
  }
  std::string parse_comparison() {
    auto left = parse_sum();
    if (accept("==")) return "Y.eq(" + left + ", " + parse_sum() + ")";
    if (accept("!=")) return "(not Y.eq(" + left + ", " + parse_sum() + "))";
    if (accept("<=")) return "Y.le(" + left + ", " + parse_sum() + ")";
    if (accept(">=")) return "Y.le(" + parse_sum_then(left) + ")";
    if (accept("<")) return "Y.lt(" + left + ", " + parse_sum() + ")";
    if (accept(">")) return "Y.lt(" + parse_sum_then(left) + ")";
    if (accept("in")) return "Y.contains(" + parse_sum() + ", " + left + ")";
    if (peek().text == "not" && peek(1).text == "in") {
      position_ += 2;
      return "(not Y.contains(" + parse_sum() + ", " + left + "))";
    }
    return left;
  }
  // "a > b" is "b < a": the right side first.
  std::string parse_sum_then(const std::string& left) { return parse_sum() + ", " + left; }
  std::string parse_sum() {
    auto left = parse_product();
    for (;;) {
      if (accept("+"))
        left = "Y.add(" + left + ", " + parse_product() + ")";
      else if (accept("-"))
        left = "(Y.num(" + left + ") - Y.num(" + parse_product() + "))";
      else if (accept("~"))
        left = "(Y.str(" + left + ") .. Y.str(" + parse_product() + "))";
      else
        return left;
    }
  }
  std::string parse_product() {
    auto left = parse_unary();
    for (;;) {
      if (accept("*"))
        left = "(Y.num(" + left + ") * Y.num(" + parse_unary() + "))";
      else if (accept("/"))
        left = "(Y.num(" + left + ") / Y.num(" + parse_unary() + "))";
      else if (accept("%"))
        left = "(Y.num(" + left + ") % Y.num(" + parse_unary() + "))";
      else
        return left;
    }
  }
  std::string parse_unary() {
    if (accept("-")) return "(-Y.num(" + parse_unary() + "))";
    return parse_postfix();
  }
  std::string arguments() {
    std::string args;
    if (accept(")")) return args;
    do {
      args += ", " + parse_or();
    } while (accept(","));
    expect(")");
    return args;
  }
  std::string filter(const std::string& value, const std::string& name) {
    static const std::set<std::string> known = {"lower", "upper",   "trim",  "length",
                                                "int",   "string",  "first", "last",
                                                "join",  "default", "lines", "json"};
    if (!known.count(name) && error_.empty()) {
      error_ = "unknown filter '" + name +
               "' (lower, upper, trim, length, int, string, first, last, join, default, lines, "
               "json)";
    }
    std::string args;
    if (accept("(")) args = arguments();
    return "Y.f." + name + "(" + value + args + ")";
  }
  std::string parse_postfix() {
    auto value = parse_primary();
    for (;;) {
      if (accept(".")) {
        const auto name = peek().text;
        ++position_;
        if (peek().text == "(") {  // text.lower() reads as text | lower
          value = filter(value, name);
        } else {
          value = "Y.get(" + value + ", " + lua_string(name) + ")";
        }
      } else if (accept("[")) {
        value = "Y.get(" + value + ", " + parse_or() + ")";
        expect("]");
      } else if (accept("|")) {
        const auto name = peek().text;
        ++position_;
        value = filter(value, name);
      } else {
        return value;
      }
    }
  }
  std::string parse_primary() {
    const Token t = peek();
    ++position_;
    switch (t.kind) {
      case Token::Kind::Number:
        return t.text;
      case Token::Kind::String:
        return lua_string(t.text);
      case Token::Kind::Name: {
        if (t.text == "true" || t.text == "True") return "true";
        if (t.text == "false" || t.text == "False") return "false";
        if (t.text == "none" || t.text == "None" || t.text == "null") return "nil";
        static const std::set<std::string> functions = {"matches", "find_all", "section", "length"};
        if (peek().text == "(") {
          ++position_;
          if (!functions.count(t.text) && error_.empty()) {
            error_ = "unknown function '" + t.text + "' (matches, find_all, section, length)";
          }
          const auto args = arguments();
          return "Y.fn." + t.text + "(" + (args.empty() ? "" : args.substr(2)) + ")";
        }
        return "V[" + lua_string(t.text) + "]";
      }
      case Token::Kind::Symbol:
        if (t.text == "(") {
          auto inner = parse_or();
          expect(")");
          return "(" + inner + ")";
        }
        if (t.text == "[") {
          std::string list = "{";
          if (!accept("]")) {
            do {
              list += parse_or() + ", ";
            } while (accept(","));
            expect("]");
          }
          return list + "}";
        }
        break;
      case Token::Kind::End:
        break;
    }
    if (error_.empty()) error_ = "unexpected '" + t.text + "' in '" + std::string(text_) + "'";
    return "nil";
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  std::string error_;
};

Result<std::string> compile_expression(std::string_view text) {
  return ExpressionCompiler(text).compile();
}

// "show bgp {{ peer }}" -> a Lua string expression; exactly "{{ e }}" -> e itself (keeps lists).
Result<std::string> compile_template(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto open = text.find("{{", start);
    if (open == std::string::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return fail(Errc::InvalidArgument, "'{{' without '}}' in '" + text + "'");
    }
    auto expression = compile_expression(text.substr(open + 2, close - open - 2));
    if (!expression) return expression;
    const auto before = text.substr(start, open - start);
    const bool whole = open == 0 && close + 2 == text.size();
    if (whole) return *expression;
    if (!before.empty()) parts.push_back(lua_string(before));
    parts.push_back("Y.str(" + *expression + ")");
    start = close + 2;
  }
  if (start < text.size() || parts.empty()) parts.push_back(lua_string(text.substr(start)));
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : " .. ") + p;
  return parts.size() == 1 ? out : "(" + out + ")";
}

// ---------------------------------------------------------------- runtime helpers

// One line: the generated code for steps starts on the steps' own YAML lines.
const char* const kHelpers =
    "local Y = {} "
    "function Y.str(v) if v == nil then return '' elseif type(v) == 'table' then "
    "return json.encode(v) end return tostring(v) end "
    "function Y.truthy(v) return not (v == nil or v == false or v == '' or v == 0 or "
    "(type(v) == 'table' and next(v) == nil)) end "
    "function Y.num(v) local n = tonumber(v) if n == nil then "
    "error('not a number: ' .. Y.str(v), 0) end return n end "
    "function Y.eq(a, b) if type(a) == 'number' or type(b) == 'number' then "
    "return tonumber(a) == tonumber(b) end return a == b end "
    "function Y.lt(a, b) local x, y = tonumber(a), tonumber(b) if x and y then return x < y end "
    "return Y.str(a) < Y.str(b) end "
    "function Y.le(a, b) return Y.eq(a, b) or Y.lt(a, b) end "
    "function Y.contains(c, x) if type(c) == 'table' then for _, v in pairs(c) do "
    "if Y.eq(v, x) then return true end end return false end "
    "return string.find(Y.str(c), Y.str(x), 1, true) ~= nil end "
    "function Y.add(a, b) if type(a) == 'string' or type(b) == 'string' then "
    "return Y.str(a) .. Y.str(b) end return Y.num(a) + Y.num(b) end "
    "function Y.get(t, k) if type(t) ~= 'table' then return nil end "
    "if type(k) == 'number' then return t[k + 1] end return t[k] end "
    "Y.f = { lower = function(v) return string.lower(Y.str(v)) end, "
    "upper = function(v) return string.upper(Y.str(v)) end, "
    "trim = function(v) return (Y.str(v):gsub('^%s+', ''):gsub('%s+$', '')) end, "
    "length = function(v) if type(v) == 'table' then return #v end return #Y.str(v) end, "
    "int = function(v) return math.tointeger(math.floor(tonumber(v) or 0)) end, "
    "string = function(v) return Y.str(v) end, "
    "first = function(v) if type(v) == 'table' then return v[1] end return nil end, "
    "last = function(v) if type(v) == 'table' then return v[#v] end return nil end, "
    "join = function(v, sep) local out = {} for i, x in ipairs(v or {}) do out[i] = Y.str(x) end "
    "return table.concat(out, sep or ',') end, "
    "default = function(v, d) if v == nil or v == '' then return d end return v end, "
    "lines = function(v) return lines(Y.str(v)) end, "
    "json = function(v) return json.decode(Y.str(v)) end } "
    "Y.fn = { matches = function(t, p) return re.test(Y.str(t), p) end, "
    "find_all = function(t, p) return re.find_all(Y.str(t), p) end, "
    "section = function(t, p) return section(Y.str(t), p) end, length = Y.f.length } "
    "function Y.scope(V, item, index) return setmetatable({ item = item, index = index - 1 }, "
    "{ __index = V, __newindex = V }) end "
    "function Y.failures(list, total) local parts = {} for i, f in ipairs(list) do "
    "local name = type(f.item) == 'table' and f.item.name or Y.str(f.item) "
    "parts[i] = name .. ': ' .. Y.str(f.error) end "
    "return #list .. ' of ' .. total .. ' failed: ' .. table.concat(parts, '; ') end "
    "function Y.saved(V) local out = {} for k, v in pairs(V) do out[k] = v end return out end ";

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
};
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
        const auto name = params.IsSequence() ? (p.IsMap() && p["name"] ? p["name"].Scalar() : "")
                                              : (p.first.IsScalar() ? p.first.Scalar() : "");
        declared_.insert(name);
      }
    }
    std::string header = kHelpers;
    header += "local rollback_steps = nil ";
    header +=
        "local RB = { name = " + lua_string(root["name"] ? root["name"].Scalar() : "") +
        ", description = " + lua_string(root["description"] ? root["description"].Scalar() : "") +
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
    if (node.Scalar().find("{{") == std::string::npos) return scalar(node);
    auto compiled = compile_template(node.Scalar());
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
    std::string text = node.Scalar();
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    if (first != std::string::npos && text.compare(first, 2, "{{") == 0 &&
        text.compare(last - 1, 2, "}}") == 0 && text.find("{{", first + 2) == std::string::npos) {
      text = text.substr(first + 2, last - 1 - first - 2);
    }
    auto compiled = compile_expression(text);
    if (!compiled) {
      problem(node, path, compiled.error().message);
      return "true";
    }
    return "Y.truthy(" + *compiled + ")";
  }

  void compile_steps(const YAML::Node& steps, const std::string& path) {
    for (std::size_t i = 0; i < steps.size(); ++i)
      compile_step(steps[i], path + "[" + std::to_string(i) + "]");
  }

  std::string device_of(const YAML::Node& step, const std::string& path, bool looping) {
    if (step["device"]) return value(step["device"], path + ".device");
    if (looping) return "item";
    if (declared_.count("device")) return "V[\"device\"]";
    problem(step, path + ".device",
            "which device? give device: \"{{ some_param }}\", declare a 'device' parameter, or "
            "loop over devices (foreach: {select: \"role=leaf\"})");
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
    if (type == "webhook") {
      problem(step["type"], path + ".type",
              "webhook steps are not available yet (nauto has no HTTP effect); use type: emit "
              "and let a rule or module deliver it");
      return;
    }
    const auto known = kStepKeys.find(type);
    if (known == kStepKeys.end()) {
      problem(step["type"] ? step["type"] : step, path + ".type",
              (type.empty() ? std::string("missing") : "unknown type '" + type + "'") +
                  " (command, config, runbook, wait, approval, emit, assert, set, log)");
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
    if (const auto retry = step["retry"]) {
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
