#include "directive_row.h"

namespace arrcert::httpd {

std::string help_text(const std::string& syntax, const std::string& default_text, Where where, const char* purpose)
{
    std::string help = syntax;
    const bool main_only = where == Where::main_server;
    if (!default_text.empty() || main_only) {
        help += " (";
        if (!default_text.empty()) {
            help += "default " + default_text + (main_only ? "; " : "");
        }
        help += main_only ? "server config only)" : ")";
    }
    return help + ": " + purpose;
}

}  // namespace arrcert::httpd
