#include "cli_engine.h"

#include <algorithm>
#include <cctype>

namespace nauto::lab {
namespace {

bool is_prefix_of(const std::string& word, const std::string& keyword) {
  if (word.empty() || word.size() > keyword.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) !=
        std::tolower(static_cast<unsigned char>(keyword[i]))) {
      return false;
    }
  }
  return true;
}

bool is_placeholder(const std::string& token) {
  return token.size() > 2 && token.front() == '<' && token.back() == '>';
}

}  // namespace

std::vector<Word> split_line(const std::string& line) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start) words.push_back(Word{line.substr(start, i - start), start});
  }
  return words;
}

void CommandTable::add(const std::string& pattern, int id) {
  std::vector<std::string> tokens;
  for (const auto& word : split_line(pattern))
    tokens.push_back(word.text);
  entries_.push_back(Entry{std::move(tokens), id});
}

CommandTable::Match CommandTable::match(const std::vector<Word>& words) const {
  struct Candidate {
    const Entry* entry;
    int keyword_matches = 0;
    bool rest = false;  // consumed the rest of the line
    std::vector<std::string> args;
  };
  Match result;
  std::vector<Candidate> alive;
  for (const auto& entry : entries_)
    alive.push_back(Candidate{&entry, 0, false, {}});
  for (size_t i = 0; i < words.size(); ++i) {
    std::vector<Candidate> next;
    bool exact_keyword = false;
    std::vector<std::string> prefix_keywords;
    for (auto& candidate : alive) {
      if (candidate.rest) {
        candidate.args.back() += " " + words[i].text;
        next.push_back(candidate);
        continue;
      }
      const auto& tokens = candidate.entry->tokens;
      if (i >= tokens.size()) continue;
      const auto& token = tokens[i];
      if (is_placeholder(token)) {
        candidate.args.push_back(words[i].text);
        candidate.rest = token == "<REST>";
        next.push_back(candidate);
      } else if (is_prefix_of(words[i].text, token)) {
        if (words[i].text.size() == token.size()) exact_keyword = true;
        if (std::find(prefix_keywords.begin(), prefix_keywords.end(), token) ==
            prefix_keywords.end()) {
          prefix_keywords.push_back(token);
        }
        ++candidate.keyword_matches;
        next.push_back(candidate);
      }
    }
    if (next.empty()) {
      result.status = Match::Status::Invalid;
      result.bad_word = i;
      return result;
    }
    if (exact_keyword) {
      // `show ip` must not be ambiguous with `show ipv6`.
      std::erase_if(next, [&](const Candidate& c) {
        if (c.rest || i >= c.entry->tokens.size()) return false;
        const auto& token = c.entry->tokens[i];
        return !is_placeholder(token) && token.size() != words[i].text.size();
      });
    } else if (prefix_keywords.size() > 1) {
      bool any_placeholder = std::any_of(next.begin(), next.end(), [&](const Candidate& c) {
        return c.rest || is_placeholder(c.entry->tokens[i]);
      });
      if (!any_placeholder) {
        result.status = Match::Status::Ambiguous;
        result.bad_word = i;
        return result;
      }
    }
    alive = std::move(next);
  }
  const Candidate* best = nullptr;
  for (const auto& candidate : alive) {
    bool complete = candidate.rest || candidate.entry->tokens.size() == words.size();
    if (!complete) continue;
    if (best == nullptr || candidate.keyword_matches > best->keyword_matches) best = &candidate;
  }
  if (best == nullptr) {
    result.status = Match::Status::Incomplete;
    result.bad_word = words.size();
    return result;
  }
  result.status = Match::Status::Ok;
  result.id = best->entry->id;
  result.args = best->args;
  return result;
}

std::vector<std::string> CliEngine::split_pipes(const std::string& line) {
  std::vector<std::string> parts;
  std::string current;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (c == '|' && !quoted) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  for (auto& part : parts) {
    while (!part.empty() && part.back() == ' ')
      part.pop_back();
    while (!part.empty() && part.front() == ' ')
      part.erase(part.begin());
  }
  return parts;
}

CliReply CliEngine::execute(const std::string& line) {
  if (pending_) {
    auto answer = std::move(pending_);
    pending_ = nullptr;
    return answer(line);
  }
  // The device's own time for the line, kept in its command log for benchmarks that take it
  // out of a client's round trip (tests/bench/step_overhead_bench.sh).
  const auto began_us = wall_us();
  auto reply = run(line);
  device_.command_done(session_.channel, began_us, wall_us());
  return reply;
}

std::unique_ptr<CliEngine> CliEngine::create(Device& device, SessionInfo session) {
  if (device.spec().platform == Platform::JuniperJunos)
    return make_junos_cli(device, std::move(session));
  return make_cisco_cli(device, std::move(session));
}

}  // namespace nauto::lab
