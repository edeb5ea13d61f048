#include "nauto/text/jinja_template.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace nauto::text {

using nlohmann::json;

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr std::int64_t kMaxIterations = 1'000'000;
constexpr std::size_t kMaxOutput = 64u << 20;
constexpr int kMaxExpressionDepth = 200;

// ---- lexing the template into text and tags ----

struct Piece {
  enum class Kind { Text, Output, Block } kind = Kind::Text;
  std::string text;  // the text, or what is inside the tag
  int line = 1;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

Result<std::vector<Piece>> split_pieces(const std::string& name, const std::string& source) {
  std::vector<Piece> pieces;
  std::size_t at = 0;
  int line = 1;
  bool strip_next = false;    // a `-%}` asked to strip the whitespace that follows
  bool drop_newline = false;  // trim_blocks: the newline after a block tag
  auto error = [&](int where, const std::string& message) {
    return fail(Errc::InvalidArgument, message, name + ":" + std::to_string(where));
  };
  while (at <= source.size()) {
    auto open = source.find('{', at);
    while (open != std::string::npos && open + 1 < source.size() && source[open + 1] != '{' &&
           source[open + 1] != '%' && source[open + 1] != '#')
      open = source.find('{', open + 1);
    if (open != std::string::npos && open + 1 >= source.size()) open = std::string::npos;
    std::string text = source.substr(at, open == std::string::npos ? std::string::npos : open - at);
    // Whether `text` begins a line of the output (for lstrip_blocks).
    bool starts_line = at == 0 || source[at - 1] == '\n';
    if (strip_next) {
      auto first = text.find_first_not_of(" \t\r\n");
      text.erase(0, first == std::string::npos ? text.size() : first);
    } else if (drop_newline) {
      if (text.starts_with("\r\n")) {
        text.erase(0, 2);
        starts_line = true;
      } else if (text.starts_with("\n")) {
        text.erase(0, 1);
        starts_line = true;
      }
    }
    strip_next = drop_newline = false;
    const int text_line = line;
    line += static_cast<int>(std::count(
        source.begin() + static_cast<long>(at),
        open == std::string::npos ? source.end() : source.begin() + static_cast<long>(open), '\n'));
    if (open == std::string::npos) {
      if (!text.empty()) pieces.push_back({Piece::Kind::Text, std::move(text), text_line});
      break;
    }
    const char kind = source[open + 1];
    const std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    const auto end = source.find(close, open + 2);
    if (end == std::string::npos)
      return error(line, "a tag opened here is never closed with '" + close + "'");
    std::string inside = source.substr(open + 2, end - open - 2);
    const bool strip_before = inside.starts_with("-");
    const bool strip_after = inside.ends_with("-");
    if (strip_before) inside.erase(0, 1);
    if (strip_after && !inside.empty()) inside.pop_back();
    if (strip_before) {
      while (!text.empty() && is_space(text.back()))
        text.pop_back();
    } else if (kind != '{') {
      // lstrip_blocks: spaces between the line's start and a block tag go.
      const auto line_start = text.rfind('\n');
      const std::size_t tail = line_start == std::string::npos ? 0 : line_start + 1;
      if ((line_start != std::string::npos || starts_line) &&
          text.find_first_not_of(" \t", tail) == std::string::npos)
        text.erase(tail);
    }
    if (!text.empty()) pieces.push_back({Piece::Kind::Text, std::move(text), text_line});
    const int tag_line = line;
    line += static_cast<int>(std::count(inside.begin(), inside.end(), '\n'));
    if (kind == '{') pieces.push_back({Piece::Kind::Output, inside, tag_line});
    if (kind == '%') pieces.push_back({Piece::Kind::Block, inside, tag_line});
    strip_next = strip_after;
    drop_newline = kind != '{';
    at = end + 2;
  }
  return pieces;
}

// ---- expressions ----

struct Token {
  enum class Kind { Name, Number, String, Operator, End } kind = Kind::End;
  std::string text;
  json value;
};

Result<std::vector<Token>> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      auto start = i;
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
        ++i;
      tokens.push_back({Token::Kind::Name, text.substr(start, i - start), nullptr});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      auto start = i;
      bool real = false;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                                 (text[i] == '.' && !real && i + 1 < text.size() &&
                                  std::isdigit(static_cast<unsigned char>(text[i + 1]))))) {
        real = real || text[i] == '.';
        ++i;
      }
      const auto digits = text.substr(start, i - start);
      json value;
      if (real) {
        value = std::strtod(digits.c_str(), nullptr);
      } else {
        if (digits.size() > 18) return fail(Errc::InvalidArgument, "number too large: " + digits);
        value = std::stoll(digits);
      }
      tokens.push_back({Token::Kind::Number, digits, value});
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string value;
      ++i;
      while (i < text.size() && text[i] != c) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          const char e = text[++i];
          value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        } else {
          value.push_back(text[i]);
        }
        ++i;
      }
      if (i >= text.size()) return fail(Errc::InvalidArgument, "a string is not closed");
      ++i;
      tokens.push_back({Token::Kind::String, value, value});
      continue;
    }
    static const char* kTwo[] = {"==", "!=", "<=", ">="};
    bool two = false;
    for (const char* op : kTwo) {
      if (text.compare(i, 2, op) == 0) {
        tokens.push_back({Token::Kind::Operator, op, nullptr});
        i += 2;
        two = true;
        break;
      }
    }
    if (two) continue;
    if (std::string("<>|.,()[]+-*/%~=:").find(c) != std::string::npos) {
      tokens.push_back({Token::Kind::Operator, std::string(1, c), nullptr});
      ++i;
      continue;
    }
    return fail(Errc::InvalidArgument, std::string("unexpected character '") + c + "'");
  }
  tokens.push_back({Token::Kind::End, "", nullptr});
  return tokens;
}

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,
    List,
    Name,
    Attribute,
    Index,
    Call,
    Filter,
    Test,
    Not,
    Negate,
    Binary,
    And,
    Or,
    Conditional
  } kind = Kind::Literal;
  json value;        // Literal
  std::string name;  // Name, Attribute, Call (method), Filter, Test, Binary (operator)
  std::vector<ExprPtr> operands;
  std::vector<ExprPtr> arguments;  // Call, Filter, Test
  bool negated = false;            // Test (is not), Binary "not in"
};

