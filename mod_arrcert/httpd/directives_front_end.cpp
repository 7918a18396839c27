// The directives of what the front end says of its own check: ArrCertVerdictHeader and
// ArrCertFingerprintHeader. Their headers join the certificate headers: recorded from a trusted
// front end, removed from anyone else, relayed as ArrCertRelayHeaders says.
#include <apr_strings.h>
#include <httpd.h>

#include <span>
#include <string>
#include <string_view>
#include <strings.h>
#include <vector>

#include "directive_handlers.h"
#include "directives.h"
#include "server_config.h"

namespace arrcert::httpd {

namespace {

// The words of a line, "" included (httpd's TAKE_ARGV stops at an empty word).
std::vector<const char*> words_of(cmd_parms* cmd, const char* line)
{
    std::vector<const char*> words;
    while (true) {
        while (*line == ' ' || *line == '\t') {
            ++line;
        }
        if (*line == '\0') {
            return words;
        }
        words.push_back(ap_getword_conf(cmd->temp_pool, &line));
    }
}

}  // namespace

extern "C" const char* add_verdict_header(cmd_parms* cmd, void* config, const char* line)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::vector<const char*> argv = words_of(cmd, line);
        const auto argc = static_cast<int>(argv.size());
        if (argc == 1 && strcasecmp(argv[0], "none") == 0) {
            own_list(cmd, settings.verdicts).clear();  // the preset's verdict off (the start-up check may refuse it)
            return nullptr;
        }
        if (argc < 2) {
            return directive_error(cmd,
                                   "needs a header name and at least one value that means verified "
                                   "(\"\" for an empty or absent header), or none");
        }
        if (!is_token(argv[0])) {
            return directive_error(cmd, "'" + std::string(argv[0]) + "' is not a valid HTTP header name");
        }
        const auto count = static_cast<std::size_t>(argc - 1);
        auto* values = static_cast<std::string_view*>(apr_palloc(cmd->pool, sizeof(std::string_view) * count));
        for (std::size_t i = 0; i < count; ++i) {
            const std::string_view value(argv[i + 1]);
            if (value.find(',') != std::string_view::npos) {
                // httpd joins repeated lines with ", ": such a value would match two lines.
                return directive_error(cmd, "a verdict value cannot hold a comma");
            }
            values[i] = std::string_view(apr_pstrmemdup(cmd->pool, value.data(), value.size()), value.size());
        }
        const char* name = apr_pstrdup(cmd->pool, argv[0]);
        own_list(cmd, settings.verdicts).push_back({name, std::span<const std::string_view>(values, count)});
        remember_header(cmd, name);
        return nullptr;
    });
}

extern "C" const char* set_fingerprint_header(cmd_parms* cmd, void* config, const char* name, const char* algorithm)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (algorithm == nullptr && strcasecmp(name, "none") == 0) {
            settings.fingerprint = FingerprintChoice{true, {}};
            return nullptr;
        }
        if (!is_token(name)) {
            return directive_error(cmd, "'" + std::string(name) + "' is not a valid HTTP header name");
        }
        if (algorithm == nullptr) {
            return directive_error(cmd, "needs the digest after the header name: sha1 or sha256");
        }
        const std::optional<DigestAlgorithm> digest = digest_algorithm_named(algorithm);
        if (!digest) {
            return directive_error(cmd, "'" + std::string(algorithm) + "' is not a digest (sha1 or sha256)");
        }
        const char* copy = apr_pstrdup(cmd->pool, name);
        settings.fingerprint = FingerprintChoice{false, {copy, *digest}};
        remember_header(cmd, copy);
        return nullptr;
    });
}

}  // namespace arrcert::httpd
