// nauto audit list|show|verify|export|stats: the audit trail (modules/audit, issue 30).

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli_context.h"
#include "nauto/base/clock.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

using nlohmann::json;

namespace nauto::cli {
namespace {

struct AuditFilter {
  std::string principal;
  std::string service;
  std::string outcome;
  std::string since;
  int limit = 50;
};

void add_filter_options(CLI::App* command, AuditFilter& filter) {
  command->add_option("-p,--principal", filter.principal, "only this caller's records");
  command->add_option("-s,--service", filter.service, "only this service's (a glob: run.*)");
  command->add_option("--outcome", filter.outcome,
                      "ok, error, refused, timeout, unavailable, overloaded");
  command->add_option("--since", filter.since, "how far back: 15m, 1h, 7d");
}

// The request body of a filter; Errc::InvalidArgument for a bad --since.
Result<json> filter_body(const AuditFilter& filter) {
  json body = {
      {"principal", filter.principal}, {"service", filter.service}, {"outcome", filter.outcome}};
  if (!filter.since.empty()) {
    auto since = duration_ms(filter.since);
    if (!since) return std::move(since).error();
    body["since_us"] = now_us() - *since * 1000;
  }
  return body;
}

void print_records(const json& answer) {
  Table table{{"SEQ", "TIME", "PRINCIPAL", "SERVICE", "TARGET", "OUTCOME"}, {}};
  for (const auto& r : answer["records"]) {
    auto outcome = r.value("outcome", "");
    if (!r.value("error_code", "").empty() && outcome != "ok")
      outcome += " (" + r.value("error_code", "") + ")";
    // A reload's record says what it changed in `auth:` (users and roles).
    auto target = r.value("target", "");
    if (!r.value("detail", "").empty()) target += " (" + r.value("detail", "") + ")";
    table.rows.push_back({cell(r["seq"]), format_time_us(r.value("time_us", std::int64_t{0})),
                          r.value("principal", ""),
                          r.value("kind", "") == "gap" ? "(gap)" : r.value("service", ""),
                          std::move(target), outcome});
  }
  std::cout << table.render();
}

void print_verdict(const json& verdict) {
  if (verdict.value("ok", false)) {
    std::cout << "ok: " << verdict.value("records", 0) << " records intact";
  } else {
    std::cout << "TAMPERED at record " << verdict.value("first_bad", 0) << ": "
              << verdict.value("problem", "");
  }
  std::cout << "\nsigned heads checked: " << verdict.value("heads", 0);
  if (!verdict.value("signed", false)) std::cout << " (no signing_key: heads are not signed)";
  if (verdict.contains("anchor") && verdict["anchor"].value("seq", 0) > 0)
    std::cout << "\nanchored after record " << verdict["anchor"].value("seq", 0) << " (retention)";
  if (!verdict.value("public_key", "").empty())
    std::cout << "\nsigning key: " << verdict.value("public_key", "");
  std::cout << "\n";
}

}  // namespace

void add_audit_commands(CLI::App& app, CliContext& context) {
  auto* audit = app.add_subcommand("audit", "the tamper-evident audit trail (modules/audit)");
  audit->require_subcommand(1);

  auto list_filter = std::make_shared<AuditFilter>();
  auto* list = audit->add_subcommand("list", "the newest records that match, oldest first");
  add_filter_options(list, *list_filter);
  list->add_option("-n,--limit", list_filter->limit, "how many")->check(CLI::Range(1, 10000));
  add_output_option(list, context);
  list->callback([&context, list_filter] {
    auto body = filter_body(*list_filter);
    if (!body) {
      context.exit_code = report(body.error());
      return;
    }
    (*body)["limit"] = list_filter->limit;
    call_and_print(context, bus::schema::AuditListRequest::kTopic, *body, print_records);
  });

  auto seq = std::make_shared<std::int64_t>(0);
  auto* show = audit->add_subcommand("show", "one record, with its hash and the previous one's");
  show->add_option("seq", *seq, "the record's number")->required();
  add_output_option(show, context);
  show->callback([&context, seq] {
    call_and_print(context, bus::schema::AuditShowRequest::kTopic, json{{"seq", *seq}},
                   [](const json& answer) {
                     std::cout << answer["record"].dump(2) << "\nhash " << answer.value("hash", "")
                               << "\nprev " << answer.value("prev", "") << "\n";
                   });
  });

  auto* verify = audit->add_subcommand(
      "verify", "walks the chain and checks the signed heads; exit 1 when tampered");
  add_output_option(verify, context);
  verify->callback([&context] {
    auto old_timeout = context.timeout_ms;
    context.timeout_ms = std::max<std::int64_t>(context.timeout_ms, 600'000);
    auto verdict = context.call(bus::schema::AuditVerifyRequest::kTopic, json::object());
    context.timeout_ms = old_timeout;
    if (!verdict) {
      context.exit_code = report(verdict.error());
      return;
    }
    if (context.format() == OutputFormat::Table) {
      print_verdict(*verdict);
    } else {
      std::cout << render_document(*verdict, context.format());
    }
    if (!verdict->value("ok", false)) context.exit_code = 1;
  });

  auto export_filter = std::make_shared<AuditFilter>();
  auto* export_cmd = audit->add_subcommand(
      "export", "every matching record as JSON lines on standard output (for a SIEM or a file)");
  add_filter_options(export_cmd, *export_filter);
  export_cmd->callback([&context, export_filter] {
    auto body = filter_body(*export_filter);
    if (!body) {
      context.exit_code = report(body.error());
      return;
    }
    (*body)["limit"] = 10000;
    for (std::int64_t after = 0;;) {  // pages from the oldest record
      (*body)["after"] = after;
      auto page = context.call(bus::schema::AuditListRequest::kTopic, *body);
      if (!page) {
        context.exit_code = report(page.error());
        return;
      }
      const auto& records = (*page)["records"];
      for (const auto& record : records)
        std::cout << record.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      if (records.size() < 10000) break;
      after = records.back().value("seq", after);
    }
  });

  auto* stats = audit->add_subcommand("stats", "the chain, the signed heads and each forwarder");
  add_output_option(stats, context);
  stats->callback([&context] {
    call_and_print(context, bus::schema::AuditStatsRequest::kTopic, json::object(),
                   [](const json& s) { std::cout << s.dump(2) << "\n"; });
  });
}

}  // namespace nauto::cli
