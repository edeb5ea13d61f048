// Junos CLI: operational mode (`user@host>`) and configuration mode (`user@host#` with the
// [edit ...] banner) over the shared candidate configuration — set/delete/edit, show | compare,
// commit, commit confirmed N, commit check, rollback N — worded as Junos words them.
#include <set>

#include "cli_engine.h"
#include "nauto/text/regex.h"
#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {
namespace {

enum Command {
  kShowVersion,
  kShowInterfaces,
  kShowInterfacesTerse,
  kShowInterfacesDescriptions,
  kShowInterface,
  kShowRoute,
  kShowBgpSummary,
  kShowBgpNeighbor,
  kShowBgpNeighborOne,
  kShowLldp,
  kShowChassisHardware,
  kShowSystemUptime,
  kShowConfiguration,
  kShowConfigurationPath,
  kScreenLength,
  kScreenWidth,
  kCompleteOnSpace,
  kConfigure,
  kConfigurePrivate,
  kConfigureExclusive,
  kExit,
};

enum ConfigCommand {
  kSet,
  kDelete,
  kEdit,
  kUp,
  kTop,
  kExitConfig,
  kExitConfigMode,
  kShowCandidate,
  kShowCandidatePath,
  kCommit,
  kCommitCheck,
  kCommitConfirmed,
  kCommitConfirmedMinutes,
  kCommitAndQuit,
  kCommitComment,
  kRollback,
  kRollbackNumber,
  kRun,
  kStatus,
};

class JunosCli : public CliEngine {
 public:
  JunosCli(Device& device, SessionInfo session) : CliEngine(device, std::move(session)) {
    page_length_ = 24;
    op_.add("show version", kShowVersion);
    op_.add("show interfaces", kShowInterfaces);
    op_.add("show interfaces terse", kShowInterfacesTerse);
    op_.add("show interfaces descriptions", kShowInterfacesDescriptions);
    op_.add("show interfaces <WORD>", kShowInterface);
    op_.add("show route", kShowRoute);
    op_.add("show bgp summary", kShowBgpSummary);
    op_.add("show bgp neighbor", kShowBgpNeighbor);
    op_.add("show bgp neighbor <WORD>", kShowBgpNeighborOne);
    op_.add("show lldp neighbors", kShowLldp);
    op_.add("show chassis hardware", kShowChassisHardware);
    op_.add("show system uptime", kShowSystemUptime);
    op_.add("show configuration", kShowConfiguration);
    op_.add("show configuration <REST>", kShowConfigurationPath);
    op_.add("set cli screen-length <WORD>", kScreenLength);
    op_.add("set cli screen-width <WORD>", kScreenWidth);
    op_.add("set cli complete-on-space <WORD>", kCompleteOnSpace);
    op_.add("configure", kConfigure);
    op_.add("configure private", kConfigurePrivate);
    op_.add("configure exclusive", kConfigureExclusive);
    op_.add("exit", kExit);
    op_.add("quit", kExit);
    config_.add("set <REST>", kSet);
    config_.add("delete <REST>", kDelete);
    config_.add("edit <REST>", kEdit);
    config_.add("up", kUp);
    config_.add("top", kTop);
    config_.add("exit", kExitConfig);
    config_.add("quit", kExitConfig);
    config_.add("exit configuration-mode", kExitConfigMode);
    config_.add("show", kShowCandidate);
    config_.add("show <REST>", kShowCandidatePath);
    config_.add("commit", kCommit);
    config_.add("commit check", kCommitCheck);
    config_.add("commit confirmed", kCommitConfirmed);
    config_.add("commit confirmed <WORD>", kCommitConfirmedMinutes);
    config_.add("commit and-quit", kCommitAndQuit);
    config_.add("commit comment <REST>", kCommitComment);
    config_.add("rollback", kRollback);
    config_.add("rollback <WORD>", kRollbackNumber);
    config_.add("run <REST>", kRun);
    config_.add("status", kStatus);
  }

