#include "stream_framer.h"

#include <algorithm>

namespace nauto::syslog {

bool StreamFramer::feed(std::string_view bytes,
                        const std::function<void(std::string_view)>& on_message) {
  while (!bytes.empty()) {
    if (skip_ > 0) {
      const auto n = std::min(skip_, bytes.size());
      skip_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    if (skip_to_newline_) {
      const auto end = bytes.find_first_of(std::string_view("\n\0", 2));
      if (end == std::string_view::npos) return true;
      skip_to_newline_ = false;
      bytes.remove_prefix(end + 1);
      continue;
    }
    // Take what fits into the buffer, then cut every complete frame out of it.
    const auto room = max_ + 16 - std::min(buffer_.size(), max_ + 16);
    const auto take = std::min(room, bytes.size());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    std::size_t at = 0;
    while (at < buffer_.size()) {
      const char first = buffer_[at];
      if (first == '\n' || first == '\r' || first == '\0') {
        ++at;
        continue;
      }
      if (first >= '0' && first <= '9') {
        std::size_t digits = at;
        std::size_t length = 0;
        while (digits < buffer_.size() && buffer_[digits] >= '0' && buffer_[digits] <= '9' &&
               digits - at < 10) {
          length = length * 10 + static_cast<std::size_t>(buffer_[digits] - '0');
          ++digits;
        }
        if (digits == buffer_.size()) break;  // the count is not complete yet
        if (buffer_[digits] != ' ') return false;
        const auto start = digits + 1;
        if (length > max_) {
          // Deliver what fits, skip the rest of the frame.
          const auto have = buffer_.size() - start;
          if (have < max_) break;
          on_message(std::string_view(buffer_).substr(start, max_));
          ++truncated_;
          const auto consumed = std::min(have, length);
          skip_ = length - consumed;
          at = start + consumed;
          continue;
        }
        if (buffer_.size() - start < length) break;  // wait for the rest
        on_message(std::string_view(buffer_).substr(start, length));
        at = start + length;
        continue;
      }
      const auto end = buffer_.find_first_of(std::string_view("\n\0", 2), at);
      if (end == std::string::npos) {
        if (buffer_.size() - at >= max_) {
          on_message(std::string_view(buffer_).substr(at, max_));
          ++truncated_;
          skip_to_newline_ = true;
          at = buffer_.size();
        }
        break;
      }
      auto frame = std::string_view(buffer_).substr(at, end - at);
      if (!frame.empty() && frame.back() == '\r') frame.remove_suffix(1);
      if (frame.size() > max_) {  // the buffer holds a little more than max_ (found by fuzzing)
        frame = frame.substr(0, max_);
        ++truncated_;
      }
      on_message(frame);
      at = end + 1;
    }
    buffer_.erase(0, at);
  }
  return true;
}

}  // namespace nauto::syslog
