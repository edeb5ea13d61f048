#pragma once
// JsonApiDriver: the Driver for platforms that take CLI commands over an HTTPS JSON API (Arista
// eAPI, Cisco NX-API). Everything but the request format is shared here: a subclass supplies
// call(), which runs a batch of commands (optionally in config mode) in one request.

#include <memory>
#include <string>
#include <vector>

#include "nauto/drivers/config_diff.h"
#include "nauto/drivers/driver.h"
#include "nauto/drivers/http_client.h"
#include "nauto/drivers/indented_push.h"
#include "nauto/drivers/platform.h"

namespace nauto::drivers::http {

/// One command's answer: text, or JSON when structured output was asked for.
struct ApiReply {
  std::string text;
  std::string json;
};

class JsonApiDriver : public Driver {
 public:
  const DeviceTarget& target() const override { return target_; }
  Capabilities capabilities() const override;
  Result<void> open(Deadline deadline) override;
  void close() override { client_.reset(); }
  bool is_open() const override { return client_ != nullptr; }
  Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                    const CallOptions& options) override;
  Result<std::string> get_config(ConfigSource source, Deadline deadline) override;
  Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) override;
  Result<void> commit(int confirm_minutes, Deadline deadline) override;
  Result<void> rollback(const RollbackTarget& target, Deadline deadline) override;
  Result<Facts> facts(Deadline deadline) override;

 protected:
  JsonApiDriver(DeviceTarget target, PlatformDefinition platform);
  /// Runs `commands` in one request. `config`: inside config mode. Returns one reply per
  /// command; a refused command is Rejected naming it.
  virtual Result<std::vector<ApiReply>> call(const std::vector<std::string>& commands,
                                             bool structured, bool config, Deadline deadline) = 0;
  /// https://host:port
  std::string base_url() const;
  HttpClient& client() { return *client_; }
  const PlatformDefinition& platform() const { return platform_; }

 private:
  IndentedConfigAccess indented_access(Deadline deadline);

  DeviceTarget target_;
  PlatformDefinition platform_;
  Timeouts timeouts_;
  ConfigDiff diff_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace nauto::drivers::http
