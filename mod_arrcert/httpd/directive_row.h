// A directive as data: one row says what it sets, how its value is read (on|off, a bounded number,
// a keyword), its named default, where it may be written and what it is for. The command table,
// the generic handlers (directive_handlers.h), the help text and so the reference are made from
// the rows; resolve() takes each default from its row. Free of httpd types (unit-tested).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "arrcert/keywords.h"

namespace arrcert::httpd {

// Where a directive may be written (command_table.cpp turns it into httpd's context bits).
enum class Where : unsigned char {
    htaccess_too,  // server, virtual host, directory, and .htaccess with AllowOverride AuthConfig
    admin_only,    // server, virtual host, directory; never .htaccess
    server,        // server config and virtual host
    main_server,   // server config only (global)
};

template <class Settings>
struct FlagRow {
    using settings_type = Settings;
    const char* name;
    std::optional<bool> Settings::*field;
    bool fallback;
    Where where;
    const char* purpose;

    [[nodiscard]] bool value(const Settings& settings) const { return (settings.*field).value_or(fallback); }
    [[nodiscard]] std::string syntax() const { return "on|off"; }
    [[nodiscard]] std::string default_text() const { return fallback ? "on" : "off"; }
};

template <class Settings, class Number>
struct NumberRow {
    using settings_type = Settings;
    const char* name;
    std::optional<Number> Settings::*field;
    std::int64_t low;
    std::int64_t high;
    const char* unit;  // in the message for a bad value: "not a number of seconds from 0 to 86400"
    Number fallback;
    Where where;
    const char* argument;  // in the syntax: "SECONDS"
    const char* purpose;

    [[nodiscard]] Number value(const Settings& settings) const { return (settings.*field).value_or(fallback); }
    [[nodiscard]] std::string syntax() const { return argument; }
    [[nodiscard]] std::string default_text() const { return std::to_string(fallback); }
};

template <class Settings, class Value, std::size_t N>
struct KeywordRow {
    using settings_type = Settings;
    const char* name;
    std::optional<Value> Settings::*field;
    const std::array<Keyword<Value>, N>* words;
    Value fallback;
    Where where;
    const char* purpose;

    [[nodiscard]] Value value(const Settings& settings) const { return (settings.*field).value_or(fallback); }
    [[nodiscard]] std::string syntax() const { return keyword_list(*words, "|", "|"); }
    [[nodiscard]] std::string default_text() const { return std::string(keyword_name(*words, fallback)); }
};

// The help text httpd shows (httpd -L, arity errors) and the reference is made from:
// "SYNTAX[ (default VALUE[; server config only])]: purpose". An empty default: none.
std::string help_text(const std::string& syntax, const std::string& default_text, Where where, const char* purpose);

template <class Row>
std::string help_text(const Row& row)
{
    return help_text(row.syntax(), row.default_text(), row.where, row.purpose);
}

// "'WORD' is not one of a, b or c" ("is not a or b" for two).
template <class T, std::size_t N>
std::string not_one_of(std::string_view word, const std::array<Keyword<T>, N>& table)
{
    return "'" + std::string(word) + "' is not " + (N == 2 ? "" : "one of ") + keyword_list(table);
}

}  // namespace arrcert::httpd
