// SessionPool: what a holder keeps open, who gets it, and when it is closed.
#include "session_pool.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace nauto;
using namespace nauto::devices;

namespace {

// A driver that only tracks whether it is open and counts closes.
class CountingDriver : public drivers::Driver {
 public:
  explicit CountingDriver(int* closes, std::string host = "127.0.0.1") : closes_(closes) {
    target_.name = "r1";
    target_.host = std::move(host);
  }
  const drivers::DeviceTarget& target() const override { return target_; }
  drivers::Capabilities capabilities() const override { return {}; }
  Result<void> open(drivers::Deadline) override {
    open_ = true;
    return ok();
  }
  void close() override {
    if (open_) ++*closes_;
    open_ = false;
  }
  bool is_open() const override { return open_; }
  Result<drivers::CommandOutput> run_checked(const std::string&, drivers::Deadline,
                                             const drivers::CallOptions&) override {
    return drivers::CommandOutput{};
  }
  Result<std::string> get_config(drivers::ConfigSource, drivers::Deadline) override {
    return std::string();
  }
  Result<drivers::PushResult> push_checked(const drivers::ConfigPush&, drivers::Deadline) override {
    return drivers::PushResult{};
  }
  Result<void> commit(int, drivers::Deadline) override { return ok(); }
  Result<void> rollback(const drivers::RollbackTarget&, drivers::Deadline) override { return ok(); }
  Result<drivers::Facts> facts(drivers::Deadline) override { return drivers::Facts{}; }

 private:
  drivers::DeviceTarget target_;
  int* closes_;
  bool open_ = false;
};

std::unique_ptr<drivers::Driver> opened(int* closes) {
  auto driver = std::make_unique<CountingDriver>(closes);
  (void)driver->open(drivers::Deadline::after_ms(1000));
  return driver;
}

}  // namespace

TEST_CASE("a session is kept only while someone holds the device") {
  SessionPool pool;
  int closes = 0;
  CHECK(pool.borrow("r1") == nullptr);
  pool.give_back("r1", opened(&closes));  // nobody holds r1: closed
  CHECK(closes == 1);

  pool.hold("r1", "shell-1", 60'000);
  CHECK(pool.borrow("r1") == nullptr);  // held, but nothing opened yet
  pool.give_back("r1", opened(&closes));
  CHECK(closes == 1);
  auto borrowed = pool.borrow("r1");
  REQUIRE(borrowed);
  CHECK(borrowed->is_open());
  CHECK(pool.borrow("r1") == nullptr);  // one call at a time
  pool.give_back("r1", std::move(borrowed));
  CHECK(pool.list()[0]["open"] == true);
  CHECK(pool.list()[0]["holders"] == nlohmann::json::array({"shell-1"}));

  // A second holder keeps it when the first lets go; the last one's release closes it.
  pool.hold("r1", "shell-2", 60'000);
  CHECK(pool.release("shell-1") == 1);
  CHECK(closes == 1);
  CHECK(pool.release("shell-2") == 1);
  CHECK(closes == 2);
  CHECK(pool.list().empty());
}

TEST_CASE("a closed session is not kept, and a borrowed one released meanwhile is closed") {
  SessionPool pool;
  int closes = 0;
  pool.hold("r1", "shell-1", 60'000);
  auto dropped = std::make_unique<CountingDriver>(&closes);  // never opened (connection lost)
  pool.give_back("r1", std::move(dropped));
  CHECK(pool.borrow("r1") == nullptr);

  pool.give_back("r1", opened(&closes));
  auto borrowed = pool.borrow("r1");
  pool.release("shell-1");
  pool.give_back("r1", std::move(borrowed));
  CHECK(closes == 1);
  CHECK(pool.list().empty());
}

TEST_CASE("a holder silent past its idle timeout lets go") {
  SessionPool pool;
  int closes = 0;
  pool.hold("r1", "dead-shell", 20);
  pool.hold("r2", "live-shell", 60'000);
  pool.give_back("r1", opened(&closes));
  pool.expire();
  CHECK(pool.list().size() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  pool.expire();
  CHECK(closes == 1);
  REQUIRE(pool.list().size() == 1);
  CHECK(pool.list()[0]["device"] == "r2");
}
