#include <algorithm>
#include <cstdint>

#include "nauto/drivers/config_diff.h"

namespace nauto::drivers {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

enum class Op { Keep, Remove, Add };
struct Edit {
  Op op;
  std::size_t before_line;  // index into before (Keep/Remove)
  std::size_t after_line;   // index into after (Keep/Add)
};

// Myers' O((N+M)D) shortest edit script, keeping each round's frontier to walk back.
std::vector<Edit> edit_script(const std::vector<std::string_view>& a,
                              const std::vector<std::string_view>& b) {
  const auto n = static_cast<std::int64_t>(a.size());
  const auto m = static_cast<std::int64_t>(b.size());
  const std::int64_t max = n + m;
  const std::int64_t offset = max + 1;
  std::vector<std::int64_t> v(static_cast<std::size_t>(2 * max + 3), 0);
  std::vector<std::vector<std::int64_t>> trace;
  std::int64_t final_d = 0;
  for (std::int64_t d = 0; d <= max; ++d) {
    trace.push_back(v);
    bool done = false;
    for (std::int64_t k = -d; k <= d; k += 2) {
      std::int64_t x;
      if (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) {
        x = v[offset + k + 1];
      } else {
        x = v[offset + k - 1] + 1;
      }
      std::int64_t y = x - k;
      while (x < n && y < m && a[x] == b[y]) {
        ++x;
        ++y;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
    if (done) {
      final_d = d;
      trace.push_back(v);
      break;
    }
  }
  std::vector<Edit> edits;
  std::int64_t x = n, y = m;
  for (std::int64_t d = final_d; d > 0; --d) {
    const auto& previous = trace[static_cast<std::size_t>(d)];
    std::int64_t k = x - y;
    std::int64_t prev_k =
        (k == -d || (k != d && previous[offset + k - 1] < previous[offset + k + 1])) ? k + 1
                                                                                     : k - 1;
    std::int64_t prev_x = previous[offset + prev_k];
    std::int64_t prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      --x;
      --y;
      edits.push_back({Op::Keep, static_cast<std::size_t>(x), static_cast<std::size_t>(y)});
    }
    if (x == prev_x) {
      --y;
      edits.push_back({Op::Add, static_cast<std::size_t>(x), static_cast<std::size_t>(y)});
    } else {
      --x;
      edits.push_back({Op::Remove, static_cast<std::size_t>(x), static_cast<std::size_t>(y)});
    }
  }
  while (x > 0 && y > 0) {
    --x;
    --y;
    edits.push_back({Op::Keep, static_cast<std::size_t>(x), static_cast<std::size_t>(y)});
  }
  std::reverse(edits.begin(), edits.end());
  return edits;
}

}  // namespace

std::string unified_diff(std::string_view before, std::string_view after,
                         const std::string& label_before, const std::string& label_after,
                         int context) {
  auto a = split_lines(before);
  auto b = split_lines(after);
  auto edits = edit_script(a, b);
  std::string out;
  const std::size_t total = edits.size();
  std::size_t i = 0;
  while (i < total) {
    // Find the next change, then grow a hunk around it while changes stay within 2*context.
    while (i < total && edits[i].op == Op::Keep)
      ++i;
    if (i == total) break;
    std::size_t start = i >= static_cast<std::size_t>(context) ? i - context : 0;
    std::size_t end = i;
    std::size_t keeps = 0;
    for (std::size_t j = i; j < total; ++j) {
      if (edits[j].op == Op::Keep) {
        if (++keeps > static_cast<std::size_t>(2 * context)) break;
      } else {
        keeps = 0;
        end = j;
      }
    }
    std::size_t stop = std::min(total, end + 1 + context);
    std::size_t before_start = 0, before_count = 0, after_start = 0, after_count = 0;
    bool first = true;
    std::string body;
    for (std::size_t j = start; j < stop; ++j) {
      const auto& e = edits[j];
      if (first) {
        before_start = e.before_line;
        after_start = e.after_line;
        first = false;
      }
      switch (e.op) {
        case Op::Keep:
          body += " " + std::string(a[e.before_line]) + "\n";
          ++before_count;
          ++after_count;
          break;
        case Op::Remove:
          body += "-" + std::string(a[e.before_line]) + "\n";
          ++before_count;
          break;
        case Op::Add:
          body += "+" + std::string(b[e.after_line]) + "\n";
          ++after_count;
          break;
      }
    }
    if (out.empty()) out = "--- " + label_before + "\n+++ " + label_after + "\n";
    out += "@@ -" + std::to_string(before_count ? before_start + 1 : before_start) + "," +
           std::to_string(before_count) + " +" +
           std::to_string(after_count ? after_start + 1 : after_start) + "," +
           std::to_string(after_count) + " @@\n" + body;
    i = stop;
  }
  return out;
}

}  // namespace nauto::drivers