class ExpressionParser {
 public:
  explicit ExpressionParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<ExprPtr> parse_all() {
    auto expr = conditional();
    if (!expr) return expr;
    if (peek().kind != Token::Kind::End)
      return fail(Errc::InvalidArgument, "unexpected '" + peek().text + "'");
    return expr;
  }
  const Token& peek() const { return tokens_[at_]; }
  Token next() { return tokens_[at_ < tokens_.size() - 1 ? at_++ : at_]; }
  bool accept(const std::string& text) {
    if (peek().kind != Token::Kind::String && peek().kind != Token::Kind::Number &&
        peek().text == text) {
      ++at_;
      return true;
    }
    return false;
  }
  Result<void> expect(const std::string& text) {
    if (accept(text)) return ok();
    return fail(Errc::InvalidArgument, "expected '" + text + "', found '" +
                                           (peek().text.empty() ? "the end" : peek().text) + "'");
  }
  Result<ExprPtr> conditional() {
    if (++depth_ > kMaxExpressionDepth)
      return fail(Errc::InvalidArgument, "the expression nests too deeply");
    auto value = or_expr();
    if (!value) return value;
    if (!accept("if")) {
      --depth_;
      return value;
    }
    auto condition = or_expr();
    if (!condition) return condition;
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::Conditional;
    node->operands.push_back(std::move(*value));
    node->operands.push_back(std::move(*condition));
    if (accept("else")) {
      auto otherwise = conditional();
      if (!otherwise) return otherwise;
      node->operands.push_back(std::move(*otherwise));
    }
    --depth_;
    return node;
  }

 private:
  Result<ExprPtr> binary(Expr::Kind kind, std::string name, ExprPtr left, ExprPtr right) {
    auto node = std::make_unique<Expr>();
    node->kind = kind;
    node->name = std::move(name);
    node->operands.push_back(std::move(left));
    node->operands.push_back(std::move(right));
    return node;
  }
  Result<ExprPtr> or_expr() {
    auto left = and_expr();
    while (left && accept("or")) {
      auto right = and_expr();
      if (!right) return right;
      left = binary(Expr::Kind::Or, "or", std::move(*left), std::move(*right));
    }
    return left;
  }
  Result<ExprPtr> and_expr() {
    auto left = not_expr();
    while (left && accept("and")) {
      auto right = not_expr();
      if (!right) return right;
      left = binary(Expr::Kind::And, "and", std::move(*left), std::move(*right));
    }
    return left;
  }
  Result<ExprPtr> not_expr() {
    if (accept("not")) {
      if (++depth_ > kMaxExpressionDepth)
        return fail(Errc::InvalidArgument, "the expression nests too deeply");
      auto operand = not_expr();
      --depth_;
      if (!operand) return operand;
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::Not;
      node->operands.push_back(std::move(*operand));
      return node;
    }
    return comparison();
  }
  Result<ExprPtr> comparison() {
    auto left = additive();
    for (;;) {
      if (!left) return left;
      std::string op;
      bool negated = false;
      for (const char* candidate : {"==", "!=", "<=", ">=", "<", ">", "in"}) {
        if (accept(candidate)) {
          op = candidate;
          break;
        }
      }
      if (op.empty() && peek().text == "not" && tokens_[at_ + 1].text == "in") {
        at_ += 2;
        op = "in";
        negated = true;
      }
      if (op.empty() && accept("is")) {
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::Test;
        node->negated = accept("not");
        if (peek().kind != Token::Kind::Name)
          return fail(Errc::InvalidArgument, "expected a test name after 'is'");
        node->name = next().text;
        node->operands.push_back(std::move(*left));
        left = std::move(node);
        continue;
      }
      if (op.empty()) return left;
      auto right = additive();
      if (!right) return right;
      left = binary(Expr::Kind::Binary, op, std::move(*left), std::move(*right));
      if (left) (*left)->negated = negated;
    }
  }
  // Operators of one precedence, left-associative: `next` parses each operand.
  Result<ExprPtr> left_associative(std::initializer_list<const char*> operators,
                                   Result<ExprPtr> (ExpressionParser::*next)()) {
    auto left = (this->*next)();
    for (;;) {
      if (!left) return left;
      std::string op;
      for (const char* candidate : operators)
        if (op.empty() && accept(candidate)) op = candidate;
      if (op.empty()) return left;
      auto right = (this->*next)();
      if (!right) return right;
      left = binary(Expr::Kind::Binary, op, std::move(*left), std::move(*right));
    }
  }
  Result<ExprPtr> additive() {
    return left_associative({"+", "-", "~"}, &ExpressionParser::multiplicative);
  }
  Result<ExprPtr> multiplicative() {
    return left_associative({"*", "/", "%"}, &ExpressionParser::unary);
  }
  Result<ExprPtr> unary() {
    if (accept("-")) {
      if (++depth_ > kMaxExpressionDepth)
        return fail(Errc::InvalidArgument, "the expression nests too deeply");
      auto operand = unary();
      --depth_;
      if (!operand) return operand;
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::Negate;
      node->operands.push_back(std::move(*operand));
      return node;
    }
    return postfix();
  }
  Result<std::vector<ExprPtr>> arguments() {
    std::vector<ExprPtr> args;
    if (accept(")")) return args;
    for (;;) {
      // Keyword arguments (default(x, boolean=true)) are taken by position.
      if (peek().kind == Token::Kind::Name && tokens_[at_ + 1].text == "=") at_ += 2;
      auto arg = conditional();
      if (!arg) return std::move(arg).error();
      args.push_back(std::move(*arg));
      if (accept(")")) return args;
      if (auto comma = expect(","); !comma) return std::move(comma).error();
    }
  }
  Result<ExprPtr> postfix() {
    auto value = primary();
    for (;;) {
      if (!value) return value;
      if (accept(".")) {
        if (peek().kind != Token::Kind::Name && peek().kind != Token::Kind::Number)
          return fail(Errc::InvalidArgument, "expected a name after '.'");
        auto node = std::make_unique<Expr>();
        node->name = next().text;
        node->operands.push_back(std::move(*value));
        if (accept("(")) {
          node->kind = Expr::Kind::Call;
          auto args = arguments();
          if (!args) return std::move(args).error();
          node->arguments = std::move(*args);
        } else {
          node->kind = Expr::Kind::Attribute;
        }
        value = std::move(node);
      } else if (accept("[")) {
        auto index = conditional();
        if (!index) return index;
        if (auto closed = expect("]"); !closed) return std::move(closed).error();
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::Index;
        node->operands.push_back(std::move(*value));
        node->operands.push_back(std::move(*index));
        value = std::move(node);
      } else if (accept("|")) {
        if (peek().kind != Token::Kind::Name)
          return fail(Errc::InvalidArgument, "expected a filter name after '|'");
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::Filter;
        node->name = next().text;
        node->operands.push_back(std::move(*value));
        if (accept("(")) {
          auto args = arguments();
          if (!args) return std::move(args).error();
          node->arguments = std::move(*args);
        }
        value = std::move(node);
      } else {
        return value;
      }
    }
  }
  Result<ExprPtr> primary() {
    auto node = std::make_unique<Expr>();
    const auto token = next();
    switch (token.kind) {
      case Token::Kind::Number:
      case Token::Kind::String:
        node->value = token.value;
        return node;
      case Token::Kind::Name:
        if (token.text == "true" || token.text == "True") {
          node->value = true;
        } else if (token.text == "false" || token.text == "False") {
          node->value = false;
        } else if (token.text == "none" || token.text == "None") {
          node->value = nullptr;
        } else {
          node->kind = Expr::Kind::Name;
          node->name = token.text;
        }
        return node;
      case Token::Kind::Operator:
        if (token.text == "(") {
          auto inner = conditional();
          if (!inner) return inner;
          if (auto closed = expect(")"); !closed) return std::move(closed).error();
          return inner;
        }
        if (token.text == "[") {
          node->kind = Expr::Kind::List;
          if (accept("]")) return node;
          for (;;) {
            auto item = conditional();
            if (!item) return item;
            node->operands.push_back(std::move(*item));
            if (accept("]")) return node;
            if (auto comma = expect(","); !comma) return std::move(comma).error();
          }
        }
        break;
      case Token::Kind::End:
        return fail(Errc::InvalidArgument, "an expression is missing");
    }
    return fail(Errc::InvalidArgument, "unexpected '" + token.text + "'");
  }

