#include "selector.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace nauto::inventory {

struct Selector::Node {
  enum class Kind { All, Match, Not, And, Or };
  Kind kind = Kind::All;
  std::string key;                  // Match
  std::vector<std::string> values;  // Match: any of
  bool negated = false;             // Match with !=
  std::shared_ptr<const Node> left, right;
};

namespace {

using Node = Selector::Node;
using NodePtr = std::shared_ptr<const Node>;

const std::set<std::string> kBuiltinKeys = {"name",      "host",       "port",     "platform",
                                            "transport", "credential", "username", "url",
                                            "serial",    "tag",        "group"};

bool glob_match(const std::string& pattern, const std::string& value) {
  return ::fnmatch(pattern.c_str(), value.c_str(), FNM_CASEFOLD) == 0;
}

struct Token {
  enum class Kind { Word, LeftParen, RightParen, End };
  Kind kind = Kind::End;
  std::string text;
  std::size_t position = 0;
};

// A word runs until whitespace or a parenthesis, so `site=dc1,dc2` is one token.
std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')') {
      tokens.push_back({c == '(' ? Token::Kind::LeftParen : Token::Kind::RightParen, {c}, i});
      ++i;
    } else {
      const auto start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             text[i] != '(' && text[i] != ')')
        ++i;
      tokens.push_back({Token::Kind::Word, text.substr(start, i - start), start});
    }
  }
  tokens.push_back({Token::Kind::End, "", text.size()});
  return tokens;
}

class Parser {
 public:
  Parser(const std::string& text, const std::vector<std::string>* variables)
      : text_(text), tokens_(tokenize(text)), check_keys_(variables != nullptr) {
    if (variables) known_.insert(variables->begin(), variables->end());
  }

  Result<NodePtr> parse() {
    if (tokens_.front().kind == Token::Kind::End) {
      return error(0, "empty selector; use 'all' for every device");
    }
    auto root = parse_or();
    if (!root) return root;
    if (peek().kind != Token::Kind::End) {
      return error(peek().position, "unexpected '" + peek().text + "'; join terms with and/or");
    }
    return root;
  }

 private:
  const Token& peek() const { return tokens_[next_]; }
  bool is_word(const char* word) const {
    return peek().kind == Token::Kind::Word && peek().text == word;
  }

  Error error(std::size_t position, const std::string& what) const {
    return fail(Errc::InvalidArgument, "selector '" + text_ + "' at character " +
                                           std::to_string(position + 1) + ": " + what);
  }

  Result<NodePtr> combine(Node::Kind kind, const char* word, Result<NodePtr> (Parser::*operand)()) {
    auto left = (this->*operand)();
    if (!left) return left;
    NodePtr node = *left;
    while (is_word(word)) {
      ++next_;
      auto right = (this->*operand)();
      if (!right) return right;
      auto joined = std::make_shared<Node>();
      joined->kind = kind;
      joined->left = node;
      joined->right = *right;
      node = joined;
    }
    return node;
  }

  Result<NodePtr> parse_or() { return combine(Node::Kind::Or, "or", &Parser::parse_and); }
  Result<NodePtr> parse_and() { return combine(Node::Kind::And, "and", &Parser::parse_not); }

  Result<NodePtr> parse_not() {
    if (is_word("not")) {
      ++next_;
      auto operand = parse_not();
      if (!operand) return operand;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::Not;
      node->left = *operand;
      return NodePtr(node);
    }
    return parse_term();
  }

