#include "arrcert/xfcc.h"

#include <cctype>
#include <optional>

namespace arrcert {
namespace {

bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

class XfccParser {
public:
    explicit XfccParser(std::string_view text) : text_(text) {}

    Result<std::vector<XfccElement>> parse()
    {
        std::vector<XfccElement> elements;
        while (true) {
            XfccElement element;
            while (true) {
                skip_spaces();
                std::string key;
                while (!at_end() && text_[position_] != '=' && text_[position_] != ';' && text_[position_] != ',' &&
                       text_[position_] != '"') {
                    key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text_[position_++]))));
                }
                while (!key.empty() && is_space(key.back())) {
                    key.pop_back();
                }
                if (key.empty() || at_end() || text_[position_] != '=') {
                    return failure("expected KEY=value");
                }
                ++position_;
                auto value = parse_value();
                if (!value) {
                    return Result<std::vector<XfccElement>>::failure(value.error());
                }
                element.fields.emplace_back(std::move(key), std::move(value.value()));
                skip_spaces();
                if (at_end() || text_[position_] == ',') {
                    break;
                }
                if (text_[position_] != ';') {
                    return failure("expected ';' or ','");
                }
                ++position_;
            }
            elements.push_back(std::move(element));
            if (at_end()) {
                return Result<std::vector<XfccElement>>::success(std::move(elements));
            }
            ++position_;  // ','
        }
    }

private:
    [[nodiscard]] bool at_end() const { return position_ >= text_.size(); }

    void skip_spaces()
    {
        while (!at_end() && is_space(text_[position_])) {
            ++position_;
        }
    }

    [[nodiscard]] Result<std::vector<XfccElement>> failure(const std::string& reason) const
    {
        return Result<std::vector<XfccElement>>::failure("XFCC: " + reason + " at position " +
                                                         std::to_string(position_));
    }

    Result<std::string> parse_value()
    {
        std::string value;
        if (!at_end() && text_[position_] == '"') {
            ++position_;
            while (true) {
                if (at_end()) {
                    return Result<std::string>::failure("XFCC: unterminated quoted value");
                }
                const char c = text_[position_++];
                if (c == '"') {
                    return Result<std::string>::success(std::move(value));
                }
                if (c == '\\') {
                    if (at_end()) {
                        return Result<std::string>::failure("XFCC: incomplete escape in a quoted value");
                    }
                    value.push_back(text_[position_++]);
                    continue;
                }
                value.push_back(c);
            }
        }
        while (!at_end() && text_[position_] != ';' && text_[position_] != ',') {
            if (text_[position_] == '"') {
                return Result<std::string>::failure("XFCC: '\"' inside an unquoted value");
            }
            value.push_back(text_[position_++]);
        }
        while (!value.empty() && is_space(value.back())) {
            value.pop_back();
        }
        return Result<std::string>::success(std::move(value));
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

}  // namespace

Result<std::string> XfccElement::field(std::string_view key) const
{
    const std::pair<std::string, std::string>* found = nullptr;
    for (const auto& entry : fields) {
        if (entry.first != key) {
            continue;
        }
        if (found != nullptr) {
            return Failure{"XFCC: " + std::string(key) + " appears twice in one element"};
        }
        found = &entry;
    }
    return found != nullptr ? found->second : std::string();
}

Result<std::vector<XfccElement>> parse_xfcc(std::string_view text)
{
    return XfccParser(text).parse();
}

}  // namespace arrcert
