#include "yaml_expressions.h"

#include <cctype>
#include <cstdio>
#include <vector>

namespace nauto::runbook {

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

namespace {

struct Token {
  enum class Kind { Name, Number, String, Symbol, End } kind = Kind::End;
  std::string text;
};

// What a parsed piece compiles to. `soft` is set while the piece is a variable chain
// (name, name.field, name[0]): the same lookup without the undefined-variable error, for
// `| default(...)` and `is defined`.
struct Expr {
  std::string code;
  std::string soft;
};

const std::set<std::string> kFilters = {
    "lower", "upper", "trim",    "length", "count",   "int",    "float", "string", "first",
    "last",  "join",  "default", "d",      "replace", "tojson", "sort",  "unique", "reverse",
    "sum",   "min",   "max",     "abs",    "round",   "list",   "lines", "json"};
const std::set<std::string> kMethods = {
    "lower",      "upper",      "strip",   "lstrip", "rstrip", "startswith", "endswith",
    "split",      "splitlines", "replace", "count",  "find",   "join",       "isdigit",
    "capitalize", "get",        "keys",    "values", "items"};
const std::set<std::string> kTests = {"defined",  "undefined", "none",    "number",  "integer",
                                      "float",    "string",    "boolean", "mapping", "sequence",
                                      "iterable", "even",      "odd",     "true",    "false"};
const std::set<std::string> kFunctions = {"matches", "find_all", "section",
                                          "length",  "range",    "vault"};

std::string names_of(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

class ExpressionCompiler {
 public:
  explicit ExpressionCompiler(std::string_view text) : text_(text) {}

  Result<std::string> compile() {
    if (auto tokenized = tokenize(); !tokenized) return std::move(tokenized).error();
    auto lua = parse_conditional();
    if (error_.empty() && peek().kind != Token::Kind::End)
      error_ = "unexpected '" + peek().text + "'";
    if (!error_.empty())
      return fail(Errc::InvalidArgument, error_ + " in '" + std::string(text_) + "'");
    return lua.code;
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
        bool dot = false;
        while (j < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[j])) ||
                                    (!dot && text_[j] == '.' && j + 1 < text_.size() &&
                                     std::isdigit(static_cast<unsigned char>(text_[j + 1]))))) {
          dot = dot || text_[j] == '.';
          ++j;
        }
        tokens_.push_back({Token::Kind::Number, std::string(text_.substr(i, j - i))});
        i = j;
      } else if (c == '\'' || c == '"') {
        std::string value;
        std::size_t j = i + 1;
        for (; j < text_.size() && text_[j] != c; ++j) {
          // \' \" and \\ are escapes, \n and \t too; any other backslash stays (regex classes
          // like \S), as in Python's string literals.
          if (text_[j] == '\\' && j + 1 < text_.size()) {
            const char next = text_[j + 1];
            if (next == c || next == '\\') {
              value += next;
              ++j;
              continue;
            }
            if (next == 'n' || next == 't') {
              value += next == 'n' ? '\n' : '\t';
              ++j;
              continue;
            }
          }
          value += text_[j];
        }
        if (j >= text_.size())
          return fail(Errc::InvalidArgument,
                      "a string is not closed in '" + std::string(text_) + "'");
        tokens_.push_back({Token::Kind::String, value});
        i = j + 1;
      } else {
        static const char* const two[] = {"==", "!=", "<=", ">=", "//", "**"};
        std::string symbol(1, c);
        for (const char* t : two) {
          if (text_.substr(i, 2) == t) symbol = t;
        }
        if (std::string_view("=!<>+-*/%~|.,()[]:").find(c) == std::string_view::npos ||
            symbol == "=" || symbol == "!" || symbol == ":") {
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
      error_ = "expected '" + std::string(text) + "' before '" + peek().text + "'";
  }
  void problem(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  static Expr value(std::string code) { return Expr{std::move(code), ""}; }
  // Lua for a lazily evaluated operand: `and`, `or` and `if` evaluate only what they need.
  static std::string lazy(const Expr& e) { return "function() return " + e.code + " end"; }

  // Every recursion passes through here or through a unary operator: a bound on their depth
  // keeps "((((...": a runbook's text, from blowing the stack.
  struct Nested {
    explicit Nested(ExpressionCompiler& c) : c(c) { ++c.depth_; }
    ~Nested() { --c.depth_; }
    bool too_deep() const {
      if (c.depth_ <= kMaxDepth) return false;
      c.problem("nested more than " + std::to_string(kMaxDepth) + " levels deep");
      c.position_ = c.tokens_.size() - 1;  // stop reading
      return true;
    }
    ExpressionCompiler& c;
  };
  static constexpr int kMaxDepth = 200;

  Expr parse_conditional() {
    Nested nested(*this);
    if (nested.too_deep()) return value("nil");
    auto body = parse_or();
    if (!accept("if")) return body;
    auto test = parse_or();
    std::string otherwise = "nil";
    if (accept("else")) otherwise = parse_conditional().code;
    return value("Y.IF(" + test.code + ", " + lazy(body) + ", function() return " + otherwise +
                 " end)");
  }
  Expr parse_or() {
    auto left = parse_and();
    while (accept("or"))
      left = value("Y.OR(" + left.code + ", " + lazy(parse_and()) + ")");
    return left;
  }
  Expr parse_and() {
    auto left = parse_not();
    while (accept("and"))
      left = value("Y.AND(" + left.code + ", " + lazy(parse_not()) + ")");
    return left;
  }
  Expr parse_not() {
    Nested nested(*this);
    if (nested.too_deep()) return value("nil");
    if (accept("not")) return value("(not Y.truthy(" + parse_not().code + "))");
    return parse_comparison();
  }
  Expr parse_comparison() {
    auto left = parse_sum();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (accept(op))
        return value("Y.cmp(\"" + std::string(op) + "\", " + left.code + ", " + parse_sum().code +
                     ")");
    }
    if (accept("in")) return value("Y.contains(" + parse_sum().code + ", " + left.code + ")");
    if (peek().text == "not" && peek(1).text == "in") {
      position_ += 2;
      return value("(not Y.contains(" + parse_sum().code + ", " + left.code + "))");
    }
    return left;
  }
  Expr parse_sum() {
    auto left = parse_concat();
    for (;;) {
      if (accept("+"))
        left = value("Y.add(" + left.code + ", " + parse_concat().code + ")");
      else if (accept("-"))
        left = value("Y.math(\"-\", " + left.code + ", " + parse_concat().code + ")");
      else
        return left;
    }
  }
  Expr parse_concat() {
    auto left = parse_product();
    while (accept("~"))
      left = value("(Y.str(" + left.code + ") .. Y.str(" + parse_product().code + "))");
    return left;
  }
  Expr parse_product() {
    auto left = parse_power();
    for (;;) {
      std::string op;
      for (const char* o : {"*", "//", "/", "%"}) {
        if (op.empty() && accept(o)) op = o;
      }
      if (op.empty()) return left;
      left = value("Y.math(\"" + op + "\", " + left.code + ", " + parse_power().code + ")");
    }
  }
  Expr parse_power() {
    auto left = parse_unary();
    while (accept("**"))
      left = value("Y.math(\"**\", " + left.code + ", " + parse_unary().code + ")");
    return left;
  }
  // As in Jinja2, `-x | abs` is abs(-x): the sign binds first, filters after.
  Expr parse_unary() {
    if (accept("-")) return parse_filters(value("Y.neg(" + parse_unary_operand().code + ")"));
    if (accept("+")) return parse_filters(value("Y.pos(" + parse_unary_operand().code + ")"));
    return parse_filters(parse_postfix());
  }
  Expr parse_unary_operand() {
    Nested nested(*this);
    if (nested.too_deep()) return value("nil");
    if (accept("-")) return value("Y.neg(" + parse_unary_operand().code + ")");
    if (accept("+")) return value("Y.pos(" + parse_unary_operand().code + ")");
    return parse_postfix();
  }
  std::string arguments() {
    std::string args;
    if (accept(")")) return args;
    do {
      args += ", " + parse_conditional().code;
    } while (accept(","));
    expect(")");
    return args;
  }
  std::string name_after(const char* what) {
    const auto t = peek();
    if (t.kind != Token::Kind::Name) {
      problem(std::string("expected a ") + what + " name after it, not '" + t.text + "'");
      return "_";
    }
    ++position_;
    return t.text;
  }
  Expr parse_filters(Expr e) {
    for (;;) {
      if (accept("|")) {
        const auto name = name_after("filter");
        if (!kFilters.count(name))
          problem("unknown filter '" + name + "' (" + names_of(kFilters) + ")");
        std::string args;
        if (accept("(")) args = arguments();
        const bool soft = (name == "default" || name == "d") && !e.soft.empty();
        e = value("Y.f." + name + "(" + (soft ? e.soft : e.code) + args + ")");
      } else if (accept("is")) {
        const bool negate = accept("not");
        const auto name = name_after("test");
        if (!kTests.count(name)) problem("unknown test '" + name + "' (" + names_of(kTests) + ")");
        const bool soft = (name == "defined" || name == "undefined") && !e.soft.empty();
        std::string args;
        if (peek().kind != Token::Kind::End && peek().text == "(") {
          ++position_;
          args = arguments();
        }
        const auto test = "Y.t." + name + "(" + (soft ? e.soft : e.code) + args + ")";
        e = value(negate ? "(not " + test + ")" : test);
      } else {
        return e;
      }
    }
  }
  Expr parse_postfix() {
    auto e = parse_primary();
    for (;;) {
      if (accept(".")) {
        const auto name = name_after("field or method");
        if (accept("(")) {
          if (!kMethods.count(name))
            problem("unknown method '" + name + "' (" + names_of(kMethods) + ")");
          e = value("Y.call(" + e.code + ", " + lua_string(name) + arguments() + ")");
        } else {
          const auto key = lua_string(name);
          e = Expr{"Y.get(" + e.code + ", " + key + ")",
                   e.soft.empty() ? "" : "Y.get(" + e.soft + ", " + key + ")"};
        }
      } else if (accept("[")) {
        const auto key = parse_conditional().code;
        expect("]");
        e = Expr{"Y.get(" + e.code + ", " + key + ")",
                 e.soft.empty() ? "" : "Y.get(" + e.soft + ", " + key + ")"};
      } else {
        return e;
      }
    }
  }
  Expr parse_primary() {
    const Token t = peek();
    ++position_;
    switch (t.kind) {
      case Token::Kind::Number:
        return value(t.text);
      case Token::Kind::String:
        return value(lua_string(t.text));
      case Token::Kind::Name: {
        if (t.text == "true" || t.text == "True") return value("true");
        if (t.text == "false" || t.text == "False") return value("false");
        if (t.text == "none" || t.text == "None" || t.text == "null") return value("nil");
        if (peek().text == "(") {
          ++position_;
          if (!kFunctions.count(t.text))
            problem("unknown function '" + t.text + "' (" + names_of(kFunctions) + ")");
          const auto args = arguments();
          return value("Y.fn." + t.text + "(" + (args.empty() ? "" : args.substr(2)) + ")");
        }
        const auto name = lua_string(t.text);
        return Expr{"Y.var(V, " + name + ")", "Y.soft(V, " + name + ")"};
      }
      case Token::Kind::Symbol:
        if (t.text == "(") {
          auto inner = parse_conditional();
          expect(")");
          return value("(" + inner.code + ")");
        }
        if (t.text == "[") {
          std::string list = "Y.list{";
          if (!accept("]")) {
            do {
              list += parse_conditional().code + ", ";
            } while (accept(","));
            expect("]");
          }
          return value(list + "}");
        }
        break;
      case Token::Kind::End:
        break;
    }
    problem("unexpected '" + t.text + "'");
    return value("nil");
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  std::string error_;
  int depth_ = 0;
};

// The text between "{{" and "}}" without Jinja's whitespace-control dashes ({{- x -}}).
std::string_view inner_text(std::string_view inner) {
  if (!inner.empty() && inner.front() == '-') inner.remove_prefix(1);
  if (!inner.empty() && inner.back() == '-') inner.remove_suffix(1);
  return inner;
}

// Evaluated through Y.eval so a runtime error names where it happened and the expression.
std::string evaluated(const std::string& lua, const std::string& where, std::string_view text) {
  return "Y.eval(" + lua_string(where + ": '" + std::string(text) + "'") + ", function() return " +
         lua + " end)";
}

}  // namespace

Result<std::string> compile_expression(std::string_view text) {
  return ExpressionCompiler(text).compile();
}

Result<std::string> compile_template(const std::string& text, const std::string& where) {
  if (text.find("{%") != std::string::npos) {
    return fail(Errc::InvalidArgument, "'{% %}' statements are not supported in '" + text +
                                           "'; use a step's condition: or loop: instead");
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto open = text.find("{{", start);
    if (open == std::string::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos)
      return fail(Errc::InvalidArgument, "'{{' without '}}' in '" + text + "'");
    const auto inner = inner_text(std::string_view(text).substr(open + 2, close - open - 2));
    auto expression = compile_expression(inner);
    if (!expression) return expression;
    auto lua = evaluated(*expression, where, text.substr(open, close + 2 - open));
    const auto before = text.substr(start, open - start);
    if (open == 0 && close + 2 == text.size()) return lua;  // the value itself
    if (!before.empty()) parts.push_back(lua_string(before));
    parts.push_back("Y.str(" + lua + ")");
    start = close + 2;
  }
  if (start < text.size() || parts.empty()) parts.push_back(lua_string(text.substr(start)));
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : " .. ") + p;
  return parts.size() == 1 ? out : "(" + out + ")";
}

