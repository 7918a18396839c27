// Prints the command table of a built mod_arrcert.so as JSON, one directive a line: the table
// httpd itself reads when it loads the module. docs/tools/directives.py makes the directive
// reference and the man page mod_arrcert(5) from it (make docs).
#include <dlfcn.h>

#include <apr_general.h>
#include <httpd.h>
#include <http_config.h>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            std::array<char, 8> escaped{};
            std::snprintf(escaped.data(), escaped.size(), "\\u%04x", static_cast<unsigned>(c));
            out += escaped.data();
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_list(const std::vector<std::string_view>& items)
{
    std::string out = "[";
    for (const std::string_view item : items) {
        out += (out.size() > 1 ? ", " : "") + json_string(item);
    }
    return out + "]";
}

const char* args_name(cmd_how how)
{
    switch (how) {
        case RAW_ARGS: return "RAW_ARGS";
        case TAKE1: return "TAKE1";
        case TAKE2: return "TAKE2";
        case ITERATE: return "ITERATE";
        case ITERATE2: return "ITERATE2";
        case FLAG: return "FLAG";
        case NO_ARGS: return "NO_ARGS";
        case TAKE12: return "TAKE12";
        case TAKE3: return "TAKE3";
        case TAKE23: return "TAKE23";
        case TAKE123: return "TAKE123";
        case TAKE13: return "TAKE13";
        case TAKE_ARGV: return "TAKE_ARGV";
    }
    return "unknown";
}

// Where httpd lets the directive appear, in the words of httpd's reference ("Context").
std::vector<std::string_view> contexts(int allowed)
{
    std::vector<std::string_view> out;
    if ((allowed & RSRC_CONF) != 0) {
        out.insert(out.end(), {"server config", "virtual host"});
    }
    if ((allowed & ACCESS_CONF) != 0) {
        out.emplace_back("directory");
    }
    if ((allowed & OR_ALL) != 0) {
        out.emplace_back(".htaccess");
    }
    return out;
}

// The AllowOverride classes that let it into .htaccess ("Override").
std::vector<std::string_view> overrides(int allowed)
{
    std::vector<std::string_view> out;
    for (const auto& [bit, name] :
         {std::pair{OR_AUTHCFG, "AuthConfig"}, std::pair{OR_FILEINFO, "FileInfo"}, std::pair{OR_INDEXES, "Indexes"},
          std::pair{OR_LIMIT, "Limit"}, std::pair{OR_OPTIONS, "Options"}}) {
        if ((allowed & bit) != 0) {
            out.emplace_back(name);
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODULE.so\n", argv[0]);
        return 2;
    }
    // The module refers to APR, which is here as inside httpd; httpd's own functions stay
    // unresolved (RTLD_LAZY), and nothing here calls them.
    apr_initialize();
    void* handle = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    const auto* loaded = static_cast<const module*>(dlsym(handle, "arrcert_module"));
    if (loaded == nullptr || loaded->cmds == nullptr) {
        std::fprintf(stderr, "%s: no arrcert_module or no command table\n", argv[1]);
        return 1;
    }
    for (const command_rec* command = loaded->cmds; command->name != nullptr; ++command) {
        std::printf(
            "{\"name\": %s, \"module\": %s, \"args\": \"%s\", \"context\": %s, \"override\": %s, "
            "\"help\": %s}\n",
            json_string(command->name).c_str(), json_string(loaded->name).c_str(), args_name(command->args_how),
            json_list(contexts(command->req_override)).c_str(), json_list(overrides(command->req_override)).c_str(),
            json_string(command->errmsg != nullptr ? command->errmsg : "").c_str());
    }
    apr_terminate();
    return 0;
}
