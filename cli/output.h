#pragma once
// Output of listing commands in the three forms every `nauto` listing takes:
// --output table (aligned columns for people), json (one document), yaml.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::cli {

enum class OutputFormat { Table, Json, Yaml };

Result<OutputFormat> parse_output_format(const std::string& name);

/// A table: header names and rows of cells, printed with columns padded to the widest cell.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string render() const;
};

/// JSON or YAML text of `document` (pretty JSON; block-style YAML).
std::string render_document(const nlohmann::json& document, OutputFormat format);

/// A scalar cell: strings as they are, everything else as compact JSON.
std::string cell(const nlohmann::json& value);

/// "2026-11-22T05:14:03.123Z" from Unix microseconds.
std::string format_time_us(std::int64_t time_us);

}  // namespace nauto::cli
