#include "arrcert/status_report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "status_escape.h"

namespace arrcert {
namespace {

// The rules a request can be refused by, in the order judge() applies them.
constexpr std::array<Rule, rule_count - 1> refusing_rules{Rule::header,  Rule::certificate, Rule::validity,
                                                          Rule::chain,   Rule::thumbprint,  Rule::issuer,
                                                          Rule::subject, Rule::san,         Rule::trust};

// The HELP text of each counter metric; the metrics, their order and samples come from all_counters.
struct CounterMetric {
    std::string_view name;
    std::string_view help;
};
constexpr std::array counter_metrics{
    CounterMetric{"arrcert_requests_total",
                  "Requests decided where mod_arrcert is on, by outcome and, for refusals, the refusing rule."},
    CounterMetric{"arrcert_headers_stripped_total",
                  "Certificate headers removed from peers that are not trusted front ends."},
    CounterMetric{"arrcert_cache_lookups_total", "Verdict cache lookups by tier and result."},
    CounterMetric{"arrcert_crl_reloads_total", "Reads of ArrCertCARevocationFile/Path after a change, by result."},
    CounterMetric{"arrcert_crl_fetches_total", "CRLs fetched from distribution points, by result."},
    CounterMetric{"arrcert_ocsp_queries_total", "Queries to OCSP responders, by result."},
};

constexpr std::string_view help_of(std::string_view metric) noexcept
{
    for (const CounterMetric& each : counter_metrics) {
        if (each.name == metric) {
            return each.help;
        }
    }
    return {};
}
static_assert(std::all_of(all_counters.begin(), all_counters.end(),
                          [](const CounterInfo& counter) { return !help_of(counter.metric).empty(); }),
              "a counter's metric has no HELP text in counter_metrics");

// Whether no counter listed before the one at `at` has its metric.
constexpr bool opens_metric(std::size_t at) noexcept
{
    for (std::size_t i = 0; i < at; ++i) {
        if (all_counters.at(i).metric == all_counters.at(at).metric) {
            return false;
        }
    }
    return true;
}

// A counter whose labels hold rule="{rule}" has a sample per refusing rule instead of one.
constexpr std::string_view rule_placeholder = "{rule}";

constexpr bool by_rule(const CounterInfo& counter) noexcept
{
    return counter.labels.find(rule_placeholder) != std::string_view::npos;
}
// Only refusals are counted by rule (refused_by_rule).
static_assert(std::all_of(all_counters.begin(), all_counters.end(),
                          [](const CounterInfo& counter) {
                              return by_rule(counter) == (counter.id == Counter::refused);
                          }),
              "only Counter::refused has a sample per rule");

std::string with_rule(std::string_view labels, Rule rule)
{
    std::string text(labels);
    return text.replace(text.find(rule_placeholder), rule_placeholder.size(), rule_name(rule));
}

using status_text::html;
using status_text::json;
using status_text::label;

// UTC, as 2026-11-29T22:53:00Z; "-" for 0 (never).
std::string utc(std::int64_t seconds)
{
    if (seconds == 0) {
        return "-";
    }
    const auto time = static_cast<std::time_t>(seconds);
    std::tm parts{};
    if (gmtime_r(&time, &parts) == nullptr) {
        return "-";
    }
    std::array<char, 32> text{};
    std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text.data();
}

std::string number(std::uint64_t value)
{
    return std::to_string(value);
}

std::string_view outcome_name(Decision::Outcome outcome) noexcept
{
    switch (outcome) {
        case Decision::Outcome::success: return "accepted";
        case Decision::Outcome::failed: return "refused";
        case Decision::Outcome::none: return "none";
    }
    return "unknown";
}

std::string verdict_text(const StatusSnapshot::Certificate& certificate)
{
    std::string text(outcome_name(certificate.outcome));
    if (certificate.outcome == Decision::Outcome::failed) {
        text.append(" (").append(rule_name(certificate.rule)).append(")");
    }
    return text;
}

enum class Expiry { fine, soon, expired };

Expiry expiry(const StatusSnapshot::Certificate& certificate, std::int64_t now, int warning_days)
{
    if (certificate.not_after < now) {
        return Expiry::expired;
    }
    return certificate.not_after - now < static_cast<std::int64_t>(warning_days) * 86400 ? Expiry::soon : Expiry::fine;
}

std::string_view expiry_name(Expiry state) noexcept
{
    switch (state) {
        case Expiry::fine: return "ok";
        case Expiry::soon: return "expiring";
        case Expiry::expired: return "expired";
    }
    return "ok";
}

std::string capitalized(std::string_view rule)
{
    std::string text(rule);
    if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') {
        text[0] = static_cast<char>(text[0] - 'a' + 'A');
    }
    return text == "San" ? "SubjectAltName" : text;
}

constexpr std::string_view page_style =
    "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.9em}th{background:#eee}"
    "td.dn,td code{overflow-wrap:anywhere}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}tr.expiring td{background:#fff3cd}"
    "tr.expired td{background:#f8d7da}.mark{font-weight:bold}code{font-size:.85em}"
    ".row{display:flex;gap:1.5em;align-items:flex-start}";

}  // namespace

