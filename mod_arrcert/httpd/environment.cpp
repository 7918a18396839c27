#include "environment.h"

#include <apr_cstr.h>
#include <apr_strings.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <string_view>

#include "arrcert/bound_token.h"
#include "arrcert/export.h"

namespace arrcert::httpd {
namespace {

std::span<const apr_table_entry_t> entries_of(const apr_table_t* table) noexcept
{
    const apr_array_header_t* entries = apr_table_elts(table);
    return {reinterpret_cast<const apr_table_entry_t*>(entries->elts), static_cast<std::size_t>(entries->nelts)};
}

bool is_certificate_entry(const apr_table_entry_t& entry) noexcept
{
    return entry.key != nullptr && is_certificate_name(entry.key);
}

constexpr std::size_t max_pending = 128;

// Strings copied one after another into one allocation of the request's pool, each ended by a NUL.
class StringBlock {
public:
    StringBlock(apr_pool_t* pool, std::size_t bytes)
        : cursor_(static_cast<char*>(apr_palloc(pool, bytes > 0 ? bytes : 1)))
    {
    }
    char* put(std::string_view text) noexcept
    {
        char* copied = cursor_;
        std::memcpy(copied, text.data(), text.size());
        copied[text.size()] = '\0';
        cursor_ += text.size() + 1;
        return copied;
    }

private:
    char* cursor_;
};

// A name and value that live only for the call: copied into the pool on their own.
void add_copy(apr_pool_t* pool, apr_table_t* env, std::string_view name, std::string_view value)
{
    apr_table_addn(env, apr_pstrmemdup(pool, name.data(), name.size()),
                   apr_pstrmemdup(pool, value.data(), value.size()));
}

// Every variable, in add_variables' order: the ones made per request first (SSL_CLIENT_VERIFY,
// SSL_CLIENT_V_REMAIN, the chain's names), then the verdict's own strings. Those of StdEnvVars are
// copied as the one block the verdict keeps of them. Into an empty environment, with the
// connection's table of these names: a copy of that table, its entries then pointed at this
// request's copies (the same entries in the same order as adding them one by one).
void add_all(apr_pool_t* pool, apr_table_t*& env, const Verdict& verdict, const Decision& decision, std::int64_t now,
             ExportOptions options, StandardTable* standard)
{
    const bool has_certificate = verdict.kind == Verdict::Kind::judged;
    const CertificateVariables& variables = verdict.variables;
    const std::size_t chain_count = options.certificate ? variables.chain.size() : 0;
    const apr_table_t* table = nullptr;
    if (has_certificate && standard != nullptr && apr_is_empty_table(env)) {
        table = standard->of(variables.block, chain_count);
    }
    if (table != nullptr) {
        env = apr_table_copy(pool, table);
        const apr_array_header_t* entries = apr_table_elts(env);
        auto* entry = reinterpret_cast<apr_table_entry_t*>(entries->elts);
        const std::string verify = verify_value(decision);
        const std::string remain = days_remaining(verdict.not_after, now);
        const std::string& bytes = variables.block.bytes;
        // This request's copies in one allocation: the block, then each name and value made apart.
        std::size_t size = bytes.size() + 1 + verify.size() + 1 + remain.size() + 1;
        for (std::size_t i = 0; i < 2 + chain_count; ++i) {
            size += std::strlen(entry[i].key) + 1 + (i >= 2 ? variables.chain[i - 2].size() + 1 : 0);
        }
        StringBlock block(pool, size);
        const char* copy = block.put(bytes);  // NULs inside: the entries below point into it
        const auto set_copy = [&](apr_table_entry_t& each, std::string_view value) {
            each.key = block.put(each.key);
            each.val = block.put(value);
        };
        set_copy(entry[0], verify);
        set_copy(entry[1], remain);
        for (std::size_t i = 0; i < chain_count; ++i) {
            set_copy(entry[2 + i], variables.chain[i]);
        }
        for (int i = 2 + static_cast<int>(chain_count); i < entries->nelts; ++i) {
            entry[i].key = const_cast<char*>(copy + (entry[i].key - standard->base()));
            entry[i].val = const_cast<char*>(copy + (entry[i].val - standard->base()));
        }
    } else {
        add_copy(pool, env, "SSL_CLIENT_VERIFY", verify_value(decision));
        if (has_certificate) {
            add_copy(pool, env, "SSL_CLIENT_V_REMAIN", days_remaining(verdict.not_after, now));
        }
        for (std::size_t i = 0; i < chain_count; ++i) {
            add_copy(pool, env, "SSL_CLIENT_CERT_CHAIN_" + std::to_string(i), variables.chain[i]);
        }
        if (has_certificate) {
            const CertificateVariables::Block& block = variables.block;
            const char* copy = static_cast<const char*>(apr_pmemdup(pool, block.bytes.data(), block.bytes.size() + 1));
            for (const auto& [name, value] : block.offsets) {
                apr_table_addn(env, copy + name, copy + value);
            }
        }
    }
    if (has_certificate && !verdict.warning.empty()) {
        add_copy(pool, env, "ARRCERT_OCSP_SOFT_FAIL", verdict.warning);
    }
    if (options.certificate) {
        add_copy(pool, env, "SSL_CLIENT_CERT", variables.pem);
    }
    if (options.bound_token && has_certificate && decision.outcome == Decision::Outcome::success) {
        add_copy(pool, env, bound_token_variable, bound_token_fingerprint(verdict.sha256));
    }
}

// Adds the verdict's variables to `env`. The verdict's own strings are copied in one block.
void add_variables(apr_pool_t* pool, apr_table_t*& env, const Verdict& verdict, const Decision& decision,
                   std::int64_t now, ExportOptions options, const std::vector<std::string>* only,
                   StandardTable* standard)
{
    // StdEnvVars whole (the default): the same entries in the same order, from the sealed block.
    if (only == nullptr && options.standard && verdict.variables.sealed() &&
        verdict.variables.standard.size() + 2 <= max_pending) {
        add_all(pool, env, verdict, decision, now, options, standard);
        return;
    }
    struct Pending {
        std::string_view name;
        std::string_view value;
    };
    std::array<Pending, max_pending> pending;
    std::size_t count = 0;
    std::size_t bytes = 0;
    // Each name is exported once and none is there any more: adding is linear.
    export_variables(verdict, decision, now, options,
                     [&](std::string_view name, std::string_view value, Lasting lasting) {
                         if (only != nullptr && std::find(only->begin(), only->end(), name) == only->end()) {
                             return;
                         }
                         if (lasting.name && lasting.value && count < pending.size()) {
                             pending.at(count++) = {name, value};
                             bytes += name.size() + value.size() + 2;
                             return;
                         }
                         add_copy(pool, env, name, value);
                     });
    StringBlock block(pool, bytes);
    for (std::size_t i = 0; i < count; ++i) {
        const Pending& each = pending.at(i);
        const char* name = block.put(each.name);
        apr_table_addn(env, name, block.put(each.value));
    }
}

}  // namespace

bool is_certificate_name(const char* name) noexcept
{
    // Most names of an environment start otherwise: SERVER_, HTTP_, SCRIPT_, ...
    const char first = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    if (first != 'A' && first != 'R' && first != 'T' && (first != 'S' || (name[1] != 'S' && name[1] != 's'))) {
        return false;
    }
    while (apr_cstr_casecmpn(name, "REDIRECT_", 9) == 0) {
        name += 9;
    }
    // TB_SSL_CLIENT_CERT_FINGERPRINT: what mod_auth_openidc binds tokens to; only ever ours.
    return is_ssl_client_name(name) || is_arrcert_name(name) || is_bound_token_name(name);
}

apr_table_t* without_certificate(apr_pool_t* pool, apr_table_t* env)
{
    const std::span<const apr_table_entry_t> entries = entries_of(env);
    if (std::none_of(entries.begin(), entries.end(), is_certificate_entry)) {
        return env;
    }
    apr_table_t* kept = apr_table_make(pool, static_cast<int>(entries.size()) + 32);
    for (const apr_table_entry_t& entry : entries) {
        if (entry.key != nullptr && !is_certificate_name(entry.key)) {
            apr_table_addn(kept, entry.key, entry.val);
        }
    }
    return kept;
}

const ExportRecord& export_certificate(apr_pool_t* pool, apr_table_t*& env, const void* scope, const Verdict& verdict,
                                       const Decision& decision, std::int64_t now, ExportOptions options,
                                       const std::vector<std::string>* only, StandardTable* standard)
{
    env = without_certificate(pool, env);
    const int first = apr_table_elts(env)->nelts;
    if (options.standard || options.certificate || options.bound_token) {
        add_variables(pool, env, verdict, decision, now, options, only, standard);
    }
    const apr_array_header_t* entries = apr_table_elts(env);
    auto* record = new (apr_pcalloc(pool, sizeof(ExportRecord))) ExportRecord();
    record->table_ = env;
    record->scope_ = scope;
    record->size_ = entries->nelts;
    record->first_ = first;
    record->count_ = entries->nelts - first;
    const auto bytes = sizeof(apr_table_entry_t) * static_cast<std::size_t>(record->count_);
    record->entries_ = static_cast<apr_table_entry_t*>(
        apr_pmemdup(pool, reinterpret_cast<const apr_table_entry_t*>(entries->elts) + first, bytes > 0 ? bytes : 1));
    return *record;
}

bool StandardTable::holds(const CertificateVariables::Block& block, std::size_t chain_count) const noexcept
{
    return table_ != nullptr && chain_count == chain_count_ && block.bytes.size() == size_ &&
           block.offsets.size() == count_ && std::memcmp(block.bytes.data(), bytes_, size_) == 0 &&
           std::memcmp(block.offsets.data(), offsets_, sizeof(block.offsets[0]) * count_) == 0;
}

const apr_table_t* StandardTable::of(const CertificateVariables::Block& block, std::size_t chain_count)
{
    if (holds(block, chain_count)) {
        return table_;
    }
    if (asked_ != &block) {
        asked_ = &block;  // made if the next export asks for it again
        return nullptr;
    }
    asked_ = nullptr;
    table_ = nullptr;
    apr_pool_clear(pool_);
    char* bytes = static_cast<char*>(apr_pmemdup(pool_, block.bytes.data(), block.bytes.size() + 1));
    const std::size_t offsets_size = sizeof(block.offsets[0]) * block.offsets.size();
    offsets_ = static_cast<const std::pair<std::uint32_t, std::uint32_t>*>(
        apr_pmemdup(pool_, block.offsets.data(), offsets_size > 0 ? offsets_size : 1));
    bytes_ = bytes;
    size_ = block.bytes.size();
    count_ = block.offsets.size();
    chain_count_ = chain_count;
    // Room for what an export and httpd add after it (as without_certificate's copy has).
    apr_table_t* table = apr_table_make(pool_, static_cast<int>(2 + chain_count + count_) + 32);
    // The values made per request are set by each export.
    apr_table_addn(table, "SSL_CLIENT_VERIFY", "");
    apr_table_addn(table, "SSL_CLIENT_V_REMAIN", "");
    for (std::size_t i = 0; i < chain_count; ++i) {
        apr_table_addn(table, apr_pstrcat(pool_, "SSL_CLIENT_CERT_CHAIN_", std::to_string(i).c_str(), nullptr), "");
    }
    for (const auto& [name, value] : block.offsets) {
        apr_table_addn(table, bytes + name, bytes + value);
    }
    table_ = table;
    return table_;
}

bool ExportRecord::stands(const apr_table_t* env, const void* scope) const noexcept
{
    if (scope != scope_) {
        return false;
    }
    const std::span<const apr_table_entry_t> entries = entries_of(env);
    const auto later_certificate_name = [&](std::size_t from) {
        return std::any_of(entries.begin() + static_cast<std::ptrdiff_t>(from), entries.end(), is_certificate_entry);
    };
    // Usually nothing changed: the same table and size, the exported entries in place, byte for
    // byte as they were copied (so the same key and value pointers). Then only names added after
    // them could be certificate names (a removal before them would move them, an addition lands
    // at the end, a replaced value keeps its name).
    if (env == table_ && static_cast<int>(entries.size()) == size_ &&
        std::memcmp(entries.data() + first_, entries_, sizeof(apr_table_entry_t) * static_cast<std::size_t>(count_)) ==
            0) {
        return !later_certificate_name(static_cast<std::size_t>(first_) + static_cast<std::size_t>(count_));
    }
    int next = 0;
    for (const apr_table_entry_t& entry : entries) {
        if (!is_certificate_entry(entry)) {
            continue;
        }
        if (next == count_ || entry.key != entries_[next].key || entry.val != entries_[next].val) {
            return false;
        }
        ++next;
    }
    return next == count_;
}

apr_table_t* ExportRecord::without_own(apr_pool_t* pool, apr_table_t* env) const
{
    if (count_ == 0) {
        return env;
    }
    const std::span<const apr_table_entry_t> entries = entries_of(env);
    const std::span<const apr_table_entry_t> own(entries_, static_cast<std::size_t>(count_));
    apr_table_t* kept = apr_table_make(pool, static_cast<int>(entries.size()));
    for (const apr_table_entry_t& entry : entries) {
        const bool ours = std::any_of(own.begin(), own.end(), [&](const apr_table_entry_t& e) {
            return e.key == entry.key && e.val == entry.val;
        });
        if (!ours) {
            apr_table_addn(kept, entry.key, entry.val);
        }
    }
    return kept;
}

}  // namespace arrcert::httpd
