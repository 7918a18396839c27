// The directives made from rows: each row's default is its named constant, the built module's
// command table says it (help text), the reference (docs/directives.md) says the same, and the
// row's own parser would accept it. Loads build/mod_arrcert.so as the reference tool does.
#include <dlfcn.h>

#include <apr_general.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "../../mod_arrcert/httpd/dir_config.h"
#include "../../mod_arrcert/httpd/server_config.h"

namespace arrcert::httpd {
namespace {

// "## ArrCertName" sections of the reference and their "| Default | VALUE |" line.
std::map<std::string, std::string> reference_defaults()
{
    std::ifstream file(ARRCERT_SOURCE_DIR "/docs/directives.md");
    std::map<std::string, std::string> defaults;
    std::string line;
    std::string current;
    while (std::getline(file, line)) {
        if (line.starts_with("## ArrCert")) {
            current = line.substr(3);
            defaults.emplace(current, "");
        } else if (!current.empty() && line.starts_with("| Default | ")) {
            defaults[current] = line.substr(12, line.size() - 12 - 2);
        }
    }
    return defaults;
}

// What the built module's command table says of each directive.
class ModuleTable {
public:
    ModuleTable()
    {
        apr_initialize();
        handle_ = dlopen(ARRCERT_MODULE_PATH, RTLD_LAZY | RTLD_LOCAL);
        if (handle_ != nullptr) {
            loaded_ = static_cast<const module*>(dlsym(handle_, "arrcert_module"));
        }
    }
    ~ModuleTable()
    {
        if (handle_ != nullptr) {
            dlclose(handle_);
        }
        apr_terminate();
    }
    ModuleTable(const ModuleTable&) = delete;
    ModuleTable& operator=(const ModuleTable&) = delete;
    ModuleTable(ModuleTable&&) = delete;
    ModuleTable& operator=(ModuleTable&&) = delete;

    [[nodiscard]] const command_rec* find(std::string_view name) const
    {
        for (const command_rec* command = commands(); command != nullptr && command->name != nullptr; ++command) {
            if (name == command->name) {
                return command;
            }
        }
        return nullptr;
    }
    [[nodiscard]] const command_rec* commands() const { return loaded_ != nullptr ? loaded_->cmds : nullptr; }

private:
    void* handle_ = nullptr;
    const module* loaded_ = nullptr;
};

// The default a help text states: "SYNTAX (default VALUE[; server config only]): ..."; empty: none.
std::string help_default(std::string_view help)
{
    const std::size_t colon = help.find("): ");
    const std::size_t open = help.rfind(" (", colon);
    if (colon == std::string_view::npos || open == std::string_view::npos) {
        return "";
    }
    std::string_view note = help.substr(open + 2, colon - open - 2);
    if (!note.starts_with("default ")) {
        return "";
    }
    note.remove_prefix(8);
    return std::string(note.substr(0, note.find("; server config only")));
}

template <class Check>
void each_row(Check check)
{
    std::apply([&](const auto&... row) { (check(row), ...); }, dir_rows::all);
    std::apply([&](const auto&... row) { (check(row), ...); }, server_rows::all);
}

TEST(DirectiveRowsTest, EveryRowIsInTheModuleWithItsHelpText)
{
    const ModuleTable table;
    ASSERT_NE(table.commands(), nullptr) << "cannot load " << ARRCERT_MODULE_PATH << ": " << dlerror();
    each_row([&](const auto& row) {
        const command_rec* command = table.find(row.name);
        ASSERT_NE(command, nullptr) << row.name << " is a row but not in the command table";
        EXPECT_EQ(command->errmsg, help_text(row)) << row.name;
        EXPECT_EQ(help_default(command->errmsg), row.default_text()) << row.name;
    });
}

TEST(DirectiveRowsTest, HelpTextReferenceAndNamedDefaultAgree)
{
    const ModuleTable table;
    ASSERT_NE(table.commands(), nullptr) << ARRCERT_MODULE_PATH;
    const std::map<std::string, std::string> reference = reference_defaults();
    ASSERT_FALSE(reference.empty());
    // Every directive, whether a row or its own handler.
    int count = 0;
    for (const command_rec* command = table.commands(); command->name != nullptr; ++command, ++count) {
        const auto documented = reference.find(command->name);
        ASSERT_NE(documented, reference.end()) << command->name << " is not in docs/directives.md (make docs)";
        EXPECT_EQ(documented->second, help_default(command->errmsg)) << command->name << " (make docs)";
    }
    EXPECT_EQ(count, static_cast<int>(reference.size())) << "docs/directives.md lists a directive the module lacks";
    // The rows' defaults are their named constants.
    EXPECT_EQ(dir_rows::max_header_length.default_text(), std::to_string(default_max_header_length));
    EXPECT_EQ(dir_rows::verify_depth.default_text(), std::to_string(default_verify_depth));
    EXPECT_EQ(dir_rows::crl_refresh.default_text(), std::to_string(default_crl_refresh_seconds));
    EXPECT_EQ(dir_rows::ocsp_timeout.default_text(), std::to_string(OcspPolicy{}.timeout_seconds));
    EXPECT_EQ(server_rows::cache_timeout.default_text(), std::to_string(default_cache_timeout_seconds));
    EXPECT_EQ(server_rows::cache_backend_timeout.default_text(), std::to_string(default_backend_timeout_ms));
    EXPECT_EQ(help_default(table.find("ArrCertCache")->errmsg), "memory:" + std::to_string(default_cache_entries));
}

TEST(DirectiveRowsTest, EveryNumberDefaultIsAValueItsOwnDirectiveAccepts)
{
    each_row([](const auto& row) {
        if constexpr (requires { row.low; }) {
            EXPECT_LE(row.low, static_cast<std::int64_t>(row.fallback)) << row.name;
            EXPECT_GE(row.high, static_cast<std::int64_t>(row.fallback)) << row.name;
        }
    });
}

TEST(DirectiveRowsTest, AnUnsetRowReadsItsDefaultAndASetOneItsValue)
{
    DirSettings settings;
    EXPECT_EQ(dir_rows::clock_skew.value(settings), 0);
    EXPECT_TRUE(dir_rows::ocsp_use_nonce.value(settings));
    settings.clock_skew = 30;
    settings.ocsp_use_nonce = false;
    EXPECT_EQ(resolve(settings).clock_skew, 30);
    EXPECT_FALSE(resolve(settings).ocsp.use_nonce);
}

}  // namespace
}  // namespace arrcert::httpd
