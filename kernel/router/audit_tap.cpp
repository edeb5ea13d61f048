#include "audit_tap.h"

#include <iterator>

#include "nauto/bus/body.h"
#include "nauto/bus/msgpack_reader.h"

namespace nauto::kernel {

using nlohmann::json;

json AuditRecord::to_json() const {
  json out = {{"seq", seq},
              {"time_us", time_us},
              {"duration_us", duration_us},
              {"request_id", request_id},
              {"principal", principal},
              {"roles", roles},
              {"via", via},
              {"service", service},
              {"access", access},
              {"target", target},
              {"outcome", outcome}};
  if (uid >= 0) out["uid"] = uid;
  if (pid >= 0) out["pid"] = pid;
  if (!error_code.empty()) out["error_code"] = error_code;
  if (!error.empty()) out["error"] = error;
  if (!detail.empty()) out["detail"] = detail;
  return out;
}

std::string audit_target(std::string_view body) {
  // Read straight from the msgpack, skipping every other field unread: a push's config may be
  // megabytes, and the router thread decodes none of it.
  static const char* const kNaming[] = {"device", "target", "runbook", "name", "names",
                                        "id",     "policy", "devices", "rule", "holder"};
  constexpr std::size_t kCount = std::size(kNaming);
  std::string found[kCount];
  bus::MsgpackReader in(body);
  std::uint32_t fields = 0;
  if (!in.map_size(fields)) return "";
  for (std::uint32_t i = 0; i < fields; ++i) {
    std::string_view key;
    if (!in.next_is_string() || !in.string(key)) break;
    std::size_t at = 0;
    while (at < kCount && key != kNaming[at])
      ++at;
    if (at < kCount && in.next_is_string()) {
      std::string_view value;
      if (!in.string(value)) break;
      found[at] = value;
      continue;
    }
    const char* start = in.position();
    if (!in.skip()) break;
    if (at < kCount) {  // a list of names: only this small value is decoded
      auto list = bus::from_body(std::string_view(start, in.position() - start));
      if (list && list->is_array()) {
        for (const auto& value : *list)
          if (value.is_string())
            found[at] += (found[at].empty() ? "" : ",") + value.get<std::string>();
      }
    }
  }
  for (std::size_t i = 0; i < kCount; ++i)
    if (!found[i].empty()) return std::string(kNaming[i]) + "=" + found[i];
  return "";
}

AuditTap::AuditTap(std::size_t capacity, std::int64_t epoch) : capacity_(capacity), epoch_(epoch) {}

void AuditTap::add(AuditRecord record) {
  if (!enabled()) return;
  record.seq = next_seq_++;
  ring_.push_back(std::move(record));
  while (ring_.size() > capacity_) {
    ring_.pop_front();
    ++dropped_;
  }
}

AuditTap::Taken AuditTap::take(std::uint64_t after, std::size_t max) const {
  Taken taken;
  taken.last = after;
  if (ring_.empty()) return taken;
  const auto first = ring_.front().seq;
  // Records after `after` that left the ring before anyone took them.
  if (first > after + 1) {
    taken.lost = first - (after + 1);
    taken.last = first - 1;
  }
  const auto start = after + 1 > first ? after + 1 - first : 0;
  for (auto i = start; i < ring_.size() && taken.records.size() < max; ++i) {
    taken.records.push_back(ring_[i].to_json());
    taken.last = ring_[i].seq;
  }
  return taken;
}

}  // namespace nauto::kernel
