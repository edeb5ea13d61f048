#include "nauto/bus/topic_match.h"

#include <string>

namespace nauto::bus {
namespace {

// Splits off the next dot-separated segment; returns false when `rest` is exhausted.
bool next_segment(std::string_view& rest, std::string_view& segment, bool& exhausted) {
  if (exhausted) return false;
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) {
    segment = rest;
    exhausted = true;
  } else {
    segment = rest.substr(0, dot);
    rest.remove_prefix(dot + 1);
  }
  return true;
}

}  // namespace

bool topic_matches(std::string_view pattern, std::string_view topic) noexcept {
  if (pattern.find_first_of("*>") == std::string_view::npos) {
    return topic.substr(0, pattern.size()) == pattern;
  }
  std::string_view p_rest = pattern, t_rest = topic, p_seg, t_seg;
  bool p_done = false, t_done = false;
  while (next_segment(p_rest, p_seg, p_done)) {
    if (p_seg == ">") return next_segment(t_rest, t_seg, t_done);
    if (!next_segment(t_rest, t_seg, t_done)) return false;
    if (p_seg != "*" && p_seg != t_seg) return false;
  }
  return t_done;
}

Result<void> validate_pattern(std::string_view pattern) {
  std::string_view rest = pattern, segment;
  bool done = false;
  if (pattern.find_first_of("*>") == std::string_view::npos) return ok();
  while (next_segment(rest, segment, done)) {
    const bool wild = segment.find_first_of("*>") != std::string_view::npos;
    if (wild && segment != "*" && segment != ">") {
      return fail(Errc::InvalidArgument,
                  "'*' and '>' must stand alone between dots (e.g. 'device.*.changed')",
                  std::string(pattern));
    }
    if (segment == ">" && !done) {
      return fail(Errc::InvalidArgument, "'>' may only be the last segment (e.g. 'kernel.>')",
                  std::string(pattern));
    }
  }
  return ok();
}

}  // namespace nauto::bus
