// The status's renderings: mod_status's lines, the page, JSON and Prometheus, each escaping what
// came from a certificate or a source.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "arrcert/status_report.h"

namespace arrcert {
namespace {

StatusSnapshot hostile_snapshot()
{
    StatusSnapshot snapshot;
    snapshot.now = 1'800'000'000;
    snapshot.inventory_capacity = 10;
    snapshot.counters.at(static_cast<std::size_t>(Counter::accepted)) = 7;
    snapshot.refused_by_rule.at(static_cast<std::size_t>(Rule::san)) = 2;
    StatusSnapshot::Certificate hostile;
    hostile.sha1_hex = "AB";
    hostile.subject = "CN=<script>alert(1)</script>\",O=a\\b\nX=\xFF";
    hostile.issuer = "CN=CA & Co";
    hostile.not_after = snapshot.now + std::int64_t{3} * 86400 + 5;
    snapshot.inventory.push_back(hostile);
    snapshot.inventory_size = 1;
    snapshot.sources.push_back({SourceKind::ocsp_responder, "http://o/\"x", 5, 0, -1, "", 1, 0});
    return snapshot;
}

TEST(StatusReportTest, LinesNameEveryCounterAndRule)
{
    const std::string lines = status_lines(hostile_snapshot());
    EXPECT_NE(lines.find("ArrCertAccepted: 7\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertRefusedSubjectAltName: 2\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertRefusedChain: 0\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertMemoryCacheHits: 0\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertInventoryCertificates: 1\n"), std::string::npos);
}

TEST(StatusReportTest, EveryFormatEscapesWhatCameFromACertificate)
{
    const StatusSnapshot snapshot = hostile_snapshot();
    const std::string page = status_page_html(snapshot, 30);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
    EXPECT_NE(page.find("CN=CA &amp; Co"), std::string::npos);
    EXPECT_NE(page.find("class=\"expiring\""), std::string::npos);
    EXPECT_NE(page.find("\xEF\xBF\xBD"), std::string::npos);  // the stray byte, replaced

    const std::string json = status_json(snapshot, 30);
    EXPECT_NE(json.find(R"(\u003cscript\u003e)"), std::string::npos);
    EXPECT_NE(json.find(R"(\",O=a\\b\u000aX=)"), std::string::npos);
    EXPECT_NE(json.find(R"("days_left":3)"), std::string::npos);
    EXPECT_NE(json.find(R"("expiry":"expiring")"), std::string::npos);

    const std::string metrics = status_prometheus(snapshot);
    EXPECT_NE(metrics.find(R"(subject="CN=<script>alert(1)</script>\",O=a\\b\\u000aX=)"), std::string::npos);
    EXPECT_NE(metrics.find("arrcert_requests_total{outcome=\"refused\",rule=\"san\"} 2\n"), std::string::npos);
    EXPECT_NE(metrics.find(R"(name="http://o/\"x")"), std::string::npos);
    EXPECT_EQ(metrics.find('\xFF'), std::string::npos);
}

// Every control character: C0 (NUL included), DEL, and C1 as UTF-8 (U+0080..U+009F), between
// letters, and a lone C1 byte that is not UTF-8.
std::string every_control()
{
    std::string text = "CN=a";
    for (unsigned c = 0; c < 0x20; ++c) {
        text.push_back(static_cast<char>(c));
    }
    text.append(
        "b\x7F"
        "c");
    for (unsigned c = 0x80; c < 0xA0; ++c) {
        text.push_back('\xC2');
        text.push_back(static_cast<char>(c));
    }
    return text +
           "d\x9B"
           "e";
}

StatusSnapshot control_snapshot(const std::string& text)
{
    StatusSnapshot snapshot = hostile_snapshot();
    snapshot.inventory.at(0).subject = text;
    snapshot.inventory.at(0).issuer = text;
    snapshot.sources.push_back({SourceKind::crl_fetch, "http://x/" + text, 0, 7, -1, "error " + text, 0, 1});
    return snapshot;
}

// No control character but the format's own line ends, and no more of those than with plain text.
void expect_no_control(const std::string& with_controls, const std::string& plain, const char* format)
{
    for (std::size_t i = 0; i < with_controls.size(); ++i) {
        const auto byte = static_cast<unsigned char>(with_controls[i]);
        EXPECT_TRUE(byte >= 0x20U || byte == '\n') << format << ": byte " << int{byte} << " at " << i;
        EXPECT_NE(byte, 0x7FU) << format << " at " << i;
        if (byte == 0xC2U && i + 1 < with_controls.size()) {
            const auto next = static_cast<unsigned char>(with_controls[i + 1]);
            EXPECT_FALSE(next >= 0x80U && next <= 0x9FU) << format << ": C1 at " << i;
        }
    }
    EXPECT_EQ(std::count(with_controls.begin(), with_controls.end(), '\n'),
              std::count(plain.begin(), plain.end(), '\n'))
        << format;
}

TEST(StatusReportTest, HtmlEscapesEveryControlCharacter)
{
    const std::string page = status_page_html(control_snapshot(every_control()), 30);
    expect_no_control(page, status_page_html(control_snapshot("CN=x"), 30), "html");
    EXPECT_NE(page.find(R"(CN=a\u0000\u0001)"), std::string::npos);
    EXPECT_NE(page.find(R"(\u000d\u000e)"), std::string::npos);
    EXPECT_NE(page.find(R"(\u001fb\u007fc\u0080)"), std::string::npos);
    EXPECT_NE(page.find(R"(\u009fd)"
                        "\xEF\xBF\xBD"
                        "e"),
              std::string::npos);  // the lone byte, replaced
    EXPECT_NE(page.find(R"(error CN=a\u0000)"), std::string::npos);
}

TEST(StatusReportTest, JsonEscapesEveryControlCharacter)
{
    const std::string json = status_json(control_snapshot(every_control()), 30);
    expect_no_control(json, status_json(control_snapshot("CN=x"), 30), "json");
    EXPECT_NE(json.find(R"("subject":"CN=a\u0000\u0001)"), std::string::npos);
    EXPECT_NE(json.find(R"(\u000a\u000b\u000c\u000d)"), std::string::npos);
    EXPECT_NE(json.find(R"(\u001fb\u007fc\u0080\u0081)"), std::string::npos);
    EXPECT_NE(json.find(R"(\u009fd)"
                        "\xEF\xBF\xBD"
                        R"(e")"),
              std::string::npos);
    EXPECT_NE(json.find(R"("last_error":"error CN=a\u0000)"), std::string::npos);
}

TEST(StatusReportTest, PrometheusEscapesEveryControlCharacter)
{
    const std::string metrics = status_prometheus(control_snapshot(every_control()));
    expect_no_control(metrics, status_prometheus(control_snapshot("CN=x")), "prometheus");
    // Read back, the label holds the text \u000d: the format itself escapes only \, " and \n.
    EXPECT_NE(metrics.find(R"(subject="CN=a\\u0000\\u0001)"), std::string::npos);
    EXPECT_NE(metrics.find(R"(\\u000a\\u000b\\u000c\\u000d)"), std::string::npos);
    EXPECT_NE(metrics.find(R"(\\u001fb\\u007fc\\u0080)"), std::string::npos);
    EXPECT_NE(metrics.find(R"(name="http://x/CN=a\\u0000)"), std::string::npos);
    // Only the three escapes the format has, so every parser reads it (promtool refuses \r).
    bool in_label = false;
    for (std::size_t i = 0; i < metrics.size(); ++i) {
        if (!in_label && metrics.compare(i, 2, "=\"") == 0) {
            in_label = true;
            ++i;
        } else if (in_label && metrics[i] == '\\') {
            const char next = i + 1 < metrics.size() ? metrics[i + 1] : '\0';
            EXPECT_TRUE(next == '\\' || next == '"' || next == 'n') << "escape \\" << next << " at " << i;
            ++i;
        } else if (in_label && metrics[i] == '"') {
            in_label = false;
        }
    }
}

TEST(StatusReportTest, ModStatusLinesAndSectionCarryNoControlCharacter)
{
    // They hold counters only: nothing a certificate wrote, however hostile the snapshot.
    const StatusSnapshot hostile = control_snapshot(every_control());
    const StatusSnapshot plain = control_snapshot("CN=x");
    expect_no_control(status_lines(hostile), status_lines(plain), "?auto");
    expect_no_control(status_summary_html(hostile), status_summary_html(plain), "mod_status section");
    EXPECT_EQ(status_lines(hostile), status_lines(plain));
}

// How often the parts, joined, occur in text.
std::size_t occurrences(const std::string& text, std::initializer_list<std::string_view> parts)
{
    std::string part;
    for (const std::string_view each : parts) {
        part.append(each);
    }
    std::size_t count = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++count;
    }
    return count;
}

TEST(StatusReportTest, CountersAreListedOnceByEnumeratorWithUniqueNamesAndSamples)
{
    std::set<std::string_view> names;
    std::set<std::pair<std::string_view, std::string_view>> samples;
    for (std::size_t i = 0; i < counter_count; ++i) {
        const CounterInfo& counter = all_counters.at(i);
        EXPECT_EQ(static_cast<std::size_t>(counter.id), i);
        EXPECT_EQ(counter_name(counter.id), counter.name);
        EXPECT_FALSE(counter.name.empty());
        EXPECT_TRUE(names.insert(counter.name).second) << counter.name;
        EXPECT_TRUE(counter.metric.starts_with("arrcert_") && counter.metric.ends_with("_total")) << counter.metric;
        EXPECT_TRUE(samples.insert({counter.metric, counter.labels}).second) << counter.name;
    }
}

// Each counter with its own value, each rule too: a format that left one out, or wrote one twice,
// shows.
TEST(StatusReportTest, EveryCounterAppearsOnceInEveryFormat)
{
    StatusSnapshot snapshot;
    for (std::size_t i = 0; i < counter_count; ++i) {
        snapshot.counters.at(i) = 1000 + i;
    }
    for (std::size_t i = 0; i < rule_count; ++i) {
        snapshot.refused_by_rule.at(i) = 2000 + i;
    }
    const std::string lines = status_lines(snapshot);
    const std::string summary = status_summary_html(snapshot);
    const std::string page = status_page_html(snapshot, 30);
    const std::string json = status_json(snapshot, 30);
    const std::string metrics = status_prometheus(snapshot);
    // A line per counter and per refusing rule (all rules but none), and the inventory's.
    EXPECT_EQ(occurrences(lines, {"\n"}), counter_count + rule_count);
    std::set<std::string_view> metric_names;
    for (std::size_t i = 0; i < counter_count; ++i) {
        const auto counter = static_cast<Counter>(i);
        const std::string_view name = counter_name(counter);
        const std::string value = std::to_string(snapshot.counter(counter));
        EXPECT_EQ(occurrences(lines, {"ArrCert", name, ": "}), 1U) << name;
        EXPECT_EQ(occurrences(lines, {"ArrCert", name, ": ", value, "\n"}), 1U) << name;
        EXPECT_EQ(occurrences(summary, {"<th>", name, "</th>"}), 1U) << name;
        EXPECT_EQ(occurrences(summary, {"<tr><th>", name, "</th><td>", value, "</td></tr>"}), 1U) << name;
        EXPECT_EQ(occurrences(page, {"<td>", name, "</td>"}), 1U) << name;
        EXPECT_EQ(occurrences(page, {"<tr><td>", name, R"(</td><td class="n">)", value, "</td></tr>"}), 1U) << name;
        EXPECT_EQ(occurrences(json, {"\"", name, "\":"}), 1U) << name;
        EXPECT_EQ(occurrences(json, {"\"", name, "\":", value}), 1U) << name;

        const CounterInfo& info = all_counters.at(i);
        metric_names.insert(info.metric);
        if (counter == Counter::refused) {
            // No sample of the total: one per refusing rule, which add up to it.
            EXPECT_EQ(occurrences(metrics, {" ", value, "\n"}), 0U);
            for (auto rule = Rule::header; rule <= last_rule; rule = static_cast<Rule>(static_cast<int>(rule) + 1)) {
                const std::string by_rule = std::to_string(snapshot.refused_by_rule.at(static_cast<std::size_t>(rule)));
                EXPECT_EQ(occurrences(metrics, {info.metric, R"({outcome="refused",rule=")", rule_name(rule), "\"} ",
                                                by_rule, "\n"}),
                          1U)
                    << rule_name(rule);
            }
            continue;
        }
        const std::string_view open = info.labels.empty() ? "" : "{";
        const std::string_view close = info.labels.empty() ? "" : "}";
        EXPECT_EQ(occurrences(metrics, {"\n", info.metric, open, info.labels, close, " "}), 1U) << name;
        EXPECT_EQ(occurrences(metrics, {"\n", info.metric, open, info.labels, close, " ", value, "\n"}), 1U) << name;
        EXPECT_EQ(occurrences(metrics, {" ", value, "\n"}), 1U) << name;
    }
    std::size_t samples = 0;
    for (const std::string_view metric : metric_names) {
        EXPECT_EQ(occurrences(metrics, {"# HELP ", metric, " "}), 1U) << metric;
        EXPECT_EQ(occurrences(metrics, {"# TYPE ", metric, " counter\n"}), 1U) << metric;
        samples += occurrences(metrics, {"\n", metric, "{"}) + occurrences(metrics, {"\n", metric, " "});
    }
    EXPECT_EQ(samples, (counter_count - 1) + (rule_count - 1));  // all but refused, and refused by rule
}

TEST(StatusReportTest, DaysLeftRoundDown)
{
    EXPECT_EQ(days_left(86400 * 2 + 1, 0), 2);
    EXPECT_EQ(days_left(86399, 0), 0);
    EXPECT_EQ(days_left(-1, 0), -1);
    EXPECT_EQ(days_left(-86400, 0), -1);
    EXPECT_EQ(days_left(-86401, 0), -2);
}

}  // namespace
}  // namespace arrcert
