// The status as text: mod_status's lines, a page for people, JSON, and Prometheus's text format.
// Pure functions of a snapshot; every text that came from a certificate or a source is escaped
// for the format it goes into.
#pragma once

#include <string>

#include "arrcert/status_area.h"

namespace arrcert {

inline constexpr int default_expiry_warning_days = 30;

// "ArrCertAccepted: 3" lines, for /server-status?auto.
std::string status_lines(const StatusSnapshot& snapshot);
// The counters as an HTML fragment, for mod_status's page.
std::string status_summary_html(const StatusSnapshot& snapshot);
// The whole page (no script, no resource from elsewhere).
std::string status_page_html(const StatusSnapshot& snapshot, int expiry_warning_days);
std::string status_json(const StatusSnapshot& snapshot, int expiry_warning_days);
// Prometheus's text exposition format (version 0.0.4), with HELP and TYPE lines.
std::string status_prometheus(const StatusSnapshot& snapshot);

// Whole days from `now` to `not_after`, rounded down (negative once expired).
long long days_left(std::int64_t not_after, std::int64_t now) noexcept;

}  // namespace arrcert
