#pragma once
// StreamFramer: cuts a TCP syslog stream into messages. RFC 6587 allows two framings and
// senders do not announce which: octet counting ("123 <PRI>...", RFC 5425/6587 3.4.1) and
// non-transparent framing (messages ended by LF, or NUL as some senders do). A frame that
// starts with a digit is octet-counted; anything else runs to the next LF or NUL.
// Bounded: a frame longer than max_message_bytes is cut there (counted as truncated) and the
// rest of it skipped, so a sender that never sends a newline cannot grow our buffer.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace nauto::syslog {

class StreamFramer {
 public:
  explicit StreamFramer(std::size_t max_message_bytes) : max_(max_message_bytes) {}

  /// Feeds received bytes; calls `on_message` for every complete frame. Returns false when the
  /// stream is broken beyond resynchronising (an octet count that is not a number): the
  /// caller closes the connection.
  bool feed(std::string_view bytes, const std::function<void(std::string_view)>& on_message);

  std::uint64_t truncated() const { return truncated_; }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::size_t max_;
  std::string buffer_;
  std::size_t skip_ = 0;          // bytes of an over-long counted frame still to discard
  bool skip_to_newline_ = false;  // discarding the rest of an over-long LF frame
  std::uint64_t truncated_ = 0;
};

}  // namespace nauto::syslog
