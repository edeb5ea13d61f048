#include "exposition.h"

#include <charconv>
#include <cmath>

namespace nauto::telemetry {

namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counters, most gauges) as integers: 5000000000, not 5e+09.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
    return std::to_string(static_cast<std::int64_t>(v));
  char buf[32];
  // The shortest text that reads back as the same double.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string series(const std::string& name, const Labels& labels) {
  std::string out = name;
  if (labels.empty()) return out;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += Exposition::sanitize(k);
    out += "=\"";
    out += escape_label(v);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i])
    ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Exposition::sanitize(const std::string& name) {
  std::string out = name.empty() ? "_" : name;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  return out;
}

void Exposition::add(const std::string& raw_name, Type type, const std::string& help,
                     const Labels& labels, double value) {
  const auto name = sanitize(raw_name);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  it->second.lines.push_back(series(name, labels) + ' ' + number(value));
  ++samples_;
}

void Exposition::add_histogram(const std::string& raw_name, const std::string& help,
                               const Labels& labels, const Histogram& h) {
  const auto name = sanitize(raw_name);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = Type::Histogram;
    it->second.help = help;
  }
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    auto with_le = labels;
    with_le["le"] = i < h.bounds().size() ? number(h.bounds()[i]) : "+Inf";
    it->second.lines.push_back(series(name + "_bucket", with_le) + ' ' +
                               std::to_string(cumulative));
  }
  it->second.lines.push_back(series(name + "_sum", labels) + ' ' + number(h.sum()));
  it->second.lines.push_back(series(name + "_count", labels) + ' ' + std::to_string(h.count()));
  ++samples_;
}

std::string Exposition::text() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + ' ' + escape_help(f.help) + '\n';
    out += "# TYPE " + name + ' ' +
           (f.type == Type::Counter     ? "counter"
            : f.type == Type::Histogram ? "histogram"
                                        : "gauge") +
           '\n';
    for (const auto& line : f.lines) {
      out += line;
      out += '\n';
    }
  }
  return out;
}

}  // namespace nauto::telemetry