  ~JunosCli() override { release_lock(); }

  std::string banner() override {
    return "--- JUNOS " + device_.view().os_version + " Kernel 64-bit\n";
  }

  std::string prompt() const override {
    std::string host =
        device_.read([&](const DeviceState& s) { return device_.hostname_locked(s); });
    std::string base = session_.user + "@" + host;
    if (!configuring_) return base + "> ";
    std::string edit = "[edit";
    for (const auto& word : edit_path_)
      edit += " " + word;
    return "\n" + edit + "]\n" + base + "# ";
  }

  std::string more_prompt() const override { return "---(more)---"; }

 protected:
  CliReply run(const std::string& line) override {
    auto parts = split_pipes(line);
    auto words = split_line(parts[0]);
    if (words.empty()) return {};
    device_.record_command(session_.channel, line);
    return configuring_ ? configure_line(words, parts) : operational(words, parts);
  }

  bool apply_pipe(const std::string& filter, std::string& text, CliReply& reply) override {
    auto words = junos_words(filter);
    if (words.empty()) return bad_pipe(reply);
    const std::string& kind = words[0];
    if (kind == "no-more") return true;
    if (kind == "display" && words.size() == 2 && words[1] == "set") return true;  // caller renders
    if (kind == "count") {
      size_t lines = std::count(text.begin(), text.end(), '\n');
      text = "Count: " + std::to_string(lines) + " lines\n";
      return true;
    }
    if ((kind == "match" || kind == "except") && words.size() >= 2) {
      auto regex = nauto::text::Regex::compile(words[1], nauto::text::Regex::Anchor::Anywhere);
      if (!regex) {
        reply.output = "error: invalid regular expression '" + words[1] + "'\n";
        reply.error = true;
        return false;
      }
      std::string out;
      size_t pos = 0;
      while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string current = text.substr(pos, end - pos);
        pos = end + 1;
        if (nauto::text::matches(*regex, current) == (kind == "match")) out += current + "\n";
      }
      text = out;
      return true;
    }
    return bad_pipe(reply);
  }

 private:
  bool bad_pipe(CliReply& reply) const {
    reply.output =
        "error: syntax error, expecting <command>: display, match, except, count, no-more, "
        "compare\n";
    reply.error = true;
    return false;
  }

  CliReply syntax_error(const std::vector<Word>& words, size_t bad,
                        const std::string& message) const {
    CliReply reply;
    reply.error = true;
    size_t column = prompt_width();
    if (bad < words.size())
      column += words[bad].column;
    else if (!words.empty())
      column += words.back().column + words.back().text.size() + 1;
    reply.output = std::string(column, ' ') + "^\n" + message + "\n";
    return reply;
  }

  size_t prompt_width() const {
    auto text = prompt();
    auto newline = text.rfind('\n');
    return newline == std::string::npos ? text.size() : text.size() - newline - 1;
  }

  CliReply match_error(const CommandTable::Match& match, const std::vector<Word>& words) const {
    if (match.bad_word == 0) return syntax_error(words, 0, "unknown command.");
    if (match.status == CommandTable::Match::Status::Ambiguous) {
      return syntax_error(words, match.bad_word,
                          "'" + words[match.bad_word].text + "' is ambiguous.");
    }
    return syntax_error(words, match.bad_word, "syntax error, expecting <command>.");
  }

  CliReply filtered(std::string text, const std::vector<std::string>& parts) {
    CliReply reply;
    for (size_t i = 1; i < parts.size(); ++i) {
      if (!apply_pipe(parts[i], text, reply)) return reply;
    }
    reply.output = std::move(text);
    return reply;
  }

  bool wants_set(const std::vector<std::string>& parts) const {
    for (size_t i = 1; i < parts.size(); ++i) {
      auto words = junos_words(parts[i]);
      if (words.size() == 2 && words[0] == "display" && words[1] == "set") return true;
    }
    return false;
  }