  std::vector<Token> tokens_;
  std::size_t at_ = 0;
  int depth_ = 0;
};

Result<ExprPtr> parse_expression(const std::string& text) {
  auto tokens = tokenize(text);
  if (!tokens) return std::move(tokens).error();
  return ExpressionParser(std::move(*tokens)).parse_all();
}

// ---- statements ----

struct Node {
  enum class Kind { Text, Output, If, For, Include, Set } kind = Kind::Text;
  int line = 0;
  std::string text;  // Text
  ExprPtr expr;      // Output, For (iterable), Include, Set
  std::vector<std::pair<ExprPtr, std::vector<Node>>> branches;  // If: condition (null: else)
  std::string var, var2;                                        // For, Set
  std::vector<Node> body, otherwise;                            // For
};

struct Template {
  std::string name;
  std::vector<Node> nodes;
};

class TemplateParser {
 public:
  TemplateParser(std::string name, std::vector<Piece> pieces)
      : name_(std::move(name)), pieces_(std::move(pieces)) {}

  Result<std::vector<Node>> parse() {
    std::string ended_by;
    auto nodes = parse_until({}, ended_by);
    if (!nodes) return nodes;
    return nodes;
  }

 private:
  Error error(int line, const std::string& message) const {
    return fail(Errc::InvalidArgument, message, name_ + ":" + std::to_string(line));
  }
  static std::pair<std::string, std::string> keyword_of(const std::string& inside) {
    auto begin = inside.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return {"", ""};
    auto end = begin;
    while (end < inside.size() &&
           (std::isalnum(static_cast<unsigned char>(inside[end])) || inside[end] == '_'))
      ++end;
    return {inside.substr(begin, end - begin), inside.substr(end)};
  }
  Result<ExprPtr> expression(const std::string& text, int line) const {
    auto parsed = parse_expression(text);
    if (!parsed) return error(line, parsed.error().message + " in '" + trimmed(text) + "'");
    return parsed;
  }
  static std::string trimmed(const std::string& text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
  }

  // Nodes until a block whose keyword is in `ends` (returned in `ended_by`).
  Result<std::vector<Node>> parse_until(const std::set<std::string>& ends, std::string& ended_by) {
    std::vector<Node> nodes;
    if (++depth_ > 100) return error(line_, "blocks nest more than 100 deep");
    while (at_ < pieces_.size()) {
      const auto& piece = pieces_[at_++];
      line_ = piece.line;
      if (piece.kind == Piece::Kind::Text) {
        nodes.push_back(Node{Node::Kind::Text, piece.line, piece.text, {}, {}, {}, {}, {}, {}});
        continue;
      }
      if (piece.kind == Piece::Kind::Output) {
        auto expr = expression(piece.text, piece.line);
        if (!expr) return std::move(expr).error();
        Node node;
        node.kind = Node::Kind::Output;
        node.line = piece.line;
        node.expr = std::move(*expr);
        nodes.push_back(std::move(node));
        continue;
      }
      auto [keyword, rest] = keyword_of(piece.text);
      if (ends.contains(keyword)) {
        ended_by = keyword;
        rest_ = rest;
        --depth_;
        return nodes;
      }
      auto node = statement(keyword, rest, piece.line);
      if (!node) return std::move(node).error();
      nodes.push_back(std::move(*node));
    }
    if (!ends.empty()) {
      return error(line_,
                   "the template ends inside a block: '{% " + *ends.rbegin() + " %}' is missing");
    }
    --depth_;
    return nodes;
  }

