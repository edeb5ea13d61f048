#pragma once
// ConfigKeyRecording: while one is alive, every ConfigReader on this thread reports each key it
// looks up to it. `nautod --describe-config` lists nauto.yaml's keys this way, from the code
// that reads them, so the manual page made from that list (nauto.yaml(5)) cannot miss a key
// the code accepts. One at a time per thread; not for use while nautod serves.

#include <string>
#include <vector>

namespace nauto {

/// One key a ConfigReader looked up: its full dotted path, the form it expects and its default
/// ("" when it has none), as nauto.yaml(5) shows them.
struct ConfigKeyUse {
  std::string path;
  std::string form;
  std::string fallback;
};

class ConfigKeyRecording {
 public:
  ConfigKeyRecording();
  ~ConfigKeyRecording();
  ConfigKeyRecording(const ConfigKeyRecording&) = delete;
  ConfigKeyRecording& operator=(const ConfigKeyRecording&) = delete;
  const std::vector<ConfigKeyUse>& keys() const { return keys_; }

  /// Called by ConfigReader for each key it looks up; does nothing without a recording.
  static void note(std::string path, std::string form, std::string fallback);

 private:
  std::vector<ConfigKeyUse> keys_;
};

}  // namespace nauto