long long days_left(std::int64_t not_after, std::int64_t now) noexcept
{
    const std::int64_t seconds = not_after - now;
    return static_cast<long long>(seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400));
}

std::string status_lines(const StatusSnapshot& snapshot)
{
    std::string out;
    for (const CounterInfo& counter : all_counters) {
        out.append("ArrCert").append(counter.name).append(": ").append(number(snapshot.counter(counter.id)));
        out.push_back('\n');
    }
    for (const Rule rule : refusing_rules) {
        out.append("ArrCertRefused").append(capitalized(rule_name(rule))).append(": ");
        out.append(number(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule)))).push_back('\n');
    }
    out.append("ArrCertInventoryCertificates: ").append(number(snapshot.inventory_size)).push_back('\n');
    return out;
}

std::string status_summary_html(const StatusSnapshot& snapshot)
{
    std::string out = "<h2>mod_arrcert</h2>\n<table>\n";
    for (const CounterInfo& counter : all_counters) {
        out.append("<tr><th>").append(counter.name).append("</th><td>");
        out.append(number(snapshot.counter(counter.id))).append("</td></tr>\n");
    }
    for (const Rule rule : refusing_rules) {
        out.append("<tr><th>Refused").append(capitalized(rule_name(rule))).append("</th><td>");
        out.append(number(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule)))).append("</td></tr>\n");
    }
    out.append("</table>\n");
    return out;
}

std::string status_page_html(const StatusSnapshot& snapshot, int expiry_warning_days)
{
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mod_arrcert status</title>"
        "<style>";
    out.append(page_style).append("</style></head><body>\n<h1>mod_arrcert status</h1>\n<p>At ");
    out.append(utc(snapshot.now)).append(". Counts are for every process of this server since it started.</p>\n");

    out.append("<h2>Client certificates seen</h2>\n<p>");
    out.append(number(snapshot.inventory.size())).append(" of at most ").append(number(snapshot.inventory_capacity));
    out.append(" (the least recently seen are dropped), soonest expiry first; marked: expiring within ");
    out.append(std::to_string(expiry_warning_days)).append(" days, or expired.</p>\n");
    out.append(
        "<table>\n<tr><th></th><th>Subject</th><th>Issuer</th><th>SHA-1 thumbprint</th><th>notAfter</th>"
        "<th>Days left</th><th>First seen</th><th>Last seen</th><th>Requests</th><th>Last verdict</th></tr>\n");
    for (const auto& certificate : snapshot.inventory) {
        const Expiry state = expiry(certificate, snapshot.now, expiry_warning_days);
        out.append("<tr class=\"").append(expiry_name(state)).append(R"("><td class="mark">)");
        out.append(state == Expiry::fine ? "" : state == Expiry::soon ? "&#9888; expiring" : "&#10007; expired");
        out.append(R"(</td><td class="dn">)").append(html(certificate.subject)).append(R"(</td><td class="dn">)");
        out.append(html(certificate.issuer));
        out.append("</td><td><code>").append(certificate.sha1_hex).append("</code></td><td>");
        out.append(utc(certificate.not_after)).append("</td><td class=\"n\">");
        out.append(std::to_string(days_left(certificate.not_after, snapshot.now))).append("</td><td>");
        out.append(utc(certificate.first_seen)).append("</td><td>").append(utc(certificate.last_seen));
        out.append("</td><td class=\"n\">").append(number(certificate.requests)).append("</td><td>");
        out.append(verdict_text(certificate)).append("</td></tr>\n");
    }
    out.append("</table>\n");

    out.append("<h2>Requests</h2>\n<div class=\"row\"><table>\n<tr><th>Counter</th><th>Value</th></tr>\n");
    for (const CounterInfo& counter : all_counters) {
        out.append("<tr><td>").append(counter.name).append("</td><td class=\"n\">");
        out.append(number(snapshot.counter(counter.id))).append("</td></tr>\n");
    }
    out.append("</table>\n<table>\n<tr><th>Refused by rule</th><th>Requests</th></tr>\n");
    for (const Rule rule : refusing_rules) {
        out.append("<tr><td>").append(rule_name(rule)).append("</td><td class=\"n\">");
        out.append(number(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule)))).append("</td></tr>\n");
    }
    out.append("</table></div>\n");

    out.append("<h2>Revocation sources and caches</h2>\n");
    if (snapshot.sources.empty()) {
        out.append("<p>None used yet.</p>\n");
    } else {
        out.append(
            "<table>\n<tr><th>Kind</th><th>Name</th><th>Last success</th><th>nextUpdate</th><th>Next fetch</th>"
            "<th>Successes</th><th>Failures</th><th>Failing</th><th>Last failure</th><th>Last error</th></tr>\n");
        for (const auto& source : snapshot.sources) {
            out.append("<tr><td>").append(source_kind_name(source.kind)).append("</td><td><code>");
            out.append(html(source.name)).append("</code></td><td>").append(utc(source.last_success));
            out.append("</td><td>").append(source.next_update >= 0 ? utc(source.next_update) : "-");
            out.append("</td><td>").append(source.next_refresh >= 0 ? utc(source.next_refresh) : "-");
            out.append("</td><td class=\"n\">").append(number(source.successes));
            out.append("</td><td class=\"n\">").append(number(source.failures));
            out.append("</td><td class=\"n\">").append(number(source.failing));
            out.append("</td><td>").append(utc(source.last_failure)).append("</td><td>");
            out.append(html(source.last_error)).append("</td></tr>\n");
        }
        out.append("</table>\n");
    }

    out.append("</body></html>\n");
    return out;
}

