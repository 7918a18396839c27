#include "status_escape.h"

#include <array>
#include <cstdio>

namespace arrcert::status_text {
namespace {

// The control character that starts at `at` of valid UTF-8 (C0, DEL, or C1 as U+0080..U+009F)
// and its length in bytes; 0 when there is none.
std::size_t control_at(std::string_view text, std::size_t at, unsigned& code_point) noexcept
{
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x20U || byte == 0x7FU) {
        code_point = byte;
        return 1;
    }
    if (byte == 0xC2U && at + 1 < text.size()) {
        const auto next = static_cast<unsigned char>(text[at + 1]);
        if (next >= 0x80U && next <= 0x9FU) {
            code_point = next;
            return 2;
        }
    }
    return 0;
}

std::string u_escape(unsigned code_point)
{
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "\\u%04x", code_point);
    return text.data();
}

// `plain` for every byte of `text` made valid UTF-8; each control character as `backslash` u001b.
template <class Plain>
std::string escaped(std::string_view text, const std::string& backslash, Plain plain)
{
    const std::string valid = valid_utf8(text);
    std::string out;
    out.reserve(valid.size());
    for (std::size_t i = 0; i < valid.size();) {
        unsigned code_point = 0;
        if (const std::size_t length = control_at(valid, i, code_point); length != 0) {
            out.append(backslash).append(u_escape(code_point).substr(1));
            i += length;
        } else {
            plain(out, valid[i]);
            ++i;
        }
    }
    return out;
}

}  // namespace

std::string valid_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = byte < 0x80U            ? 1
                             : (byte >> 5U) == 0x6U  ? 2
                             : (byte >> 4U) == 0xEU  ? 3
                             : (byte >> 3U) == 0x1EU ? 4
                                                     : 0;
        bool whole = length != 0 && i + length <= text.size() && !(length == 2 && byte < 0xC2U);
        for (std::size_t k = 1; whole && k < length; ++k) {
            whole = (static_cast<unsigned char>(text[i + k]) & 0xC0U) == 0x80U;
        }
        if (whole) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out.append("\xEF\xBF\xBD");
            ++i;
        }
    }
    return out;
}

std::string html(std::string_view text)
{
    return escaped(text, "\\", [](std::string& out, char c) {
        switch (c) {
            case '&': out.append("&amp;"); break;
            case '<': out.append("&lt;"); break;
            case '>': out.append("&gt;"); break;
            case '"': out.append("&quot;"); break;
            case '\'': out.append("&#39;"); break;
            default: out.push_back(c);
        }
    });
}

std::string json(std::string_view text)
{
    return "\"" +
           escaped(text, "\\",
                   [](std::string& out, char c) {
                       if (c == '"' || c == '\\') {
                           out.push_back('\\');
                           out.push_back(c);
                       } else if (c == '<' || c == '>' || c == '&') {
                           out.append(u_escape(static_cast<unsigned char>(c)));
                       } else {
                           out.push_back(c);
                       }
                   }) +
           "\"";
}

std::string label(std::string_view text)
{
    // The backslash of \u001b is itself escaped: the value read back is the six characters.
    return escaped(text, "\\\\", [](std::string& out, char c) {
        switch (c) {
            case '\\': out.append("\\\\"); break;
            case '"': out.append("\\\""); break;
            default: out.push_back(c);
        }
    });
}

}  // namespace arrcert::status_text