  Result<Node> statement(const std::string& keyword, const std::string& rest, int line) {
    Node node;
    node.line = line;
    if (keyword == "if") {
      node.kind = Node::Kind::If;
      auto condition = expression(rest, line);
      if (!condition) return std::move(condition).error();
      ExprPtr current = std::move(*condition);
      for (;;) {
        std::string ended_by;
        auto body = parse_until({"elif", "else", "endif"}, ended_by);
        if (!body) return std::move(body).error();
        node.branches.emplace_back(std::move(current), std::move(*body));
        if (ended_by == "endif") return node;
        if (ended_by == "else") {
          auto otherwise = parse_until({"endif"}, ended_by);
          if (!otherwise) return std::move(otherwise).error();
          node.branches.emplace_back(nullptr, std::move(*otherwise));
          return node;
        }
        auto next = expression(rest_, line_);
        if (!next) return std::move(next).error();
        current = std::move(*next);
      }
    }
    if (keyword == "for") {
      node.kind = Node::Kind::For;
      const auto in = rest.find(" in ");
      if (in == std::string::npos) return error(line, "expected 'for NAME in EXPRESSION'");
      auto names = trimmed(rest.substr(0, in));
      auto comma = names.find(',');
      node.var = trimmed(names.substr(0, comma));
      if (comma != std::string::npos) node.var2 = trimmed(names.substr(comma + 1));
      for (const auto* name : {&node.var, &node.var2}) {
        if (name == &node.var2 && comma == std::string::npos) continue;
        if (name->empty() || !std::all_of(name->begin(), name->end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            }))
          return error(line, "expected 'for NAME in EXPRESSION' or 'for KEY, VALUE in ...'");
      }
      auto iterable = expression(rest.substr(in + 4), line);
      if (!iterable) return std::move(iterable).error();
      node.expr = std::move(*iterable);
      std::string ended_by;
      auto body = parse_until({"else", "endfor"}, ended_by);
      if (!body) return std::move(body).error();
      node.body = std::move(*body);
      if (ended_by == "else") {
        auto otherwise = parse_until({"endfor"}, ended_by);
        if (!otherwise) return std::move(otherwise).error();
        node.otherwise = std::move(*otherwise);
      }
      return node;
    }
    if (keyword == "include") {
      node.kind = Node::Kind::Include;
      auto target = expression(rest, line);
      if (!target) return std::move(target).error();
      node.expr = std::move(*target);
      return node;
    }
    if (keyword == "set") {
      node.kind = Node::Kind::Set;
      const auto equals = rest.find('=');
      if (equals == std::string::npos) return error(line, "expected 'set NAME = EXPRESSION'");
      node.var = trimmed(rest.substr(0, equals));
      if (node.var.empty() || !std::all_of(node.var.begin(), node.var.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
          }))
        return error(line, "expected 'set NAME = EXPRESSION'");
      auto value = expression(rest.substr(equals + 1), line);
      if (!value) return std::move(value).error();
      node.expr = std::move(*value);
      return node;
    }
    if (keyword.empty()) return error(line, "an empty '{% %}' tag");
    return error(line, "unknown tag '{% " + keyword + " %}'" +
                           (keyword.starts_with("end") || keyword == "elif" || keyword == "else"
                                ? " here: it closes no open block"
                                : "; the tags are if, elif, else, endif, for, endfor, set and "
                                  "include"));
  }

  std::string name_;
  std::vector<Piece> pieces_;
  std::size_t at_ = 0;
  int line_ = 1;
  int depth_ = 0;
  std::string rest_;  // what followed the keyword of the block that ended the last parse_until
};

Result<Template> parse_template(const std::string& name, const std::string& text) {
  auto pieces = split_pieces(name, text);
  if (!pieces) return std::move(pieces).error();
  auto nodes = TemplateParser(name, std::move(*pieces)).parse();
  if (!nodes) return std::move(nodes).error();
  return Template{name, std::move(*nodes)};
}

// ---- rendering ----

// A value, or the name of what was undefined (an undefined value is an error wherever it is
// used, except by `default`, `is defined` and `is undefined`).
struct Value {
  json v;
  std::optional<std::string> undefined;
};

std::string to_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", d);
      return text;
    }
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool truthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<std::int64_t>() != 0;
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

class Renderer {
 public:
  Renderer(const TemplateLoader& load, const json& variables) : load_(load) {
    scopes_.push_back(variables.is_object() ? variables : json::object());
  }

  Result<void> render(const Template& tmpl, std::string& out, int depth) {
    if (depth > kMaxIncludeDepth)
      return fail(Errc::InvalidArgument, "includes nest more than 16 deep", tmpl.name);
    return render_nodes(tmpl, tmpl.nodes, out, depth);
  }

 private:
  Error error(const Template& tmpl, int line, const std::string& message) const {
    return fail(Errc::InvalidArgument, message, tmpl.name + ":" + std::to_string(line));
  }

  Result<void> render_nodes(const Template& tmpl, const std::vector<Node>& nodes, std::string& out,
                            int depth) {
    for (const auto& node : nodes) {
      if (auto done = render_node(tmpl, node, out, depth); !done) return done;
      if (out.size() > kMaxOutput) return error(tmpl, node.line, "the rendered text passed 64 MiB");
    }
    return ok();
  }

  Result<json> defined(const Template& tmpl, int line, Value value) const {
    if (value.undefined) return error(tmpl, line, "'" + *value.undefined + "' is undefined");
    return std::move(value.v);
  }

