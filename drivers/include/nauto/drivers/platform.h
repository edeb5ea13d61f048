#pragma once
// PlatformDefinition: everything that differs between CLI vendors, as data — prompt patterns,
// paging, enable, config mode, confirmation prompts, error markers, the commands for config and
// facts. Built-in definitions live in drivers/<platform>/platform.yaml and are compiled in; more
// can be loaded from a directory at run time, so a new CLI vendor needs no rebuild
// (docs/drivers.md).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/device_target.h"

namespace nauto::drivers {

/// A prompt the device may ask mid-command, and what to answer ("" = just Enter).
struct ConfirmationPrompt {
  std::string pattern;
  std::string answer;
};

/// How config text is structured, which decides the diff used.
enum class ConfigSyntax {
  Indented,  ///< IOS-like: sections by indentation, `no X` negates (hierarchy-aware diff)
  SetLines,  ///< Junos `set`/`delete` lines
  Flat,      ///< no structure known: unified diff only
};

struct PlatformDefinition {
  std::string name;    ///< cisco_ios
  std::string vendor;  ///< Cisco
  /// ssh_cli (interactive shell), ssh_exec (one exec channel per command), netconf, eapi,
  /// nxapi, rest. The first listed is the default; a target may pick another.
  std::vector<std::string> transports;
  Timeouts timeouts;

  // Prompts: regular expressions (ECMAScript) for the last line of output. `{host}` is replaced
  // by the escaped hostname learned at login with `host_pattern` (its first capture group).
  std::string host_pattern;
  std::string user_prompt;
  std::string privileged_prompt;
  std::string config_prompt;
  std::string pager_pattern;               ///< e.g. --More--; answered with a space
  std::vector<std::string> session_setup;  ///< sent once after login (paging off, width)
  std::string enable_command;              ///< empty: no enable mode
  std::string password_prompt = R"([Pp]assword:\s*$)";
  std::string config_enter;
  std::string config_exit;
  std::string config_commit;  ///< Junos `commit`; empty when config applies at once
  std::vector<ConfirmationPrompt> confirmations;
  std::vector<std::string> error_patterns;  ///< a line matching one means the command failed
  std::string hostname_config;  ///< regex over pushed lines whose capture renames the prompt

  // Commands.
  std::string show_running;
  std::string show_startup;
  std::string show_candidate_diff;  ///< Junos `show | compare`
  std::string save_config;
  std::string rollback_command;  ///< with {id}: Junos `rollback {id}`
  /// Everyday commands written out in full, for `nauto shell` completion (the TextFSM index
  /// adds the commands it has templates for). Not a limit: any command can be sent.
  std::vector<std::string> commands;
  ConfigSyntax syntax = ConfigSyntax::Flat;
  /// Lines of the running config that are not config (timestamps, byte counts); left out of
  /// diffs and snapshots.
  std::vector<std::string> volatile_lines;
  /// Regexes of config lines holding a secret (a password, hash, community or key): each of
  /// their capture groups is replaced by `<redacted>` (redact_secrets) before a config is
  /// archived.
  std::vector<std::string> secret_patterns;
  /// Regexes of commands and config lines that take a device or its routing down (reload,
  /// write erase, no router bgp...): jobs holding one need allow_dangerous or an approval.
  std::vector<std::string> dangerous_commands;
  /// Regexes whose first capture is a key: a pushed line with the same key as a running one
  /// replaces it (`hostname`, `description`), so the diff emits no `no` line for the old one.
  std::vector<std::string> replace_keys;

  // Facts: one command, and a regex per field (first capture group is the value).
  std::string facts_command;
  std::map<std::string, std::string> facts_patterns;
};

/// Parses one definition from YAML text; errors name the file and key path.
Result<PlatformDefinition> parse_platform(const std::string& yaml_text, const std::string& source);

/// The known platforms: built-ins, plus any *.yaml in the directories given (later wins).
class PlatformCatalog {
 public:
  /// Built-ins, then `$NAUTO_PLATFORM_DIR` if set.
  static Result<PlatformCatalog> load_default();
  Result<void> load_directory(const std::string& directory);
  Result<void> add(PlatformDefinition definition);
  /// The definition, or NotFound listing the known names.
  Result<const PlatformDefinition*> find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::shared_ptr<const PlatformDefinition>> platforms_;
};

}  // namespace nauto::drivers

namespace nauto::drivers {

/// The target's own timeouts if it has them, else the platform's (CallOptions may still
/// override idle per call).
Timeouts effective_timeouts(const DeviceTarget& target, const PlatformDefinition& platform);
/// The text with every line matching one of the platform's volatile_lines removed.
std::string drop_volatile_lines(const std::string& text, const PlatformDefinition& platform);
/// Marks every secret a secret_patterns regex captures, in every line, as kRedacted; the rest
/// of the text is unchanged. Returns how many secrets were replaced through `replaced`.
std::string redact_secrets(const std::string& text, const PlatformDefinition& platform,
                           std::size_t* replaced = nullptr);
/// What a redacted secret reads as.
inline constexpr std::string_view kRedacted = "<redacted>";

struct Facts;
/// Fills facts from one command's output with the platform's facts_patterns (multiline).
void extract_facts(const std::string& output, const PlatformDefinition& platform, Facts& facts);

}  // namespace nauto::drivers
