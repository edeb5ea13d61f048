#include "terminal_session.h"

namespace nauto::lab {

std::string to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TerminalSession::TerminalSession(std::unique_ptr<CliEngine> engine) : engine_(std::move(engine)) {}

std::string TerminalSession::start() {
  return to_crlf(engine_->banner()) + prompt_text();
}

std::string TerminalSession::prompt_text() const {
  return to_crlf(question_.empty() ? engine_->prompt() : question_);
}

std::string TerminalSession::feed(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    if (closed_) break;
    if (!more_.empty()) {
      // At a --More-- prompt: space for a page, Enter for a line, q to stop.
      std::string erase = "\r" + std::string(engine_->more_prompt().size(), ' ') + "\r";
      out += erase;
      if (c == 'q' || c == 'Q' || c == 0x03) {
        more_.clear();
        more_at_ = 0;
        out += prompt_text();
      } else {
        out += next_page(c == '\r' || c == '\n' ? 1 : std::max(engine_->page_length() - 1, 1));
      }
      continue;
    }
    if (c == '\n' && swallow_lf_) {
      swallow_lf_ = false;
      continue;
    }
    swallow_lf_ = c == '\r';
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      out += run_line();
    } else if (c == 0x7f || c == 0x08) {
      if (!line_.empty()) {
        line_.pop_back();
        if (!secret_) out += "\b \b";
      }
    } else if (c == 0x03) {  // Ctrl-C abandons the line
      line_.clear();
      secret_ = false;
      question_.clear();
      out += "\r\n" + prompt_text();
    } else if (c == 0x15) {  // Ctrl-U clears it
      if (!secret_) {
        for (size_t i = 0; i < line_.size(); ++i)
          out += "\b \b";
      }
      line_.clear();
    } else if (c == 0x1a) {  // Ctrl-Z: leave config mode
      line_ = "\x1a";
      out += "\r\n" + run_line();
    } else if (c == '\t' || c == '?') {
      // No completion or help: keep the character out of the line, as a real CLI would
      // redisplay it; clients doing automation do not send these.
    } else if (static_cast<unsigned char>(c) >= 0x20 || c == 0x1b) {
      line_ += c;
      if (!secret_) out += c;
    }
  }
  return out;
}

std::string TerminalSession::run_line() {
  std::string line = std::move(line_);
  line_.clear();
  secret_ = false;
  question_.clear();
  ++lines_run_;
  auto reply = engine_->execute(line);
  std::string out = emit_output(reply.output);
  if (reply.close) {
    closed_ = true;
    return out;
  }
  question_ = reply.question;
  secret_ = reply.secret_input;
  if (!more_.empty()) return out;
  return out + prompt_text();
}

std::string TerminalSession::emit_output(const std::string& text) {
  int page = engine_->page_length();
  if (page <= 0 || text.empty()) return to_crlf(text);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  if (static_cast<int>(lines.size()) < page) return to_crlf(text);
  more_ = std::move(lines);
  more_at_ = 0;
  return next_page(page - 1);
}

std::string TerminalSession::next_page(int lines) {
  std::string out;
  for (int i = 0; i < lines && more_at_ < more_.size(); ++i)
    out += more_[more_at_++] + "\r\n";
  if (more_at_ >= more_.size()) {
    more_.clear();
    more_at_ = 0;
    return out + prompt_text();
  }
  return out + engine_->more_prompt();
}

}  // namespace nauto::lab