Result<std::string> compile_condition(const std::string& text, const std::string& where) {
  std::string_view inner = text;
  const auto first = inner.find_first_not_of(" \t\n");
  const auto last = inner.find_last_not_of(" \t\n");
  if (first == std::string_view::npos) return fail(Errc::InvalidArgument, "an empty condition");
  inner = inner.substr(first, last + 1 - first);
  if (inner.size() >= 4 && inner.substr(0, 2) == "{{" && inner.substr(inner.size() - 2) == "}}" &&
      inner.find("{{", 2) == std::string_view::npos) {
    inner = inner_text(inner.substr(2, inner.size() - 4));
  }
  auto compiled = compile_expression(inner);
  if (!compiled) return compiled;
  return "Y.truthy(" + evaluated(*compiled, where, inner) + ")";
}

namespace {

// The helpers, written over several lines for reading; they reach the chunk on one line
// (expression_helpers), so the runbook's generated code keeps its YAML line numbers. No `--`
// comments in here for that reason.
const char* const kHelpers = R"LUA(
local Y = {}
local mtype, floor, ceil, huge, sfind, ssub, sfmt = math.type, math.floor, math.ceil, math.huge, string.find, string.sub, string.format
local function islist(v) return type(v) == 'table' and (v[1] ~= nil or next(v) == nil) end
local function pytype(v)
  local t = type(v)
  if v == nil then return 'NoneType' elseif t == 'string' then return 'str'
  elseif t == 'number' then return mtype(v) == 'integer' and 'int' or 'float'
  elseif t == 'boolean' then return 'bool' elseif t == 'table' then return islist(v) and 'list' or 'dict' end
  return t
end
local function sorted_keys(t) local keys = {} for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end) return keys end
local function number_text(v)
  if mtype(v) == 'integer' then return sfmt('%d', v) end
  if v ~= v then return 'nan' elseif v == huge then return 'inf' elseif v == -huge then return '-inf' end
  local s
  for p = 15, 17 do s = sfmt('%.' .. p .. 'g', v) if tonumber(s) == v then break end end
  if not sfind(s, '[%.eEn]') then s = s .. '.0' end
  return s
