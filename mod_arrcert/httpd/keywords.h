// One table per keyword set of the directives: parsing (case-insensitive, as every keyword of
// httpd's directives), the "one of ..." message and the help text all come from it.
#pragma once

#include <strings.h>

#include <optional>
#include <array>
#include <cstddef>
#include <string>

namespace arrcert::httpd {

template <class T>
struct Keyword {
    const char* name;
    T value;
};

template <class T, std::size_t N>
std::optional<T> keyword_value(const std::array<Keyword<T>, N>& table, const char* word) noexcept
{
    for (const Keyword<T>& keyword : table) {
        if (strcasecmp(keyword.name, word) == 0) {
            return keyword.value;
        }
    }
    return std::nullopt;
}

// "a, b or c"
template <class T, std::size_t N>
std::string keyword_list(const std::array<Keyword<T>, N>& table, const char* separator = ", ",
                         const char* last = " or ")
{
    std::string list;
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (i != 0) {
            list += i + 1 == table.size() ? last : separator;
        }
        list += table[i].name;
    }
    return list;
}

}  // namespace arrcert::httpd