  Result<void> render_node(const Template& tmpl, const Node& node, std::string& out, int depth) {
    switch (node.kind) {
      case Node::Kind::Text:
        out += node.text;
        return ok();
      case Node::Kind::Output: {
        auto value = evaluate(tmpl, node.line, *node.expr);
        if (!value) return std::move(value).error();
        auto v = defined(tmpl, node.line, std::move(*value));
        if (!v) return std::move(v).error();
        out += to_text(*v);
        return ok();
      }
      case Node::Kind::Set: {
        auto value = evaluate(tmpl, node.line, *node.expr);
        if (!value) return std::move(value).error();
        auto v = defined(tmpl, node.line, std::move(*value));
        if (!v) return std::move(v).error();
        scopes_.back()[node.var] = std::move(*v);
        return ok();
      }
      case Node::Kind::If:
        for (const auto& [condition, body] : node.branches) {
          if (condition) {
            auto value = evaluate(tmpl, node.line, *condition);
            if (!value) return std::move(value).error();
            if (value->undefined || !truthy(value->v)) continue;
          }
          return render_nodes(tmpl, body, out, depth);
        }
        return ok();
      case Node::Kind::Include: {
        auto value = evaluate(tmpl, node.line, *node.expr);
        if (!value) return std::move(value).error();
        auto target = defined(tmpl, node.line, std::move(*value));
        if (!target) return std::move(target).error();
        if (!target->is_string())
          return error(tmpl, node.line, "include takes a template name (a string)");
        auto text = load_(target->get<std::string>());
        if (!text) {
          auto e = std::move(text).error();
          e.message = "include '" + target->get<std::string>() + "': " + e.message;
          e.where = tmpl.name + ":" + std::to_string(node.line);
          return e;
        }
        auto included = parse_template(target->get<std::string>(), *text);
        if (!included) return std::move(included).error();
        return render(*included, out, depth + 1);
      }
      case Node::Kind::For:
        return render_for(tmpl, node, out, depth);
    }
    return ok();
  }

