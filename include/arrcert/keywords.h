// Tables of keywords (formats, front ends, the directives' keyword sets): one table per set, from
// which the parsing (any case, as httpd's keywords), the "one of ..." message and the help text come.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace arrcert {

template <class T>
struct Keyword {
    std::string_view name;
    T value;
};

inline bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

template <class T, std::size_t N>
std::optional<T> keyword_value(const std::array<Keyword<T>, N>& table, std::string_view word) noexcept
{
    for (const Keyword<T>& keyword : table) {
        if (equal_ignoring_case(keyword.name, word)) {
            return keyword.value;
        }
    }
    return std::nullopt;
}

template <class T, std::size_t N>
std::string_view keyword_name(const std::array<Keyword<T>, N>& table, T value) noexcept
{
    for (const Keyword<T>& keyword : table) {
        if (keyword.value == value) {
            return keyword.name;
        }
    }
    return "unknown";
}

// "a, b or c" for messages; keyword_list(table, "|", "|") "a|b|c" for help texts.
template <class T, std::size_t N>
std::string keyword_list(const std::array<Keyword<T>, N>& table, std::string_view separator = ", ",
                         std::string_view last = " or ")
{
    std::string list;
    for (std::size_t i = 0; i < N; ++i) {
        if (i != 0) {
            list += i + 1 == N ? last : separator;
        }
        list += table[i].name;
    }
    return list;
}

}  // namespace arrcert