  CliReply show(Show what, const std::string& argument, const std::vector<std::string>& parts) {
    auto text = render_show(what, device_.view(), argument);
    if (!text) {
      CliReply reply;
      reply.error = true;
      reply.output = "error: device " + argument + " not found\n";
      return reply;
    }
    return filtered(*text, parts);
  }

  CliReply operational(const std::vector<Word>& words, const std::vector<std::string>& parts) {
    auto match = op_.match(words);
    if (match.status != CommandTable::Match::Status::Ok) return match_error(match, words);
    switch (static_cast<Command>(match.id)) {
      case kShowVersion:
        return show(Show::Version, "", parts);
      case kShowInterfaces:
        return show(Show::Interfaces, "", parts);
      case kShowInterfacesTerse:
        return show(Show::IpInterfaceBrief, "", parts);
      case kShowInterfacesDescriptions:
        return show(Show::InterfacesDescription, "", parts);
      case kShowInterface:
        return show(Show::Interfaces, match.args[0], parts);
      case kShowRoute:
        return show(Show::IpRoute, "", parts);
      case kShowBgpSummary:
        return show(Show::BgpSummary, "", parts);
      case kShowBgpNeighbor:
        return show(Show::BgpNeighbors, "", parts);
      case kShowBgpNeighborOne:
        return show(Show::BgpNeighbors, match.args[0], parts);
      case kShowLldp:
        return show(Show::LldpNeighbors, "", parts);
      case kShowChassisHardware:
        return show(Show::Inventory, "", parts);
      case kShowSystemUptime:
        return show(Show::Clock, "", parts);
      case kShowConfiguration:
      case kShowConfigurationPath: {
        auto path = match.args.empty() ? std::vector<std::string>{} : junos_words(match.args[0]);
        std::string text = device_.read([&](const DeviceState& state) {
          if (wants_set(parts)) return state.committed.render_set();
          if (path.empty()) return device_.running_config_text_locked(state);
          return state.committed.render_text(labels(state.committed, path));
        });
        return filtered(text, parts);
      }
      case kScreenLength: {
        int length = std::atoi(match.args[0].c_str());
        if (length < 0 || !std::isdigit(static_cast<unsigned char>(match.args[0][0]))) {
          return syntax_error(words, 3, "error: invalid value: " + match.args[0]);
        }
        page_length_ = length;
        CliReply reply;
        reply.output = "Screen length set to " + std::to_string(length) + "\n";
        return reply;
      }
      case kScreenWidth: {
        CliReply reply;
        reply.output = "Screen width set to " + match.args[0] + "\n";
        return reply;
      }
      case kCompleteOnSpace: {
        CliReply reply;
        reply.output = "Disabling complete-on-space\n";
        return reply;
      }
      case kConfigure:
      case kConfigurePrivate:
      case kConfigureExclusive: {
        CliReply reply;
        if (match.id == kConfigureExclusive) {
          bool taken = device_.mutate(
              [&](DeviceState& state) { return state.take_candidate_lock(session_.id); });
          if (!taken) {
            reply.error = true;
            reply.output = "error: configuration database locked by another session\n";
            return reply;
          }
          holds_lock_ = true;
        }
        configuring_ = true;
        edit_path_.clear();
        bool changed =
            device_.read([](const DeviceState& s) { return !(s.candidate == s.committed); });
        reply.output = "Entering configuration mode\n";
        if (changed) reply.output += "The configuration has been changed but not committed\n";
        return reply;
      }
      case kExit: {
        CliReply reply;
        reply.close = true;
        return reply;
      }
    }
    return {};
  }

  // Turns typed words ("interfaces ge-0/0/0 unit 0") into node labels ("unit 0" is one label).
  static std::vector<std::string> labels(const JunosConfig& config,
                                         const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (size_t i = 0; i < words.size(); ++i) {
      std::vector<std::string> probe = out;
      probe.push_back(words[i]);
      if (config.find(probe) == nullptr && i + 1 < words.size()) {
        probe.back() += " " + words[i + 1];
        if (config.find(probe) != nullptr)
          ++i;
        else
          probe.back() = words[i];
      }
      out = probe;
    }
    return out;
  }