  Result<void> render_for(const Template& tmpl, const Node& node, std::string& out, int depth) {
    auto value = evaluate(tmpl, node.line, *node.expr);
    if (!value) return std::move(value).error();
    auto iterable = defined(tmpl, node.line, std::move(*value));
    if (!iterable) return std::move(iterable).error();
    std::vector<json> items;
    if (iterable->is_array()) {
      items.assign(iterable->begin(), iterable->end());
    } else if (iterable->is_object()) {
      for (const auto& [key, item] : iterable->items())
        items.push_back(key);
    } else if (!iterable->is_null()) {
      return error(tmpl, node.line, "for: '" + to_text(*iterable) + "' is not a list or a mapping");
    }
    if (items.empty()) return render_nodes(tmpl, node.otherwise, out, depth);
    scopes_.push_back(json::object());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (++iterations_ > kMaxIterations) {
        scopes_.pop_back();
        return error(tmpl, node.line, "more than 1,000,000 loop iterations");
      }
      auto& scope = scopes_.back();
      if (node.var2.empty()) {
        scope[node.var] = items[i];
      } else {
        if (!items[i].is_array() || items[i].size() != 2) {
          scopes_.pop_back();
          return error(tmpl, node.line,
                       "for " + node.var + ", " + node.var2 +
                           ": the items are not pairs (use "
                           "d.items())");
        }
        scope[node.var] = items[i][0];
        scope[node.var2] = items[i][1];
      }
      const auto count = static_cast<std::int64_t>(items.size());
      const auto index = static_cast<std::int64_t>(i);
      scope["loop"] =
          json{{"index", index + 1},         {"index0", index}, {"first", i == 0},
               {"last", index == count - 1}, {"length", count}, {"revindex", count - index}};
      if (auto done = render_nodes(tmpl, node.body, out, depth); !done) {
        scopes_.pop_back();
        return done;
      }
    }
    scopes_.pop_back();
    return ok();
  }

  const json* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return &*found;
    }
    return nullptr;
  }

  Result<Value> evaluate(const Template& tmpl, int line, const Expr& e) {
    auto value_of = [&](const Expr& operand) -> Result<json> {
      auto v = evaluate(tmpl, line, operand);
      if (!v) return std::move(v).error();
      return defined(tmpl, line, std::move(*v));
    };
    switch (e.kind) {
      case Expr::Kind::Literal:
        return Value{e.value, std::nullopt};
      case Expr::Kind::List: {
        json list = json::array();
        for (const auto& item : e.operands) {
          auto v = value_of(*item);
          if (!v) return std::move(v).error();
          list.push_back(std::move(*v));
        }
        return Value{std::move(list), std::nullopt};
      }
      case Expr::Kind::Name: {
        const auto* found = lookup(e.name);
        if (!found) return Value{nullptr, e.name};
        return Value{*found, std::nullopt};
      }
      case Expr::Kind::Attribute:
      case Expr::Kind::Index: {
        auto base = evaluate(tmpl, line, *e.operands[0]);
        if (!base) return base;
        json key = e.name;
        if (e.kind == Expr::Kind::Index) {
          auto k = value_of(*e.operands[1]);
          if (!k) return std::move(k).error();
          key = std::move(*k);
        }
        const auto path =
            (base->undefined ? *base->undefined : describe(*e.operands[0])) +
            (e.kind == Expr::Kind::Attribute
                 ? "." + e.name
                 : "[" + key.dump(-1, ' ', false, json::error_handler_t::replace) + "]");
        if (base->undefined) return Value{nullptr, path};
        const auto& v = base->v;
        if (v.is_object() && key.is_string()) {
          auto found = v.find(key.get<std::string>());
          if (found == v.end()) return Value{nullptr, path};
          return Value{*found, std::nullopt};
        }
        std::int64_t index = 0;
        bool numeric = key.is_number_integer();
        if (numeric) index = key.get<std::int64_t>();
        if (!numeric && key.is_string()) {
          const auto& digits = key.get_ref<const std::string&>();
          if (!digits.empty() && digits.size() < 10 &&
              std::all_of(digits.begin(), digits.end(),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            numeric = true;
            index = std::stoll(digits);
          }
        }
        if ((v.is_array() || v.is_string()) && numeric) {
          const auto size =
              static_cast<std::int64_t>(v.is_array() ? v.size() : v.get<std::string>().size());
          if (index < 0) index += size;
          if (index < 0 || index >= size) return Value{nullptr, path};
          if (v.is_array()) return Value{v[static_cast<std::size_t>(index)], std::nullopt};
          return Value{std::string(1, v.get<std::string>()[static_cast<std::size_t>(index)]),
                       std::nullopt};
        }
        return Value{nullptr, path};
      }
      case Expr::Kind::Call:
        return call_method(tmpl, line, e);
      case Expr::Kind::Filter:
        return apply_filter(tmpl, line, e);
      case Expr::Kind::Test:
        return apply_test(tmpl, line, e);
      case Expr::Kind::Not: {
        auto v = evaluate(tmpl, line, *e.operands[0]);
        if (!v) return v;
        return Value{v->undefined ? true : !truthy(v->v), std::nullopt};
      }
      case Expr::Kind::Negate: {
        auto v = value_of(*e.operands[0]);
        if (!v) return std::move(v).error();
        if (v->is_number_integer()) return Value{-v->get<std::int64_t>(), std::nullopt};
        if (v->is_number()) return Value{-v->get<double>(), std::nullopt};
        return error(tmpl, line, "'-' needs a number, not " + to_text(*v));
      }
      case Expr::Kind::And:
      case Expr::Kind::Or: {
        auto left = evaluate(tmpl, line, *e.operands[0]);
        if (!left) return left;
        const bool left_true = !left->undefined && truthy(left->v);
        if (e.kind == Expr::Kind::And ? !left_true : left_true) return left;
        return evaluate(tmpl, line, *e.operands[1]);
      }
      case Expr::Kind::Conditional: {
        auto condition = evaluate(tmpl, line, *e.operands[1]);
        if (!condition) return condition;
        if (!condition->undefined && truthy(condition->v))
          return evaluate(tmpl, line, *e.operands[0]);
        if (e.operands.size() > 2) return evaluate(tmpl, line, *e.operands[2]);
        return Value{"", std::nullopt};
      }
      case Expr::Kind::Binary:
        return binary(tmpl, line, e);
    }
    return error(tmpl, line, "unhandled expression");
  }

  static std::string describe(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Name:
        return e.name;
      case Expr::Kind::Attribute:
        return describe(*e.operands[0]) + "." + e.name;
      case Expr::Kind::Literal:
        return e.value.dump(-1, ' ', false, json::error_handler_t::replace);
      default:
        return "(expression)";
    }
  }

  Result<Value> binary(const Template& tmpl, int line, const Expr& e) {
    auto left_value = evaluate(tmpl, line, *e.operands[0]);
    if (!left_value) return left_value;
    auto right_value = evaluate(tmpl, line, *e.operands[1]);
    if (!right_value) return right_value;
    auto left = defined(tmpl, line, std::move(*left_value));
    if (!left) return std::move(left).error();
    auto right = defined(tmpl, line, std::move(*right_value));
    if (!right) return std::move(right).error();
    const auto& a = *left;
    const auto& b = *right;
    const auto& op = e.name;
    if (op == "==") return Value{a == b, std::nullopt};
    if (op == "!=") return Value{a != b, std::nullopt};
    if (op == "~") return Value{to_text(a) + to_text(b), std::nullopt};
    if (op == "in") {
      bool found = false;
      if (b.is_array())
        found = std::find(b.begin(), b.end(), a) != b.end();
      else if (b.is_object() && a.is_string())
        found = b.contains(a.get<std::string>());
      else if (b.is_string() && a.is_string())
        found = b.get<std::string>().find(a.get<std::string>()) != std::string::npos;
      else
        return error(tmpl, line, "'in' needs a list, mapping or string on its right");
      return Value{e.negated ? !found : found, std::nullopt};
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      if (!((a.is_number() && b.is_number()) || (a.is_string() && b.is_string())))
        return error(tmpl, line, "cannot compare " + to_text(a) + " and " + to_text(b));
      const bool less = a < b, equal = a == b;
      const bool result = op == "<"    ? less
                          : op == "<=" ? less || equal
                          : op == ">"  ? !less && !equal
                                       : !less;
      return Value{result, std::nullopt};
    }
    if (op == "+" && a.is_string() && b.is_string())
      return Value{a.get<std::string>() + b.get<std::string>(), std::nullopt};
    if (op == "+" && a.is_array() && b.is_array()) {
      json joined = a;
      joined.insert(joined.end(), b.begin(), b.end());
      return Value{std::move(joined), std::nullopt};
    }
    if (!a.is_number() || !b.is_number())
      return error(tmpl, line,
                   "'" + op + "' needs numbers, not " + to_text(a) + " and " + to_text(b));
    if (a.is_number_integer() && b.is_number_integer() && op != "/") {
      const auto x = a.get<std::int64_t>(), y = b.get<std::int64_t>();
      if ((op == "%") && y == 0) return error(tmpl, line, "modulo by zero");
      if (op == "+")
        return Value{static_cast<std::int64_t>(static_cast<std::uint64_t>(x) +
                                               static_cast<std::uint64_t>(y)),
                     std::nullopt};
      if (op == "-")
        return Value{static_cast<std::int64_t>(static_cast<std::uint64_t>(x) -
                                               static_cast<std::uint64_t>(y)),
                     std::nullopt};
      if (op == "*")
        return Value{static_cast<std::int64_t>(static_cast<std::uint64_t>(x) *
                                               static_cast<std::uint64_t>(y)),
                     std::nullopt};
      if (y == -1) return Value{std::int64_t{0}, std::nullopt};
      return Value{((x % y) + y) % y, std::nullopt};
    }
    const double x = a.get<double>(), y = b.get<double>();
    if (op == "+") return Value{x + y, std::nullopt};
    if (op == "-") return Value{x - y, std::nullopt};
    if (op == "*") return Value{x * y, std::nullopt};
    if (y == 0) return error(tmpl, line, "division by zero");
    if (op == "/") return Value{x / y, std::nullopt};
    return Value{std::fmod(x, y), std::nullopt};
  }

  Result<std::vector<json>> argument_values(const Template& tmpl, int line, const Expr& e) {
    std::vector<json> values;
    for (const auto& arg : e.arguments) {
      auto v = evaluate(tmpl, line, *arg);
      if (!v) return std::move(v).error();
      auto d = defined(tmpl, line, std::move(*v));
      if (!d) return std::move(d).error();
      values.push_back(std::move(*d));
    }
    return values;
  }

  static std::string lowered(std::string text) {
    for (auto& c : text)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  static std::string uppered(std::string text) {
    for (auto& c : text)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }
  static std::string stripped(const std::string& text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
  }

  Result<Value> call_method(const Template& tmpl, int line, const Expr& e) {
    auto base = evaluate(tmpl, line, *e.operands[0]);
    if (!base) return base;
    auto object = defined(tmpl, line, std::move(*base));
    if (!object) return std::move(object).error();
    auto args = argument_values(tmpl, line, e);
    if (!args) return std::move(args).error();
    const auto& v = *object;
    const auto& m = e.name;
    if (v.is_object() && (m == "items" || m == "keys" || m == "values")) {
      json out = json::array();
      for (const auto& [key, item] : v.items()) {
        if (m == "items") out.push_back(json::array({key, item}));
        if (m == "keys") out.push_back(key);
        if (m == "values") out.push_back(item);
      }
      return Value{std::move(out), std::nullopt};
    }
    if (v.is_string()) {
      const auto s = v.get<std::string>();
      const auto arg =
          !args->empty() && (*args)[0].is_string() ? (*args)[0].get<std::string>() : "";
      if (m == "upper") return Value{uppered(s), std::nullopt};
      if (m == "lower") return Value{lowered(s), std::nullopt};
      if (m == "strip") return Value{stripped(s), std::nullopt};
      if (m == "startswith") return Value{s.starts_with(arg), std::nullopt};
      if (m == "endswith") return Value{s.ends_with(arg), std::nullopt};
      if (m == "split") {
        json parts = json::array();
        if (arg.empty()) {
          std::size_t at = 0;
          while ((at = s.find_first_not_of(" \t\r\n", at)) != std::string::npos) {
            auto end = s.find_first_of(" \t\r\n", at);
            parts.push_back(s.substr(at, end == std::string::npos ? std::string::npos : end - at));
            at = end;
          }
        } else {
          std::size_t at = 0;
          for (;;) {
            auto end = s.find(arg, at);
            parts.push_back(s.substr(at, end == std::string::npos ? std::string::npos : end - at));
            if (end == std::string::npos) break;
            at = end + arg.size();
          }
        }
        return Value{std::move(parts), std::nullopt};
      }
    }
    return error(tmpl, line, "no method '" + m + "' on " + describe(*e.operands[0]));
  }

  Result<Value> apply_test(const Template& tmpl, int line, const Expr& e) {
    auto value = evaluate(tmpl, line, *e.operands[0]);
    if (!value) return value;
    bool result = false;
    const auto& t = e.name;
    if (t == "defined" || t == "undefined") {
      result = !value->undefined;
      if (t == "undefined") result = !result;
    } else {
      auto v = defined(tmpl, line, std::move(*value));
      if (!v) return std::move(v).error();
      if (t == "none")
        result = v->is_null();
      else if (t == "number")
        result = v->is_number();
      else if (t == "string")
        result = v->is_string();
      else if (t == "mapping")
        result = v->is_object();
      else if (t == "sequence" || t == "iterable")
        result = v->is_array() || v->is_string();
      else if (t == "even" || t == "odd") {
        if (!v->is_number_integer()) return error(tmpl, line, "'is " + t + "' needs an integer");
        result = (v->get<std::int64_t>() % 2 == 0) == (t == "even");
      } else {
        return error(tmpl, line,
                     "unknown test 'is " + t +
                         "'; tests: defined, undefined, none, number, string, "
                         "mapping, sequence, even, odd");
      }
    }
    return Value{e.negated ? !result : result, std::nullopt};
  }

  Result<Value> apply_filter(const Template& tmpl, int line, const Expr& e) {
    const auto& f = e.name;
    auto value = evaluate(tmpl, line, *e.operands[0]);
    if (!value) return value;
    auto args = argument_values(tmpl, line, e);
    if (!args) return std::move(args).error();
    if (f == "default" || f == "d") {
      const json fallback = args->empty() ? json("") : (*args)[0];
      const bool on_false = args->size() > 1 && truthy((*args)[1]);
      if (value->undefined || (on_false && !truthy(value->v))) return Value{fallback, std::nullopt};
      return value;
    }
    auto v_result = defined(tmpl, line, std::move(*value));
    if (!v_result) return std::move(v_result).error();
    const json v = std::move(*v_result);
    auto text_arg = [&](std::size_t i, const std::string& fallback) {
      return args->size() > i ? to_text((*args)[i]) : fallback;
    };
    auto need = [&](bool ok, const std::string& what) -> Result<void> {
      if (ok) return nauto::ok();
      return error(tmpl, line, "filter '" + f + "' needs " + what + ", not " + to_text(v));
    };
    if (f == "upper") return Value{uppered(to_text(v)), std::nullopt};
    if (f == "lower") return Value{lowered(to_text(v)), std::nullopt};
    if (f == "trim") return Value{stripped(to_text(v)), std::nullopt};
    if (f == "string") return Value{to_text(v), std::nullopt};
    if (f == "capitalize" || f == "title") {
      auto s = lowered(to_text(v));
      bool start = true;
      for (auto& c : s) {
        if (start && std::isalpha(static_cast<unsigned char>(c)))
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        start = f == "title" ? !std::isalnum(static_cast<unsigned char>(c)) : false;
        if (f == "capitalize" && &c == &s[0]) start = false;
      }
      return Value{s, std::nullopt};
    }
    if (f == "replace") {
      auto s = to_text(v);
      const auto from = text_arg(0, ""), to = text_arg(1, "");
      if (from.empty()) return Value{s, std::nullopt};
      std::string out;
      std::size_t at = 0;
      for (auto found = s.find(from); found != std::string::npos; found = s.find(from, at)) {
        out += s.substr(at, found - at) + to;
        at = found + from.size();
        if (out.size() > kMaxOutput) return error(tmpl, line, "replace made more than 64 MiB");
      }
      return Value{out + s.substr(at), std::nullopt};
    }
    if (f == "indent") {
      const auto width = args->empty() || !(*args)[0].is_number_integer()
                             ? std::int64_t{4}
                             : std::clamp<std::int64_t>((*args)[0].get<std::int64_t>(), 0, 1000);
      const bool first = args->size() > 1 && truthy((*args)[1]);
      const std::string pad(static_cast<std::size_t>(width), ' ');
      auto s = to_text(v);
      std::string out = first ? pad : "";
      for (std::size_t i = 0; i < s.size(); ++i) {
        out.push_back(s[i]);
        if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] != '\n') out += pad;
      }
      return Value{out, std::nullopt};
    }
    if (f == "int") {
      if (v.is_number()) return Value{static_cast<std::int64_t>(v.get<double>()), std::nullopt};
      const auto s = to_text(v);
      char* end = nullptr;
      const auto parsed = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str()) return Value{args->empty() ? json(0) : (*args)[0], std::nullopt};
      return Value{static_cast<std::int64_t>(parsed), std::nullopt};
    }
    if (f == "float") {
      if (v.is_number()) return Value{v.get<double>(), std::nullopt};
      return Value{std::strtod(to_text(v).c_str(), nullptr), std::nullopt};
    }
    if (f == "abs") {
      if (auto ok = need(v.is_number(), "a number"); !ok) return std::move(ok).error();
      if (v.is_number_integer()) return Value{std::llabs(v.get<std::int64_t>()), std::nullopt};
      return Value{std::fabs(v.get<double>()), std::nullopt};
    }
    if (f == "round") {
      if (auto ok = need(v.is_number(), "a number"); !ok) return std::move(ok).error();
      const auto digits = args->empty() || !(*args)[0].is_number_integer()
                              ? 0
                              : std::clamp<std::int64_t>((*args)[0].get<std::int64_t>(), 0, 15);
      const double scale = std::pow(10.0, static_cast<double>(digits));
      return Value{std::round(v.get<double>() * scale) / scale, std::nullopt};
    }
    if (f == "length" || f == "count") {
      if (v.is_string()) return Value{v.get<std::string>().size(), std::nullopt};
      if (auto ok = need(v.is_array() || v.is_object(), "a list, mapping or string"); !ok)
        return std::move(ok).error();
      return Value{v.size(), std::nullopt};
    }
    if (f == "join") {
      if (auto ok = need(v.is_array(), "a list"); !ok) return std::move(ok).error();
      const auto separator = text_arg(0, "");
      std::string out;
      for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i ? separator : "") + to_text(v[i]);
        if (out.size() > kMaxOutput) return error(tmpl, line, "join made more than 64 MiB");
      }
      return Value{out, std::nullopt};
    }
    if (f == "first" || f == "last") {
      if (auto ok = need(v.is_array() || v.is_string(), "a list or string"); !ok)
        return std::move(ok).error();
      if (v.empty() || (v.is_string() && v.get<std::string>().empty()))
        return Value{nullptr,
                     "(" + f + " of an empty " + (v.is_string() ? "string" : "list") + ")"};
      if (v.is_string()) {
        const auto s = v.get<std::string>();
        return Value{std::string(1, f == "first" ? s.front() : s.back()), std::nullopt};
      }
      return Value{f == "first" ? v.front() : v.back(), std::nullopt};
    }
    if (f == "list") {
      if (v.is_array()) return Value{v, std::nullopt};
      json out = json::array();
      if (v.is_object())
        for (const auto& [key, item] : v.items())
          out.push_back(key);
      else if (v.is_string())
        for (char c : v.get<std::string>())
          out.push_back(std::string(1, c));
      else
        return error(tmpl, line, "filter 'list' needs a list, mapping or string");
      return Value{std::move(out), std::nullopt};
    }
    if (f == "sort" || f == "unique" || f == "reverse" || f == "max" || f == "min") {
      if (auto ok = need(v.is_array(), "a list"); !ok) return std::move(ok).error();
      std::vector<json> items(v.begin(), v.end());
      if (f == "reverse") {
        std::reverse(items.begin(), items.end());
        return Value{json(items), std::nullopt};
      }
      if (f == "unique") {
        std::vector<json> seen;
        for (auto& item : items)
          if (std::find(seen.begin(), seen.end(), item) == seen.end()) seen.push_back(item);
        return Value{json(seen), std::nullopt};
      }
      std::stable_sort(items.begin(), items.end());
      if (f == "sort") return Value{json(items), std::nullopt};
      if (items.empty()) return Value{nullptr, "(" + f + " of an empty list)"};
      return Value{f == "max" ? items.back() : items.front(), std::nullopt};
    }
    return error(tmpl, line,
                 "unknown filter '" + f +
                     "'; filters: default, upper, lower, title, capitalize, trim, replace, "
                     "indent, int, float, abs, round, string, length, join, first, last, list, "
                     "sort, unique, reverse, max, min");
  }

  const TemplateLoader& load_;
  std::vector<json> scopes_;
  std::int64_t iterations_ = 0;
};

}  // namespace

Result<std::string> render_template(const std::string& name, const TemplateLoader& load,
                                    const json& variables) {
  auto text = load(name);
  if (!text) return std::move(text).error();
  auto parsed = parse_template(name, *text);
  if (!parsed) return std::move(parsed).error();
  std::string out;
  Renderer renderer(load, variables);
  if (auto done = renderer.render(*parsed, out, 0); !done) return std::move(done).error();
  return out;
}

Result<void> check_template(const std::string& name, const std::string& text) {
  auto parsed = parse_template(name, text);
  if (!parsed) return std::move(parsed).error();
  return ok();
}

}  // namespace nauto::text