end
function Y.str(v)
  local t = type(v)
  if v == nil then return '' elseif t == 'string' then return v elseif t == 'boolean' then return v and 'True' or 'False'
  elseif t == 'number' then return number_text(v) end
  return json.encode(v)
end
function Y.num(v) local n = tonumber(v) if n == nil then error('not a number: ' .. Y.str(v), 0) end return n end
function Y.truthy(v) return not (v == nil or v == false or v == '' or v == 0 or (type(v) == 'table' and next(v) == nil)) end
function Y.eval(where, fn)
  local ok, v = pcall(fn)
  if ok then return v end
  error(where .. ': ' .. tostring(v), 0)
end
function Y.list(t) return t end
function Y.var(V, name)
  local v = V[name]
  if v ~= nil then return v end
  if Y.site[name] ~= nil then return Y.site[name] end
  if Y.known[name] then return nil end
  error("'" .. name .. "' is undefined: not a parameter, not written by a step (save_output, set) and not a site variable (modules.runbooks.vars)", 0)
end
function Y.soft(V, name) local v = V[name] if v ~= nil then return v end return Y.site[name] end
function Y.IF(c, a, b) if Y.truthy(c) then return a() end return b() end
function Y.OR(a, b) if Y.truthy(a) then return a end return b() end
function Y.AND(a, b) if not Y.truthy(a) then return a end return b() end
local function eq(a, b)
  local ta, tb = type(a), type(b)
  if ta == 'boolean' and tb == 'number' then a = a and 1 or 0 ta = 'number' end
  if tb == 'boolean' and ta == 'number' then b = b and 1 or 0 tb = 'number' end
  if ta ~= tb then return false end
  if ta ~= 'table' then return a == b end
  if islist(a) ~= islist(b) then return false end
  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local function lt(a, b)
  local ta, tb = type(a), type(b)
  if (ta == 'number' or ta == 'boolean') and (tb == 'number' or tb == 'boolean') then
    if ta == 'boolean' then a = a and 1 or 0 end
    if tb == 'boolean' then b = b and 1 or 0 end
    return a < b
  end
  if ta == 'string' and tb == 'string' then return a < b end
  if islist(a) and islist(b) then
    for i = 1, math.min(#a, #b) do if not eq(a[i], b[i]) then return lt(a[i], b[i]) end end
    return #a < #b
  end
  return nil
end
local function ordered(op, a, b, less)
  if less == nil then error("'" .. op .. "' not supported between instances of '" .. pytype(a) .. "' and '" .. pytype(b) .. "' (convert with | int, | float or | string)", 0) end
  return less
end
function Y.cmp(op, a, b)
  if op == '==' then return eq(a, b) elseif op == '!=' then return not eq(a, b)
  elseif op == '<' then return ordered(op, a, b, lt(a, b)) elseif op == '>' then return ordered(op, a, b, lt(b, a))
  elseif op == '<=' then return eq(a, b) or ordered(op, a, b, lt(a, b)) end
  return eq(a, b) or ordered(op, a, b, lt(b, a))
end
function Y.contains(c, x)
  local t = type(c)
  if t == 'string' then
    if type(x) ~= 'string' then error("'in <string>' requires string as left operand, not " .. pytype(x), 0) end
    return sfind(c, x, 1, true) ~= nil
  end
  if t == 'table' then
    if islist(c) then for _, v in ipairs(c) do if eq(v, x) then return true end end return false end
    return x ~= nil and c[x] ~= nil
  end
  error("argument of type '" .. pytype(c) .. "' is not iterable", 0)
end
local function numeric(v) return type(v) == 'number' or type(v) == 'boolean' end
local function asnum(v) if type(v) == 'boolean' then return v and 1 or 0 end return v end
local function operands(op, a, b)
  error("unsupported operand type(s) for " .. op .. ": '" .. pytype(a) .. "' and '" .. pytype(b) .. "'", 0)
end
function Y.add(a, b)
  if numeric(a) and numeric(b) then return asnum(a) + asnum(b) end
  if type(a) == 'string' and type(b) == 'string' then return a .. b end
  if islist(a) and islist(b) then local out = {} for _, v in ipairs(a) do out[#out + 1] = v end for _, v in ipairs(b) do out[#out + 1] = v end return out end
  operands('+', a, b)
end
local function ipow(a, b) local r = 1 while b > 0 do if b % 2 == 1 then r = r * a end a = a * a b = b // 2 end return r end
function Y.math(op, a, b)
  if op == '*' and type(a) == 'string' and mtype(b) == 'integer' then return string.rep(a, math.max(b, 0)) end
  if op == '*' and type(b) == 'string' and mtype(a) == 'integer' then return string.rep(b, math.max(a, 0)) end
  if not (numeric(a) and numeric(b)) then operands(op == '**' and '** or pow()' or op, a, b) end
  a, b = asnum(a), asnum(b)
  if op == '-' then return a - b elseif op == '*' then return a * b end
  if op == '**' then if mtype(a) == 'integer' and mtype(b) == 'integer' and b >= 0 then return ipow(a, b) end return a ^ b end
  if b == 0 then error(op == '/' and 'division by zero' or 'integer division or modulo by zero', 0) end
  if op == '/' then return a / b elseif op == '//' then return a // b end
  return a % b
end
function Y.neg(v) if not numeric(v) then error("bad operand type for unary -: '" .. pytype(v) .. "'", 0) end return -asnum(v) end
function Y.pos(v) if not numeric(v) then error("bad operand type for unary +: '" .. pytype(v) .. "'", 0) end return asnum(v) end
function Y.get(t, k)
  local tt = type(t)
  if tt == 'table' then
    if mtype(k) == 'integer' then if k < 0 then k = #t + k end return t[k + 1] end
    return t[k]
  end
  if tt == 'string' and mtype(k) == 'integer' then
    local n = utf8.len(t) or #t
    if k < 0 then k = n + k end
    if k < 0 or k >= n then return nil end
    local from = utf8.offset(t, k + 1) or (k + 1)
    local to = (utf8.offset(t, k + 2) or (from + 1)) - 1
    return ssub(t, from, to)
  end
  return nil
end
local function strip_set(chars) return '[' .. chars:gsub('[%]%%%^%-]', '%%%0') .. ']' end
local function split(s, sep, max)
  local out = {}
  max = max or -1
  if sep == nil then
    local rest = s:gsub('^%s+', '')
    while rest ~= '' do
      if max >= 0 and #out >= max then out[#out + 1] = rest:gsub('%s+$', '') break end
      local a, b = sfind(rest, '%s+')
      if not a then out[#out + 1] = rest break end
      out[#out + 1] = ssub(rest, 1, a - 1)
      rest = ssub(rest, b + 1)
    end
    return out
  end
  if sep == '' then error('empty separator', 0) end
  local from = 1
  while true do
    if max >= 0 and #out >= max then break end
    local a, b = sfind(s, sep, from, true)
    if not a then break end
    out[#out + 1] = ssub(s, from, a - 1)
    from = b + 1
  end
  out[#out + 1] = ssub(s, from)
  return out
end
local function replace(s, old, new, count)
  local out, from, n = {}, 1, 0
  count = count or -1
  if old == '' then return s end
  while count < 0 or n < count do
    local a, b = sfind(s, old, from, true)
    if not a then break end
    out[#out + 1] = ssub(s, from, a - 1) .. new
    from = b + 1
    n = n + 1
  end
  out[#out + 1] = ssub(s, from)
  return table.concat(out)
end
local function prefixes(p, test) if type(p) == 'table' then for _, x in ipairs(p) do if test(x) then return true end end return false end return test(p) end
local S = {
  lower = function(s) return s:lower() end,
  upper = function(s) return s:upper() end,
  strip = function(s, c) local set = c and strip_set(c) or '%s' return (s:gsub('^' .. set .. '+', ''):gsub(set .. '+$', '')) end,
  lstrip = function(s, c) local set = c and strip_set(c) or '%s' return (s:gsub('^' .. set .. '+', '')) end,
  rstrip = function(s, c) local set = c and strip_set(c) or '%s' return (s:gsub(set .. '+$', '')) end,
  startswith = function(s, p) return prefixes(p, function(x) return ssub(s, 1, #x) == x end) end,
  endswith = function(s, p) return prefixes(p, function(x) return x == '' or ssub(s, -#x) == x end) end,
  split = split,
  splitlines = function(s) local out = {} for line in (s .. '\n'):gmatch('(.-)\r?\n') do out[#out + 1] = line end if s == '' or ssub(s, -1) == '\n' then out[#out] = nil end return out end,
  replace = replace,
  count = function(s, x) local n, from = 0, 1 if x == '' then return (utf8.len(s) or #s) + 1 end while true do local a, b = sfind(s, x, from, true) if not a then return n end n = n + 1 from = b + 1 end end,
  find = function(s, x) local a = sfind(s, x, 1, true) if a then return a - 1 end return -1 end,
  join = function(s, list) local out = {} for i, v in ipairs(list) do if type(v) ~= 'string' then error('sequence item ' .. (i - 1) .. ': expected str instance, ' .. pytype(v) .. ' found', 0) end out[i] = v end return table.concat(out, s) end,
  isdigit = function(s) return s ~= '' and not sfind(s, '%D') end,
  capitalize = function(s) return ssub(s, 1, 1):upper() .. ssub(s, 2):lower() end,
}
local D = {
  get = function(d, k, default) local v = d[k] if v == nil then return default end return v end,
  keys = function(d) return sorted_keys(d) end,
  values = function(d) local out = {} for i, k in ipairs(sorted_keys(d)) do out[i] = d[k] end return out end,
  items = function(d) local out = {} for i, k in ipairs(sorted_keys(d)) do out[i] = { k, d[k] } end return out end,
}
function Y.call(v, name, ...)
  local m
  if type(v) == 'string' then m = S[name] elseif type(v) == 'table' and not islist(v) then m = D[name] end
  if not m then error("'" .. pytype(v) .. "' object has no attribute '" .. name .. "'", 0) end
  return m(v, ...)
end
local function length(v)
  if type(v) == 'string' then return utf8.len(v) or #v end
  if type(v) == 'table' then if islist(v) then return #v end local n = 0 for _ in pairs(v) do n = n + 1 end return n end
  if v == nil then return 0 end
  error("object of type '" .. pytype(v) .. "' has no len()", 0)
end
local function toint(v, default)
  default = default or 0
  if type(v) == 'boolean' then return v and 1 or 0 end
  local n = type(v) == 'number' and v or tonumber(type(v) == 'string' and (v:gsub('^%s+', ''):gsub('%s+$', '')) or nil)
  if n == nil or n ~= n or n == huge or n == -huge then return default end
  return math.tointeger(n >= 0 and floor(n) or ceil(n))
end
local function items_of(v) if type(v) == 'string' then local out = {} for _, c in utf8.codes(v) do out[#out + 1] = utf8.char(c) end return out end
  if type(v) == 'table' then if islist(v) then return v end return sorted_keys(v) end
  error("'" .. pytype(v) .. "' object is not iterable", 0) end
local function sorted(v) local out = {} for i, x in ipairs(items_of(v)) do out[i] = x end table.sort(out, function(a, b) return ordered('<', a, b, lt(a, b)) end) return out end
Y.f = {
  lower = function(v) return Y.str(v):lower() end,
  upper = function(v) return Y.str(v):upper() end,
  trim = function(v, c) return S.strip(Y.str(v), c) end,
  length = length, count = length,
  int = toint,
  float = function(v, default) local n = tonumber(type(v) == 'boolean' and (v and 1 or 0) or v) if n == nil then return default or 0.0 end return n + 0.0 end,
  string = function(v) return Y.str(v) end,
  first = function(v) if v == nil then return nil end return items_of(v)[1] end,
  last = function(v) if v == nil then return nil end local t = items_of(v) return t[#t] end,
  join = function(v, sep) local out = {} for i, x in ipairs(items_of(v or {})) do out[i] = Y.str(x) end return table.concat(out, sep or '') end,
  default = function(v, d, boolean) if v == nil or (boolean and not Y.truthy(v)) then if d == nil then return '' end return d end return v end,
  replace = function(v, old, new, count) return replace(Y.str(v), Y.str(old), Y.str(new), count) end,
  tojson = function(v) return json.encode(v) end,
  sort = sorted,
  unique = function(v) local out = {} for _, x in ipairs(items_of(v)) do local seen = false for _, y in ipairs(out) do if eq(x, y) then seen = true break end end if not seen then out[#out + 1] = x end end return out end,
  reverse = function(v) if type(v) == 'string' then return Y.f.join(Y.f.reverse(items_of(v))) end local t, out = items_of(v), {} for i = #t, 1, -1 do out[#out + 1] = t[i] end return out end,
  sum = function(v, _, start) local total = start or 0 for _, x in ipairs(items_of(v)) do total = Y.add(total, x) end return total end,
  min = function(v) return sorted(v)[1] end,
  max = function(v) local t = sorted(v) return t[#t] end,
  abs = function(v) if not numeric(v) then error("bad operand type for abs(): '" .. pytype(v) .. "'", 0) end return math.abs(asnum(v)) end,
  round = function(v, precision, method)
    if not numeric(v) then error("round: expected a number, not '" .. pytype(v) .. "'", 0) end
    precision = math.max(0, math.tointeger(precision or 0) or 0)
    local x = asnum(v)
    if method == 'floor' or method == 'ceil' then local scale = 10 ^ precision x = (method == 'floor' and floor or ceil)(x * scale) / scale return x + 0.0 end
    return tonumber(sfmt('%.' .. precision .. 'f', x)) + 0.0 end,
  list = function(v) local out = {} for i, x in ipairs(items_of(v)) do out[i] = x end return out end,
  lines = function(v) return lines(Y.str(v)) end,
  json = function(v) return json.decode(Y.str(v)) end,
}
Y.f.d = Y.f.default
Y.t = {
  defined = function(v) return v ~= nil end,
  undefined = function(v) return v == nil end,
  none = function(v) return v == nil end,
  number = function(v) return type(v) == 'number' end,
  integer = function(v) return mtype(v) == 'integer' end,
  float = function(v) return mtype(v) == 'float' end,
  string = function(v) return type(v) == 'string' end,
  boolean = function(v) return type(v) == 'boolean' end,
  mapping = function(v) return type(v) == 'table' and not islist(v) end,
  sequence = function(v) return type(v) == 'string' or type(v) == 'table' end,
  iterable = function(v) return type(v) == 'string' or type(v) == 'table' end,
  even = function(v) return mtype(v) == 'integer' and v % 2 == 0 end,
  odd = function(v) return mtype(v) == 'integer' and v % 2 == 1 end,
  ['true'] = function(v) return v == true end,
  ['false'] = function(v) return v == false end,
}
local function secret(name) return setmetatable({}, { __index = function(_, field) return '${vault:' .. name .. ':' .. field .. '}' end }) end
Y.fn = {
  matches = function(t, p) return re.test(Y.str(t), p) end,
  find_all = function(t, p) return re.find_all(Y.str(t), p) end,
  section = function(t, p) return section(Y.str(t), p) end,
  length = length,
  range = function(a, b, step) if b == nil then a, b = 0, a end step = step or 1 local out = {} for i = a, b - (step > 0 and 1 or -1), step do out[#out + 1] = i end return out end,
  vault = function(name) if type(name) ~= 'string' or not name:match('^[%w_.%-]+$') then error('vault(name): expected a credential name', 0) end return secret(name) end,
}
function Y.scope(V, item, index) return setmetatable({ item = item, index = index - 1 }, { __index = V, __newindex = V }) end
function Y.failures(list, total) local parts = {} for i, f in ipairs(list) do
  local name = type(f.item) == 'table' and f.item.name or Y.str(f.item)
  parts[i] = name .. ': ' .. Y.str(f.error) end
  return #list .. ' of ' .. total .. ' failed: ' .. table.concat(parts, '; ') end
function Y.saved(V) local out = {} for k, v in pairs(V) do out[k] = v end return out end
Y.site = type(context) == 'table' and type(context.vars) == 'table' and context.vars or {}
)LUA";

}  // namespace

std::string expression_helpers(const std::set<std::string>& known) {
  static const std::string one_line = [] {
    std::string text = kHelpers;
    for (auto& c : text) {
      if (c == '\n') c = ' ';
    }
    return text;
  }();
  std::string out = one_line + "Y.known = {";
  for (const auto& name : known)
    out += "[" + lua_string(name) + "] = true, ";
  return out + "} ";
}

}  // namespace nauto::runbook