  void release_lock() {
    if (!holds_lock_) return;
    device_.mutate([&](DeviceState& state) { state.release_candidate_lock(session_.id); });
    holds_lock_ = false;
  }

  CliReply leave_config() {
    configuring_ = false;
    edit_path_.clear();
    release_lock();
    CliReply reply;
    reply.output = "Exiting configuration mode\n";
    return reply;
  }

  std::optional<std::string> check(const JunosConfig& candidate) const {
    const auto* bgp = candidate.find({"protocols", "bgp"});
    if (bgp == nullptr) return std::nullopt;
    for (const auto& group : bgp->children) {
      if (group.name != "group") continue;
      bool group_as = false;
      for (const auto& child : group.children)
        group_as = group_as || child.name == "peer-as";
      for (const auto& neighbor : group.children) {
        if (neighbor.name != "neighbor") continue;
        bool has_as = group_as;
        for (const auto& child : neighbor.children)
          has_as = has_as || child.name == "peer-as";
        if (!has_as) {
          return "[edit protocols bgp group " + group.value + "]\n  'neighbor " + neighbor.value +
                 "'\n    Peer AS is not specified\nerror: configuration check-out failed\n";
        }
      }
    }
    return std::nullopt;
  }

  CliReply commit(int confirm_minutes, bool check_only, bool and_quit) {
    CliReply reply;
    bool locked_by_other = device_.read(
        [&](const DeviceState& s) { return s.candidate_locked_by_other(session_.id); });
    if (locked_by_other) {
      reply.error = true;
      reply.output = "error: configuration database locked by another session\n";
      return reply;
    }
    auto candidate = device_.read([](const DeviceState& s) { return s.candidate; });
    if (auto problem = check(candidate)) {
      reply.error = true;
      reply.output = *problem;
      return reply;
    }
    if (check_only) {
      reply.output = "configuration check succeeds\n";
      return reply;
    }
    const int64_t minute_ms = device_.fleet().minute_ms;
    std::optional<int64_t> deadline;
    if (confirm_minutes > 0) deadline = steady_ms() + confirm_minutes * minute_ms;
    device_.commit_candidate(deadline);
    device_.config_changed(session_.user, session_.peer);
    if (confirm_minutes > 0) {
      reply.output = format(
          "configuration check succeeds\ncommit confirmed will be automatically rolled back in %d "
          "minutes unless confirmed\ncommit complete\n\n# commit confirmed will be rolled back in "
          "%d minutes\n",
          confirm_minutes, confirm_minutes);
    } else {
      reply.output = "commit complete\n";
    }
    if (and_quit) {
      auto left = leave_config();
      reply.output += left.output;
    }
    return reply;
  }

