// How a directive's handler reaches what it sets, always inside guard_directive: the settings of
// its own scope (per directory, resolved again after every line) or its server's (the main
// server's for Where::main_server), and the generic handlers of the rows (directive_row.h), which
// find their row in cmd->info.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <type_traits>
#include <vector>

#include "c_boundary.h"
#include "dir_config.h"
#include "directive_values.h"
#include "pool_owned.h"
#include "server_config.h"

namespace arrcert::httpd {

// Runs a handler's body on its own scope's settings and resolves the scope again: the scope that
// requests read is always the settings' resolution, also for a scope httpd never merges.
template <class Body>
const char* on_settings(cmd_parms* cmd, void* config, Body body) noexcept
{
    return guard_directive(cmd, [&]() -> const char* {
        auto& dir = *static_cast<DirConfig*>(config);
        const char* failure = body(dir.settings);
        dir.settle();
        return failure;
    });
}

// Runs a handler's body on its server's settings; `main_only`: outside any <VirtualHost> only.
template <class Body>
const char* on_server(cmd_parms* cmd, bool main_only, Body body) noexcept
{
    return guard_directive(cmd, [&]() -> const char* {
        if (main_only) {
            if (const char* context = ap_check_cmd_context(cmd, GLOBAL_ONLY); context != nullptr) {
                return context;
            }
        }
        return body(server_config_of(cmd));
    });
}

// A row's body on the settings it is written for.
template <class Row, class Body>
const char* on_row_settings(cmd_parms* cmd, void* config, const Row& row, Body body) noexcept
{
    if constexpr (std::is_same_v<typename Row::settings_type, DirSettings>) {
        return on_settings(cmd, config, body);
    } else {
        return on_server(cmd, row.where == Where::main_server, body);
    }
}

template <class Row>
const Row& row_of(const cmd_parms* cmd) noexcept
{
    return *static_cast<const Row*>(cmd->info);
}

template <class Row>
const char* set_flag_row(cmd_parms* cmd, void* config, int on) noexcept
{
    const Row& row = row_of<Row>(cmd);
    return on_row_settings(cmd, config, row, [&](typename Row::settings_type& settings) -> const char* {
        settings.*row.field = on != 0;
        return nullptr;
    });
}

template <class Row>
const char* set_number_row(cmd_parms* cmd, void* config, const char* arg) noexcept
{
    const Row& row = row_of<Row>(cmd);
    return on_row_settings(cmd, config, row, [&](typename Row::settings_type& settings) {
        return set_number(cmd, arg, row.low, row.high, row.unit, settings.*row.field);
    });
}

template <class Row>
const char* set_keyword_row(cmd_parms* cmd, void* config, const char* arg) noexcept
{
    const Row& row = row_of<Row>(cmd);
    return on_row_settings(cmd, config, row, [&](typename Row::settings_type& settings) -> const char* {
        const auto value = keyword_value(*row.words, arg);
        if (!value) {
            return directive_error(cmd, not_one_of(arg, *row.words));
        }
        settings.*row.field = *value;
        return nullptr;
    });
}

// A repeatable directive's list in its own scope: made by its first line, appended by the next
// (a scope's list replaces the outer one at merge time, so the handler never sees another's).
template <class T>
std::vector<T>& own_list(cmd_parms* cmd, std::vector<T>*& list)
{
    if (list == nullptr) {
        list = make_pool_owned<std::vector<T>>(cmd->pool);
    }
    return *list;
}

// Where a directive was written, for the start-up check's messages.
inline Origin origin_of(const cmd_parms* cmd, const char* what)
{
    return cmd->directive != nullptr ? Origin{cmd->directive->filename, cmd->directive->line_num, what}
                                     : Origin{nullptr, 0, what};
}

}  // namespace arrcert::httpd
