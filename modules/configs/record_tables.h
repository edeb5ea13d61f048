#pragma once
// The configs module's record tables (backups, pushes, rollouts): records keyed by
// time-ordered ids (store/retention.h), msgpack documents, listed newest first.
// Thread-safe (the store's reads are).

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "nauto/bus/body.h"
#include "nauto/store/store.h"

namespace nauto::configs {

/// The newest `limit` records of `table`, newest first; records that do not decode are left out.
inline Result<nlohmann::json> latest_records(const store::Store& store, const std::string& table,
                                             std::size_t limit) {
  store::ScanOptions scan;
  scan.reverse = true;
  scan.limit = limit;
  auto entries = store.scan(table, scan);
  if (!entries) return std::move(entries).error();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, value] : *entries)
    if (auto record = bus::from_body(value)) out.push_back(std::move(*record));
  return out;
}

}  // namespace nauto::configs
