#pragma once
// MessageClassifier: turns known syslog messages into typed events. Each MessageRule is a
// regular expression (Python syntax, as TextFSM templates use, with named groups) searched in
// the message text; the first rule that matches gives the event kind (`interface.down`) and its
// fields (the named groups plus the rule's constant `set` fields). Messages no rule knows keep
// the kind `syslog`.
//
// The built-in rules cover what Cisco IOS, Arista EOS, Cisco NX-OS, Junos and Linux sshd print
// for interface up/down, BGP adjacency changes, configuration changes and failed logins;
// configured rules are tried first, so a site can refine or override them. A rule whose
// captured fields hold a control character does not match (text::has_control_character): fields
// flow into rules, runbooks and device commands, where "Gi0/1\nreload" would be a second line.
// Immutable after construction; classify() is const and cheap for messages no rule mentions
// (each rule has a literal that must occur in the text before its regex runs).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/text/regex.h"

namespace nauto::syslog {

struct MessageRuleSpec {
  std::string name;
  std::string kind;      ///< dotted event kind: interface.down, bgp.up, config.changed, ...
  std::string contains;  ///< a literal that must occur in the text (a cheap prefilter)
  std::string pattern;   ///< Python-syntax regex with named groups, searched anywhere
  nlohmann::json set = nlohmann::json::object();  ///< constant fields added on a match
};

struct Classification {
  std::string kind = "syslog";
  std::string rule;  ///< the message rule that matched; empty for `syslog`
  nlohmann::json fields = nlohmann::json::object();
};

class MessageClassifier {
 public:
  /// Compiles `configured` (tried first) and the built-in rules. Errors name the rule
  /// (`modules.syslog.message_rules[2].pattern: ...`).
  static Result<MessageClassifier> create(const std::vector<MessageRuleSpec>& configured);
  /// Reads message rule specs from config: [{name, kind, contains, pattern, set}].
  static Result<std::vector<MessageRuleSpec>> read_specs(const nlohmann::json& list,
                                                         const std::string& where);
  static const std::vector<MessageRuleSpec>& builtin_rules();

  Classification classify(std::string_view text) const;
  std::size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    MessageRuleSpec spec;
    text::Regex regex;
  };
  std::vector<Rule> rules_;
};

}  // namespace nauto::syslog
