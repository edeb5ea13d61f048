#pragma once
// The Redis keys of distributed work (ADR 0020, docs/workers.md):
//   nauto:work:<pool>   stream of signed items; consumer group "workers" (one consumer per
//                       worker, by its principal). Entry ids are the control node's own
//                       ("<ms>-<seq>"), so a re-sent XADD is refused as a duplicate, not added.
//   nauto:results       stream of MAC'd results; consumer group "control".
//   nauto:sent:<pool>   hash: "<job>/<device>" -> {worker, at_us} for a push a worker is about
//                       to send; removed once its result is on nauto:results. A claimed push
//                       found here is failed "outcome unknown after worker loss", not repeated.
//   nauto:workers       hash: worker principal -> its heartbeat (JSON), for nauto workers.
//   nauto:cancel:<job>  set (with a TTL) while a cancelled job's items may still be pending.
//   nauto:refused       stream (capped) of items workers refused: forged, expired, poisoned.

#include <string>
#include <string_view>

namespace nauto::devices::streams {

inline std::string work(std::string_view pool) {
  return "nauto:work:" + std::string(pool);
}
inline std::string sent(std::string_view pool) {
  return "nauto:sent:" + std::string(pool);
}
inline std::string cancel(std::string_view job) {
  return "nauto:cancel:" + std::string(job);
}
inline constexpr const char* kResults = "nauto:results";
inline constexpr const char* kWorkers = "nauto:workers";
inline constexpr const char* kRefused = "nauto:refused";
inline constexpr const char* kWorkersGroup = "workers";
inline constexpr const char* kControlGroup = "control";
/// The entries nauto:refused keeps (XADD MAXLEN ~).
inline constexpr int kRefusedKept = 1000;
/// The key a sent push is recorded under in nauto:sent:<pool>.
inline std::string sent_field(std::string_view job, std::string_view device) {
  return std::string(job) + "/" + std::string(device);
}

}  // namespace nauto::devices::streams