  Result<NodePtr> parse_term() {
    const auto token = peek();
    if (token.kind == Token::Kind::LeftParen) {
      ++next_;
      auto inner = parse_or();
      if (!inner) return inner;
      if (peek().kind != Token::Kind::RightParen) return error(peek().position, "expected ')'");
      ++next_;
      return inner;
    }
    if (token.kind != Token::Kind::Word || token.text == "and" || token.text == "or") {
      return error(token.position,
                   token.kind == Token::Kind::End
                       ? "expected a term (key=value or a name) at the end"
                       : "expected a term (key=value or a name), got '" + token.text + "'");
    }
    ++next_;
    auto node = std::make_shared<Node>();
    if (token.text == "all" || token.text == "*") {
      node->kind = Node::Kind::All;
      return NodePtr(node);
    }
    node->kind = Node::Kind::Match;
    std::string values;
    const auto equals = token.text.find('=');
    if (equals == std::string::npos) {
      node->key = "name";
      values = token.text;
    } else {
      node->negated = equals > 0 && token.text[equals - 1] == '!';
      node->key = token.text.substr(0, node->negated ? equals - 1 : equals);
      values = token.text.substr(equals + 1);
      if (node->key.empty()) return error(token.position, "missing key before '='");
      if (values.empty()) {
        return error(token.position + equals + 1,
                     "missing value after '" + node->key + "='; quote values with spaces");
      }
      if (auto checked = check_key(node->key, token.position); !checked) {
        return std::move(checked).error();
      }
    }
    std::size_t start = 0;
    while (start <= values.size()) {
      const auto comma = values.find(',', start);
      const auto value = values.substr(start, comma == std::string::npos ? comma : comma - start);
      if (value.empty()) return error(token.position, "empty value in '" + token.text + "'");
      node->values.push_back(value);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return NodePtr(node);
  }

  Result<void> check_key(const std::string& key, std::size_t position) const {
    if (kBuiltinKeys.count(key) || !check_keys_) return ok();
    const auto var = key.rfind("vars.", 0) == 0 ? key.substr(5) : key;
    if (known_.count(var)) return ok();
    std::string keys;
    for (const auto& k : kBuiltinKeys)
      keys += (keys.empty() ? "" : ", ") + k;
    for (const auto& k : known_)
      keys += ", " + k;
    return error(position, "unknown key '" + key + "'; known keys: " + keys);
  }

  std::string text_;
  std::vector<Token> tokens_;
  std::set<std::string> known_;
  bool check_keys_;
  std::size_t next_ = 0;
};

bool match_list(const std::vector<std::string>& items, const std::vector<std::string>& patterns) {
  for (const auto& item : items) {
    for (const auto& pattern : patterns) {
      if (glob_match(pattern, item)) return true;
    }
  }
  return false;
}

bool evaluate(const Node& node, const Host& host) {
  switch (node.kind) {
    case Node::Kind::All:
      return true;
    case Node::Kind::Not:
      return !evaluate(*node.left, host);
    case Node::Kind::And:
      return evaluate(*node.left, host) && evaluate(*node.right, host);
    case Node::Kind::Or:
      return evaluate(*node.left, host) || evaluate(*node.right, host);
    case Node::Kind::Match: {
      bool found = false;
      if (node.key == "tag") {
        found = match_list(host.tags, node.values);
      } else if (node.key == "group") {
        found = match_list(host.groups, node.values);
      } else {
        const auto value = host.attribute(node.key);
        found = !value.empty() && match_list({value}, node.values);
      }
      return found != node.negated;
    }
  }
  return false;
}

}  // namespace

Result<Selector> Selector::parse(const std::string& text,
                                 const std::vector<std::string>* variables) {
  Parser parser(text, variables);
  auto root = parser.parse();
  if (!root) return std::move(root).error();
  Selector selector;
  selector.text_ = text;
  selector.root_ = *root;
  return selector;
}

bool Selector::matches(const Host& host) const {
  return evaluate(*root_, host);
}

std::vector<std::string> variable_names(const Inventory& inventory) {
  std::set<std::string> names;
  for (const auto& host : inventory.hosts()) {
    for (const auto& [key, value] : host.vars.items())
      names.insert(key);
  }
  return {names.begin(), names.end()};
}

std::vector<const Host*> select(const Inventory& inventory, const Selector& selector) {
  std::vector<const Host*> out;
  for (const auto& host : inventory.hosts()) {
    if (selector.matches(host)) out.push_back(&host);
  }
  return out;
}

}  // namespace nauto::inventory
