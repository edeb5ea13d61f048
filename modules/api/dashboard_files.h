#pragma once
// The web dashboard's static files (modules/api/dashboard/), embedded at build time by
// embed_dashboard.py and served under /ui/.
//
// Immutable; any thread.

#include <string_view>
#include <vector>

namespace nauto::api {

struct DashboardFile {
  std::string_view name;  ///< app.js: served as /ui/app.js
  std::string_view content_type;
  std::string_view bytes;
};

const std::vector<DashboardFile>& dashboard_files();

}  // namespace nauto::api
