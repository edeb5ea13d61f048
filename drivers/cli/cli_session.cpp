#include "cli_session.h"

#include "nauto/base/clock.h"
#include "nauto/drivers/driver.h"
#include "nauto/drivers/platform_patterns.h"

namespace nauto::drivers::cli {
namespace {

using text::Regex;

bool search(std::string_view line, const Regex& pattern) {
  return text::matches(pattern, line);
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

CliSession::CliSession(std::unique_ptr<ssh::SshChannel> channel, const PlatformDefinition& platform,
                       const DeviceTarget& target, const Timeouts& timeouts)
    : channel_(std::move(channel)),
      platform_(platform),
      target_(target),
      timeouts_(timeouts),
      prompts_(platform) {
  // Platform patterns were checked when the platform was loaded (platform.cpp), so they
  // compile; one that did not would simply never match.
  for (const auto& pattern : platform.error_patterns)
    if (const auto* regex = platform_regex(pattern)) error_patterns_.push_back(regex);
  // Confirmations are answered by index, so a slot is kept for each one.
  for (const auto& prompt : platform.confirmations)
    confirmations_.push_back(platform_regex(prompt.pattern));
  if (!platform.pager_pattern.empty()) pager_ = platform_regex(platform.pager_pattern);
  if (!platform.hostname_config.empty())
    hostname_config_ = platform_regex(platform.hostname_config, Regex::Anchor::Whole);
}

Result<std::unique_ptr<CliSession>> CliSession::start(ssh::SshConnection& connection,
                                                      const PlatformDefinition& platform,
                                                      const DeviceTarget& target,
                                                      const Timeouts& timeouts, Deadline deadline) {
  auto channel = connection.open_shell(ssh::PtySize{}, deadline);
  if (!channel) return std::move(channel).error();
  auto session =
      std::unique_ptr<CliSession>(new CliSession(std::move(*channel), platform, target, timeouts));
  if (auto learned = session->learn_prompt(deadline); !learned) return std::move(learned).error();
  if (auto enabled = session->enable(deadline); !enabled) return std::move(enabled).error();
  for (const auto& setup : platform.session_setup) {
    auto done = session->command(setup, deadline, timeouts.idle_ms);
    if (!done) {
      auto error = std::move(done).error();
      error.message = "session setup failed: " + error.message;
      return error;
    }
  }
  return session;
}

Result<void> CliSession::learn_prompt(Deadline deadline) {
  const std::int64_t started = steady_us();
  std::int64_t last_data = started;
  bool nudged = false;
  for (;;) {
    if (prompts_.learn(terminal_.last_line())) {
      auto mode = prompts_.match(terminal_.last_line());
      if (mode) {
        mode_ = *mode;
        terminal_.clear();
        // The nudge's newline makes the device print one more prompt; left unread it would
        // end the next command's reply early and shift every reply by one. It can take as long
        // as the first prompt took; a device that waited for the keystroke sends none. (Not
        // left for the next read to drop: a device whose terminal echoes typed-ahead input
        // before its own prompt, as vtysh's does between two readline calls, puts the next
        // line's echo before the stray prompt, and the reply would end there.)
        if (nudged) return absorb_prompt(deadline, (steady_us() - started) / 1000 + 500);
        return ok();
      }
    }
    auto silent_ms = (steady_us() - last_data) / 1000;
    // Some devices print the prompt only after a keystroke. Not before a third of the idle
    // timeout (10 s by default): a device that is only slow (an FRR vtysh starts in 0.16 s
    // alone, over 3 s among 20 at once on two cores) prints it anyway, and a nudge costs a
    // wait for its extra prompt as long as the login took.
    if (!nudged && silent_ms > timeouts_.idle_ms / 3) {
      nudged = true;
      if (auto sent = channel_->write("\n"); !sent) return sent;
    }
    if (silent_ms >= timeouts_.idle_ms || deadline.expired()) {
      return timeout_error("login", timeouts_.idle_ms, silent_ms >= timeouts_.idle_ms);
    }
    std::string raw;
    auto got = channel_->read_some(raw, std::min<std::int64_t>(200, deadline.remaining_ms() + 1));
    if (!got) {
      auto error = std::move(got).error();
      error.message +=
          " before a prompt appeared; last bytes received: \"" + terminal_.recent_bytes() + "\"";
      return error;
    }
    if (*got) {
      terminal_.feed(raw);
      last_data = steady_us();
    }
  }
}

Result<void> CliSession::absorb_prompt(Deadline deadline, std::int64_t wait_ms) {
  const auto until = steady_us() + wait_ms * 1000;
  while (!deadline.expired() && steady_us() < until) {
    std::string raw;
    auto got = channel_->read_some(raw, 100);
    if (!got) return std::move(got).error();
    if (*got) {
      terminal_.feed(raw);
      if (prompts_.match(terminal_.last_line())) break;
    }
  }
  terminal_.clear();
  return ok();
}

Result<void> CliSession::enable(Deadline deadline) {
  if (mode_ != CliMode::User || platform_.enable_command.empty()) return ok();
  if (auto sent = channel_->write(platform_.enable_command + "\n"); !sent) return sent;
  std::vector<std::string> password{platform_.password_prompt};
  auto stop = read_until(password, platform_.enable_command, deadline, timeouts_.idle_ms);
  if (!stop) return std::move(stop).error();
  if (!stop->at_prompt) {
    terminal_.clear();
    // The secret goes to the device only; it is never part of an error or a log line.
    if (auto sent = channel_->write(target_.credentials.enable_secret + "\n"); !sent) return sent;
    stop = read_until(password, "enable secret", deadline, timeouts_.idle_ms);
    if (!stop) return std::move(stop).error();
    if (!stop->at_prompt) {
      (void)channel_->write("\x03\n");
      return device_error(target_, Errc::Unauthenticated,
                          "enable secret refused (prompted for a password again)");
    }
  }
  terminal_.clear();
  if (mode_ != CliMode::Privileged) {
    return device_error(target_, Errc::Unauthenticated,
                        "'" + platform_.enable_command + "' did not reach privileged mode");
  }
  return ok();
}

Result<CliSession::Stop> CliSession::read_until(const std::vector<std::string>& extra,
                                                const std::string& after, Deadline deadline,
                                                std::int64_t idle_ms) {
  std::vector<const Regex*> extra_patterns;
  for (const auto& pattern : extra) {
    const auto* regex = platform_regex(pattern);
    if (!regex)
      return fail(Errc::InvalidConfig, "bad regular expression '" + pattern + "'", target_.name);
    extra_patterns.push_back(regex);
  }
  std::int64_t last_data = steady_us();
  std::string raw;
  for (;;) {
    auto line = terminal_.last_line();
    if (!line.empty()) {
      if (pager_ && search(line, *pager_)) {
        terminal_.drop_last_line();
        if (auto sent = channel_->write(" "); !sent) return std::move(sent).error();
        continue;
      }
      bool answered = false;
      for (std::size_t i = 0; i < confirmations_.size() && !answered; ++i) {
        if (confirmations_[i] && search(line, *confirmations_[i])) {
          terminal_.drop_last_line();
          if (auto sent = channel_->write(platform_.confirmations[i].answer + "\n"); !sent) {
            return std::move(sent).error();
          }
          answered = true;
        }
      }
      if (answered) continue;
      for (std::size_t i = 0; i < extra_patterns.size(); ++i) {
        if (search(line, *extra_patterns[i])) return Stop{false, i};
      }
      if (auto mode = prompts_.match(line)) {
        mode_ = *mode;
        return Stop{true, 0};
      }
    }
    auto now = steady_us();
    auto silent_ms = (now - last_data) / 1000;
    if (silent_ms >= idle_ms) return timeout_error(after, idle_ms, true);
    if (deadline.expired()) return timeout_error(after, idle_ms, false);
    raw.clear();
    auto wait = std::min(idle_ms - silent_ms, deadline.remaining_ms() + 1);
    auto got = channel_->read_some(raw, std::min<std::int64_t>(wait, 200));
    if (!got) {
      auto error = std::move(got).error();
      error.message += " while waiting for the prompt after '" + after +
                       "'; last bytes received: \"" + terminal_.recent_bytes() + "\"";
      return error;
    }
    if (*got) {
      terminal_.feed(raw);
      last_data = steady_us();
    }
  }
}

Error CliSession::timeout_error(const std::string& after, std::int64_t idle_ms, bool idle) const {
  std::string why =
      idle ? "no prompt after '" + after + "' within " + std::to_string(idle_ms) + " ms of silence"
           : "deadline passed waiting for the prompt after '" + after + "'";
  return device_error(target_, Errc::Timeout,
                      why + " (believed mode: " + std::string(mode_name(mode_)) +
                          "); last bytes received: \"" + terminal_.recent_bytes() +
                          "\"; patterns tried: " + prompts_.describe());
}

std::string CliSession::take_output(const std::string& sent) {
  terminal_.drop_last_line();  // the prompt
  std::string text = terminal_.take();
  // Echo: the first line is the command as typed (possibly after a pager's leftovers).
  auto first_end = text.find('\n');
  std::string_view first = std::string_view(text).substr(0, first_end);
  if (!sent.empty() && trim(first).size() >= trim(sent).size() &&
      trim(first).compare(trim(first).size() - trim(sent).size(), std::string::npos, trim(sent)) ==
          0) {
    text.erase(0, first_end == std::string::npos ? text.size() : first_end + 1);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::optional<std::string> CliSession::find_error(const std::string& output) const {
  std::size_t start = 0;
  while (start <= output.size()) {
    auto end = output.find('\n', start);
    std::string_view line = std::string_view(output).substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    for (const auto* pattern : error_patterns_) {
      if (search(line, *pattern)) return trim(line);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

Result<std::string> CliSession::command_raw(const std::string& line, Deadline deadline,
                                            std::int64_t idle_ms) {
  terminal_.clear();
  if (auto sent = channel_->write(line + "\n"); !sent) return std::move(sent).error();
  auto stop = read_until({}, line, deadline, idle_ms);
  if (!stop) return std::move(stop).error();
  return take_output(line);
}

Result<std::string> CliSession::command(const std::string& line, Deadline deadline,
                                        std::int64_t idle_ms) {
  auto output = command_raw(line, deadline, idle_ms);
  if (!output) return output;
  if (auto error = find_error(*output)) {
    return device_error(target_, Errc::Rejected, "'" + line + "' rejected: " + *error);
  }
  return output;
}

Result<void> CliSession::enter_config(Deadline deadline) {
  if (mode_ == CliMode::Config) return ok();
  auto output = command(platform_.config_enter, deadline, timeouts_.idle_ms);
  if (!output) return std::move(output).error();
  if (mode_ != CliMode::Config) {
    return device_error(target_, Errc::Rejected,
                        "'" + platform_.config_enter + "' did not enter config mode: " + *output);
  }
  return ok();
}

Result<void> CliSession::exit_config(Deadline deadline) {
  if (mode_ != CliMode::Config) return ok();
  auto output = command_raw(platform_.config_exit, deadline, timeouts_.idle_ms);
  if (!output) return std::move(output).error();
  if (mode_ == CliMode::Config) {
    return device_error(target_, Errc::Rejected,
                        "'" + platform_.config_exit + "' did not leave config mode: " + *output);
  }
  return ok();
}

Result<void> CliSession::send_config(const std::vector<std::string>& lines, Deadline deadline,
                                     std::int64_t idle_ms, bool stay_in_config) {
  if (auto entered = enter_config(deadline); !entered) return entered;
  std::size_t number = 0;
  for (const auto& line : lines) {
    ++number;
    auto trimmed = trim(line);
    if (trimmed.empty() || trimmed == "!") continue;
    // The next prompt already has the new name.
    if (auto renamed =
            hostname_config_ ? text::match_groups(*hostname_config_, trimmed) : std::nullopt;
        renamed && renamed->size() > 1)
      prompts_.set_host((*renamed)[1]);
    auto output = command_raw(line, deadline, idle_ms);
    if (!output) return std::move(output).error();
    if (auto error = find_error(*output)) {
      (void)exit_config(deadline);
      return device_error(
          target_, Errc::Rejected,
          "config line " + std::to_string(number) + " '" + trimmed + "' rejected: " + *error);
    }
  }
  if (stay_in_config) return ok();
  return exit_config(deadline);
}

}  // namespace nauto::drivers::cli
