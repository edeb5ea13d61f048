#pragma once
// The Prometheus text exposition format (version 0.0.4): metric families with # HELP and
// # TYPE, samples with escaped label values, histograms as _bucket/_sum/_count. Families are
// written in name order, each whole, so `promtool check metrics` finds no family split or
// repeated. Names that Prometheus would refuse are made valid (invalid characters become '_').
// Thread: any; an Exposition is one caller's.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "snmp_metrics.h"

namespace nauto::telemetry {

/// A histogram's buckets (upper bounds, increasing) and its observations.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }  ///< not cumulative
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // one per bound, and +Inf last
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Exposition {
 public:
  enum class Type { Gauge, Counter, Histogram };
  /// Declares a family (again: ignored) and adds a sample to it. Counter names should end in
  /// _total (the caller's choice, as Prometheus' own clients do).
  void add(const std::string& name, Type type, const std::string& help, const Labels& labels,
           double value);
  void add_histogram(const std::string& name, const std::string& help, const Labels& labels,
                     const Histogram& histogram);
  std::string text() const;
  std::size_t samples() const { return samples_; }

  /// A valid metric or label name from `name`.
  static std::string sanitize(const std::string& name);

 private:
  struct Family {
    Type type = Type::Gauge;
    std::string help;
    std::vector<std::string> lines;
  };
  std::map<std::string, Family> families_;
  std::size_t samples_ = 0;
};

}  // namespace nauto::telemetry