  CliReply configure_line(const std::vector<Word>& words, const std::vector<std::string>& parts) {
    auto match = config_.match(words);
    if (match.status != CommandTable::Match::Status::Ok) return match_error(match, words);
    CliReply reply;
    switch (static_cast<ConfigCommand>(match.id)) {
      case kSet:
      case kDelete: {
        auto args = junos_words(match.args[0]);
        Result<void> result = device_.mutate([&](DeviceState& state) {
          return match.id == kSet ? state.candidate.set(edit_path_, args)
                                  : state.candidate.erase(edit_path_, args);
        });
        if (!result) {
          if (result.error().code == Errc::NotFound) {
            reply.output = "warning: statement not found\n";
            return reply;
          }
          size_t bad = 1;
          for (size_t i = 1; i < words.size(); ++i) {
            if (words[i].text == result.error().where) bad = i;
          }
          if (result.error().where.empty()) bad = words.size();
          return syntax_error(words, bad,
                              result.error().message == "syntax error."
                                  ? "syntax error."
                                  : "error: " + result.error().message);
        }
        return reply;
      }
      case kEdit: {
        auto args = junos_words(match.args[0]);
        std::vector<std::string> probe = edit_path_;
        probe.insert(probe.end(), args.begin(), args.end());
        auto check_path = device_.read(
            [&](const DeviceState& s) { return JunosConfig(s.candidate).set({}, probe); });
        if (!check_path) return syntax_error(words, 1, "syntax error.");
        edit_path_ = probe;
        return reply;
      }
      case kUp:
        if (!edit_path_.empty()) edit_path_.pop_back();
        return reply;
      case kTop:
        edit_path_.clear();
        return reply;
      case kExitConfig:
        if (!edit_path_.empty()) {
          edit_path_.pop_back();
          return reply;
        }
        [[fallthrough]];
      case kExitConfigMode: {
        bool changed =
            device_.read([](const DeviceState& s) { return !(s.candidate == s.committed); });
        if (!changed) return leave_config();
        reply.question =
            "The configuration has been changed but not committed\nExit with uncommitted changes? "
            "[yes,no] (yes) ";
        pending_ = [this](const std::string& answer) {
          auto words = junos_words(answer);
          if (words.empty() || words[0] == "yes" || words[0] == "y") return leave_config();
          return CliReply{};
        };
        return reply;
      }
      case kShowCandidate:
      case kShowCandidatePath: {
        for (size_t i = 1; i < parts.size(); ++i) {
          if (junos_words(parts[i]) == std::vector<std::string>{"compare"}) {
            reply.output = device_.read(
                [](const DeviceState& s) { return s.candidate.compare_to(s.committed); });
            return reply;
          }
        }
        auto path = match.args.empty() ? std::vector<std::string>{} : junos_words(match.args[0]);
        path.insert(path.begin(), edit_path_.begin(), edit_path_.end());
        std::string text = device_.read([&](const DeviceState& state) {
          if (wants_set(parts)) return state.candidate.render_set();
          return state.candidate.render_text(labels(state.candidate, path));
        });
        return filtered(text, parts);
      }
      case kCommit:
        return commit(0, false, false);
      case kCommitCheck:
        return commit(0, true, false);
      case kCommitConfirmed:
        return commit(10, false, false);
      case kCommitConfirmedMinutes: {
        int minutes = std::atoi(match.args[0].c_str());
        if (minutes < 1 || minutes > 65535)
          return syntax_error(words, 2, "error: minutes must be 1..65535");
        return commit(minutes, false, false);
      }
      case kCommitAndQuit:
        return commit(0, false, true);
      case kCommitComment:
        return commit(0, false, false);
      case kRollback:
      case kRollbackNumber: {
        int number = match.args.empty() ? 0 : std::atoi(match.args[0].c_str());
        bool loaded = device_.mutate([&](DeviceState& state) {
          if (number == 0) {
            state.candidate = state.committed;
            return true;
          }
          if (number < 0 || static_cast<size_t>(number) > state.history.size()) return false;
          state.candidate = state.history[static_cast<size_t>(number) - 1];
          return true;
        });
        if (!loaded) {
          reply.error = true;
          reply.output = "error: rollback " + std::to_string(number) + " does not exist\n";
          return reply;
        }
        reply.output = "load complete\n";
        return reply;
      }
      case kRun: {
        std::vector<std::string> run_parts = parts;
        run_parts[0] = match.args[0];
        configuring_ = false;
        auto result = operational(split_line(match.args[0]), run_parts);
        configuring_ = true;
        return result;
      }
      case kStatus:
        reply.output = "Users currently editing the configuration:\n  " + session_.user +
                       " terminal pts/0 (" + session_.peer + ")\n";
        return reply;
    }
    return reply;
  }

  CommandTable op_;
  CommandTable config_;
  bool configuring_ = false;
  bool holds_lock_ = false;
  std::vector<std::string> edit_path_;
};

}  // namespace

std::unique_ptr<CliEngine> make_junos_cli(Device& device, SessionInfo session) {
  return std::make_unique<JunosCli>(device, std::move(session));
}

}  // namespace nauto::lab
