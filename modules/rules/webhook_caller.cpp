#include "webhook_caller.h"

#include "nauto/base/clock.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/device_target.h"
#include "nauto/drivers/http_client.h"
#include "nauto/sdk/webhook_signature.h"

namespace nauto::rules {

namespace {

WebhookOutcome send(WebhookCall call) {
  drivers::DeviceTarget target;
  target.name = "webhook " + url_origin(call.url);
  drivers::Timeouts timeouts;
  timeouts.connect_ms = std::min<std::int64_t>(5000, call.timeout_ms);
  timeouts.idle_ms = call.timeout_ms;
  timeouts.total_ms = call.timeout_ms;
  drivers::http::HttpClient client(target, timeouts, drivers::RetryPolicy{3, 200, 2000});
  drivers::http::HttpRequest request;
  request.method = "POST";
  request.url = call.url;
  request.body = call.body;
  request.headers = {"Content-Type: application/json", "X-Nauto-Rule: " + call.rule,
                     "X-Nauto-Chain: " + call.chain};
  if (!call.secret.empty()) {
    auto signature = webhook_signature_headers(call.secret, call.body, now_us() / 1'000'000);
    call.secret.clear();
    if (!signature) return WebhookOutcome{std::move(call), 0, 0, signature.error().message};
    for (auto& line : *signature)
      request.headers.push_back(std::move(line));
  }
  auto answer = client.send(request, drivers::Deadline::after_ms(call.timeout_ms));
  WebhookOutcome outcome{std::move(call), 0, client.attempts(), ""};
  if (answer) {
    outcome.status = answer->status;
  } else {
    outcome.error = answer.error().message;
    if (outcome.error.empty()) outcome.error = "the webhook call failed";
    // The transport names the URL it failed on; its path may be the secret.
    const auto origin = url_origin(outcome.call.url);
    for (auto at = outcome.error.find(outcome.call.url); at != std::string::npos;
         at = outcome.error.find(outcome.call.url, at + origin.size()))
      outcome.error.replace(at, outcome.call.url.size(), origin);
  }
  return outcome;
}

}  // namespace

WebhookCaller::WebhookCaller(std::size_t queue_limit) : queue_limit_(queue_limit) {
  worker_ = std::thread([this] { work(); });
}

WebhookCaller::~WebhookCaller() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    calls_.clear();
  }
  wake_.notify_all();
  worker_.join();
}

bool WebhookCaller::submit(WebhookCall call) {
  {
    std::lock_guard lock(mutex_);
    if (calls_.size() >= queue_limit_) return false;
    calls_.push_back(std::move(call));
  }
  wake_.notify_one();
  return true;
}

std::vector<WebhookOutcome> WebhookCaller::take() {
  done_.drain();
  std::lock_guard lock(mutex_);
  return std::exchange(outcomes_, {});
}

void WebhookCaller::work() {
  for (;;) {
    WebhookCall call;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !calls_.empty(); });
      if (stopping_) return;
      call = std::move(calls_.front());
      calls_.pop_front();
    }
    auto outcome = send(std::move(call));
    {
      std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(outcome));
    }
    done_.ring();
  }
}

}  // namespace nauto::rules