std::string status_json(const StatusSnapshot& snapshot, int expiry_warning_days)
{
    std::string out = "{\"time\":" + json(utc(snapshot.now)) + ",\"counters\":{";
    const char* comma = "";
    for (const CounterInfo& counter : all_counters) {
        out.append(comma).append(json(counter.name)).append(":").append(number(snapshot.counter(counter.id)));
        comma = ",";
    }
    out.append("},\"refused_by_rule\":{");
    comma = "";
    for (const Rule rule : refusing_rules) {
        out.append(comma).append(json(rule_name(rule))).append(":");
        out.append(number(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule))));
        comma = ",";
    }
    out.append("},\"sources\":[");
    comma = "";
    for (const auto& source : snapshot.sources) {
        out.append(comma).append("{\"kind\":").append(json(source_kind_name(source.kind)));
        out.append(",\"name\":").append(json(source.name));
        out.append(",\"last_success\":").append(source.last_success != 0 ? json(utc(source.last_success)) : "null");
        out.append(",\"next_update\":").append(source.next_update >= 0 ? json(utc(source.next_update)) : "null");
        out.append(",\"next_refresh\":").append(source.next_refresh >= 0 ? json(utc(source.next_refresh)) : "null");
        out.append(",\"successes\":").append(number(source.successes));
        out.append(",\"failures\":").append(number(source.failures));
        out.append(",\"failing\":").append(number(source.failing));
        out.append(",\"last_failure\":").append(source.last_failure != 0 ? json(utc(source.last_failure)) : "null");
        out.append(",\"last_error\":").append(source.last_error.empty() ? "null" : json(source.last_error)).append("}");
        comma = ",";
    }
    out.append(R"(],"inventory":{"capacity":)").append(number(snapshot.inventory_capacity));
    out.append(",\"expiry_warning_days\":").append(std::to_string(expiry_warning_days)).append(",\"certificates\":[");
    comma = "";
    for (const auto& certificate : snapshot.inventory) {
        out.append(comma).append("{\"subject\":").append(json(certificate.subject));
        out.append(",\"issuer\":").append(json(certificate.issuer));
        out.append(",\"sha1\":").append(json(certificate.sha1_hex));
        out.append(",\"not_before\":").append(json(utc(certificate.not_before)));
        out.append(",\"not_after\":").append(json(utc(certificate.not_after)));
        out.append(",\"days_left\":").append(std::to_string(days_left(certificate.not_after, snapshot.now)));
        out.append(",\"expiry\":").append(json(expiry_name(expiry(certificate, snapshot.now, expiry_warning_days))));
        out.append(",\"first_seen\":").append(json(utc(certificate.first_seen)));
        out.append(",\"last_seen\":").append(json(utc(certificate.last_seen)));
        out.append(",\"requests\":").append(number(certificate.requests));
        out.append(",\"last_verdict\":").append(json(outcome_name(certificate.outcome)));
        out.append(",\"last_rule\":");
        out.append(certificate.outcome == Decision::Outcome::failed ? json(rule_name(certificate.rule)) : "null");
        out.append("}");
        comma = ",";
    }
    out.append("]}}\n");
    return out;
}

