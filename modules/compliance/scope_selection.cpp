#include "scope_selection.h"

#include <memory>

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

constexpr std::int64_t kSelectTimeoutMs = 30'000;

void select(Context& ctx, const std::string& selector, std::function<void(Result<json>)> done) {
  ctx.request(bus::schema::InventorySelectRequest::kTopic,
              bus::to_body(json{{"selector", selector}}), kSelectTimeoutMs,
              [done = std::move(done)](Result<std::string> body) { done(bus::from_reply(body)); });
}

}  // namespace

bool Selection::applies(const Rule& rule, const std::string& device) const {
  if (rule.scope == "all") return true;
  auto it = members.find(rule.scope);
  return it != members.end() && it->second.count(device) > 0;
}

std::set<std::string> scopes_of(const std::vector<Rule>& rules) {
  std::set<std::string> out;
  for (const auto& rule : rules)
    if (rule.scope != "all") out.insert(rule.scope);
  return out;
}

void select_with_scopes(Context& ctx, const std::string& target, std::set<std::string> scopes,
                        std::function<void(Result<Selection>)> done) {
  select(ctx, target, [&ctx, scopes = std::move(scopes), done](Result<json> selected) {
    if (!selected) return done(std::move(selected).error());
    auto selection = std::make_shared<Selection>();
    for (auto& host : selected->value("hosts", json::array()))
      selection->hosts.push_back(std::move(host));
    if (scopes.empty()) return done(std::move(*selection));
    auto left = std::make_shared<std::size_t>(scopes.size());
    auto failed = std::make_shared<bool>(false);
    for (const auto& scope : scopes) {
      select(ctx, scope, [scope, selection, left, failed, done](Result<json> picked) {
        if (*failed) return;
        if (!picked) {
          *failed = true;
          auto error = std::move(picked).error();
          error.message = "scope '" + scope + "': " + error.message;
          return done(std::move(error));
        }
        auto& names = selection->members[scope];
        for (const auto& host : picked->value("hosts", json::array()))
          names.insert(host.value("name", ""));
        if (--*left == 0) done(std::move(*selection));
      });
    }
  });
}

}  // namespace nauto::compliance
