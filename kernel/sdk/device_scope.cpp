#include "nauto/sdk/device_scope.h"

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/context.h"

namespace nauto {

namespace {
constexpr std::int64_t kLookupTimeoutMs = 30'000;
constexpr std::size_t kNamesShown = 10;
}  // namespace

std::string outside_scope_selector(const std::string& target, const std::string& scope) {
  return "(" + target + ") and not (" + scope + ")";
}

void check_device_scope(Context& ctx, std::string who, std::string scope, const std::string& target,
                        std::function<void(Result<void>)> then) {
  if (scope.empty()) return then(ok());
  ctx.request(
      bus::schema::InventorySelectRequest::kTopic,
      bus::to_body(nlohmann::json{{"selector", outside_scope_selector(target, scope)}}),
      kLookupTimeoutMs, [who, scope, then = std::move(then)](Result<std::string> answer) {
        using Hosts = bus::schema::InventorySelectReply;
        auto hosts =
            answer ? bus::schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
        if (!hosts) {
          return then(fail(Errc::PermissionDenied,
                           "'" + who + "' is limited to the devices '" + scope +
                               "', which could not be checked: " + hosts.error().message));
        }
        if (hosts->hosts.empty()) return then(ok());
        std::string names;
        for (std::size_t i = 0; i < hosts->hosts.size() && i < kNamesShown; ++i)
          names += (i ? ", " : "") + hosts->hosts[i].value("name", "?");
        if (hosts->hosts.size() > kNamesShown) names += ", ...";
        // A module (a run, a push) carries the scope of the user it acts for.
        const auto subject =
            who.rfind("module:", 0) == 0 ? "'" + who + "' acts for a caller who" : "'" + who + "'";
        then(fail(Errc::PermissionDenied,
                  subject + " may act only on devices matching '" + scope + "' (its roles); " +
                      std::to_string(hosts->hosts.size()) + " selected " +
                      (hosts->hosts.size() == 1 ? "is" : "are") + " outside it: " + names));
      });
}

Result<void> check_own_work(const bus::Header& header, std::string_view action,
                            const StartedWork& work, const std::string& service) {
  const auto who = caller_of(header);
  if (header.scope.empty() || work.owner == who) return ok();
  return fail(Errc::PermissionDenied,
              "'" + who + "' is limited to the devices '" + header.scope + "' and may " +
                  std::string(action) + " only the " + std::string(work.kind) + "s it started; " +
                  std::string(work.kind) + " " + work.id + " was started by '" + work.owner + "'",
              service);
}

void serve_in_scope(Context& ctx, const bus::Envelope& request,
                    const std::optional<std::string>& target, Reply reply,
                    std::function<void(const bus::Envelope&, Reply)> serve) {
  if (!target || request.header.scope.empty()) return serve(request, std::move(reply));
  auto shared = std::make_shared<Reply>(std::move(reply));
  check_device_scope(ctx, caller_of(request.header), request.header.scope, *target,
                     [request, shared, serve = std::move(serve)](Result<void> inside) {
                       if (!inside) return shared->fail(inside.error());
                       serve(request, std::move(*shared));
                     });
}

}  // namespace nauto