std::string status_prometheus(const StatusSnapshot& snapshot)
{
    std::string out;
    const auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
        out.append(type).push_back('\n');
    };
    const auto sample = [&](std::string_view name, std::string_view labels, const std::string& value) {
        out.append(name);
        if (!labels.empty()) {
            out.append("{").append(labels).append("}");
        }
        out.append(" ").append(value).push_back('\n');
    };

    // Each metric where the list first names it; in it, its counters in the list's order, those
    // by rule last.
    for (std::size_t at = 0; at < counter_count; ++at) {
        if (!opens_metric(at)) {
            continue;
        }
        const std::string_view metric = all_counters.at(at).metric;
        family(metric, "counter", help_of(metric));
        for (const CounterInfo& counter : all_counters) {
            if (counter.metric == metric && !by_rule(counter)) {
                sample(metric, counter.labels, number(snapshot.counter(counter.id)));
            }
        }
        for (const CounterInfo& counter : all_counters) {
            if (counter.metric == metric && by_rule(counter)) {
                for (const Rule rule : refusing_rules) {
                    sample(metric, with_rule(counter.labels, rule),
                           number(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule))));
                }
            }
        }
    }

    const auto source_labels = [](const StatusSnapshot::Source& source) {
        return "kind=\"" + std::string(source_kind_name(source.kind)) + "\",name=\"" + label(source.name) + "\"";
    };
    family("arrcert_source_last_success_timestamp_seconds", "gauge",
           "When a revocation source or cache last loaded or answered (Unix time).");
    for (const auto& source : snapshot.sources) {
        if (source.last_success != 0) {
            sample("arrcert_source_last_success_timestamp_seconds", source_labels(source),
                   std::to_string(source.last_success));
        }
    }
    family("arrcert_source_next_update_timestamp_seconds", "gauge",
           "The nextUpdate of what a revocation source last gave (Unix time).");
    for (const auto& source : snapshot.sources) {
        if (source.next_update >= 0) {
            sample("arrcert_source_next_update_timestamp_seconds", source_labels(source),
                   std::to_string(source.next_update));
        }
    }
    family("arrcert_source_next_refresh_timestamp_seconds", "gauge",
           "When a fetched CRL is fetched again, or a source that failed is tried again (Unix time).");
    for (const auto& source : snapshot.sources) {
        if (source.next_refresh >= 0) {
            sample("arrcert_source_next_refresh_timestamp_seconds", source_labels(source),
                   std::to_string(source.next_refresh));
        }
    }
    family("arrcert_source_consecutive_failures", "gauge",
           "Failed fetches or queries of a source in a row, on every process of the server (0: it works).");
    for (const auto& source : snapshot.sources) {
        sample("arrcert_source_consecutive_failures", source_labels(source), number(source.failing));
    }
    family("arrcert_source_failures_total", "counter", "Failed loads, fetches or queries of a source or cache.");
    for (const auto& source : snapshot.sources) {
        sample("arrcert_source_failures_total", source_labels(source), number(source.failures));
    }

    family("arrcert_inventory_certificates", "gauge", "Client certificates in the inventory.");
    sample("arrcert_inventory_certificates", "", number(snapshot.inventory.size()));
    family("arrcert_inventory_capacity", "gauge", "The most client certificates the inventory keeps.");
    sample("arrcert_inventory_capacity", "", number(snapshot.inventory_capacity));
    family("arrcert_client_certificate_not_after_seconds", "gauge",
           "notAfter of each client certificate in the inventory (Unix time).");
    for (const auto& certificate : snapshot.inventory) {
        sample("arrcert_client_certificate_not_after_seconds",
               "thumbprint=\"" + certificate.sha1_hex + "\",subject=\"" + label(certificate.subject) + "\"",
               std::to_string(certificate.not_after));
    }
    family("arrcert_client_certificate_last_seen_seconds", "gauge",
           "When each client certificate in the inventory was last seen (Unix time).");
    for (const auto& certificate : snapshot.inventory) {
        sample("arrcert_client_certificate_last_seen_seconds",
               "thumbprint=\"" + certificate.sha1_hex + "\",subject=\"" + label(certificate.subject) + "\"",
               std::to_string(certificate.last_seen));
    }
    return out;
}

}  // namespace arrcert
