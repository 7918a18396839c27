// Text from certificates and sources, escaped for each format the status is shown in. Every
// control character (C0, DEL, and C1 once the text is UTF-8) is escaped in each: a page, a scrape
// or a log line that shows it cannot be rewritten by a terminal escape, a carriage return or a
// line break from a client's certificate. Not a public header.
#pragma once

#include <string>
#include <string_view>

namespace arrcert::status_text {

// Bytes that are not well-formed UTF-8 become U+FFFD: JSON and Prometheus need valid UTF-8.
std::string valid_utf8(std::string_view text);
// For HTML text and attributes; a control character shows as the text \u001b.
std::string html(std::string_view text);
// A JSON string, quotes included; control characters as JSON's \u001b, and <, >, & too.
std::string json(std::string_view text);
// A Prometheus label value (without its quotes). The format escapes only \, " and line feed; a
// control character shows as the text \u001b (written \\u001b), so no scraper, rule or alert
// ever receives one.
std::string label(std::string_view text);

}  // namespace arrcert::status_text
