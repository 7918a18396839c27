// arrcert: the module's decisions from the command line, on the same core code.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "arrcert/readable.h"
#include "arrcert/certificate.h"
#include "arrcert/decode.h"
#include "arrcert/export.h"
#include "arrcert/rules.h"
#include "arrcert/xfcc.h"

namespace {

using namespace arrcert;

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr std::size_t max_input = 1U << 20U;

constexpr std::string_view usage_text =
    "usage: arrcert COMMAND [OPTIONS] FILE|-\n"
    "\n"
    "  thumbprint FILE   SHA-1 and SHA-256 thumbprints, as ArrCertThumbprint takes them\n"
    "  header FILE       the X-ARR-ClientCert value for a certificate (for curl -H)\n"
    "  inspect [--format FORMAT] FILE|-\n"
    "                    the variables mod_arrcert would export, and the format read\n"
    "  --version         the version of the command and of the module it comes with\n"
    "  verify [--thumbprint HEX] [--issuer DN] [--subject DN] [--san TYPE:VALUE] [--ca FILE]\n"
    "         [--crl FILE] FILE|-\n"
    "                    the module's decision: SUCCESS (exit 0) or FAILED:<reason> (exit 1)\n"
    "\n"
    "FILE is a PEM or DER certificate, or a header value in any format mod_arrcert reads;\n"
    "- reads standard input. 'arrcert COMMAND --help' describes a command. Exit 2: bad usage\n"
    "or unreadable input.\n";

struct UsageError {
    std::string message;
};

struct Input {
    std::string bytes;
    std::string name;
};

Input read_input(const std::string& path)
{
    Input input{{}, path == "-" ? "standard input" : path};
    std::string data;
    if (path == "-") {
        data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream file(path, std::ios::binary);
        if (!file) {
            throw UsageError{"cannot read " + path};
        }
        data.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    if (data.size() > max_input) {
        throw UsageError{input.name + " is larger than " + std::to_string(max_input) + " bytes"};
    }
    input.bytes = std::move(data);
    return input;
}

// A DER file is turned into the header value Azure would send; anything else is a header value.
std::string as_header_value(const Input& input)
{
    const bool der = !input.bytes.empty() && static_cast<unsigned char>(input.bytes.front()) == 0x30;
    if (!der) {
        return input.bytes;
    }
    std::string encoded(4 * ((input.bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                       reinterpret_cast<const unsigned char*>(input.bytes.data()),
                                       static_cast<int>(input.bytes.size()));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

Der leaf_der(const Input& input)
{
    const DecodedHeader decoded = decode_header(as_header_value(input), max_input * 2);
    if (decoded.status != DecodedHeader::Status::ok) {
        throw UsageError{input.name + ": " +
                         (decoded.status == DecodedHeader::Status::absent ? "no certificate" : decoded.reason)};
    }
    return decoded.chain.front();
}

std::int64_t now()
{
    return static_cast<std::int64_t>(std::time(nullptr));
}

bool wants_help(const std::vector<std::string>& args)
{
    return std::ranges::any_of(args, [](const std::string& arg) { return arg == "--help" || arg == "-h"; });
}

const std::string& single_file(const std::vector<std::string>& args, std::string_view command)
{
    if (args.size() != 1 || (args[0].size() > 1 && args[0].starts_with("-"))) {
        throw UsageError{"arrcert " + std::string(command) + " takes one FILE (or -)"};
    }
    return args[0];
}

int thumbprint(const std::vector<std::string>& args)
{
    if (wants_help(args)) {
        std::cout << "usage: arrcert thumbprint FILE|-\n"
                     "Prints the SHA-1 (as the Azure portal shows it) and SHA-256 thumbprints of the\n"
                     "certificate's DER, uppercase hex without separators: either goes in ArrCertThumbprint.\n";
        return exit_ok;
    }
    const auto certificate = Certificate::parse(leaf_der(read_input(single_file(args, "thumbprint"))));
    if (!certificate) {
        throw UsageError{certificate.error()};
    }
    std::cout << "SHA-1    " << to_hex(certificate->sha1()) << "\n"
              << "SHA-256  " << to_hex(certificate->sha256()) << "\n";
    return exit_ok;
}

int header(const std::vector<std::string>& args)
{
    if (wants_help(args)) {
        std::cout << "usage: arrcert header FILE|-\n"
                     "Prints the certificate as Azure App Service forwards it in X-ARR-ClientCert:\n"
                     "the base64 of its DER on one line. Try: curl -H \"X-ARR-ClientCert: $(arrcert header "
                     "alice.pem)\" URL\n";
        return exit_ok;
    }
    const Input input = read_input(single_file(args, "header"));
    const Der der = leaf_der(input);
    if (!Certificate::parse(der)) {
        throw UsageError{input.name + " is not an X.509 certificate"};
    }
    std::cout << as_header_value({std::string(der.begin(), der.end()), input.name}) << "\n";
    return exit_ok;
}

// The value read as `format`; without one, as ArrCertHeader's auto would, else as the first of the
// other formats that reads it (XFCC, RFC 9440, Traefik's lists, HAProxy's concatenated chain), so
// that any header value a front end sends can be pasted in.
DecodedHeader decode_any(const std::string& value, std::optional<HeaderFormat> format)
{
    const auto as = [&](HeaderFormat each) {
        return decode_request(value, {}, HeaderSettings{"certificate", each, nullptr, HeaderFormat::automatic},
                              max_input * 2);
    };
    if (format) {
        return as(*format);
    }
    DecodedHeader automatic = as(HeaderFormat::automatic);
    if (automatic.status != DecodedHeader::Status::malformed) {
        return automatic;
    }
    for (const HeaderFormat each :
         {HeaderFormat::xfcc, HeaderFormat::rfc9440, HeaderFormat::traefik, HeaderFormat::der_concat_base64}) {
        if (DecodedHeader decoded = as(each); decoded.status == DecodedHeader::Status::ok) {
            return decoded;
        }
    }
    // An XFCC element read as one (By=, Hash=, ...) says why XFCC refused it; else automatic's reason.
    const auto elements = parse_xfcc(value);
    if (elements && !elements->empty() && !elements->back().fields.empty() &&
        elements->back().fields.front().first.size() <= 7) {
        return as(HeaderFormat::xfcc);
    }
    return automatic;
}

int inspect(const std::vector<std::string>& args)
{
    if (wants_help(args)) {
        std::cout << "usage: arrcert inspect [--format FORMAT] FILE|-\n"
                     "Reads a certificate file or a header value (- for standard input) as mod_arrcert does,\n"
                     "says which format it was read as, and prints the variables it would export. It checks\n"
                     "no rules (no CA, no pins): SSL_CLIENT_VERIFY says so; 'arrcert verify --ca FILE' decides.\n"
                     "Without --format, what ArrCertHeader's auto reads, else whichever of xfcc, rfc9440,\n"
                     "traefik and der-concat-base64 reads the value; --format reads it as one of\n"
                     "(" +
                         header_format_list(", ", ", ") + ") only. Exit 1 when the value is refused.\n";
        return exit_ok;
    }
    std::vector<std::string> files = args;
    std::optional<HeaderFormat> format;
    if (args.size() >= 2 && args[0] == "--format") {
        format = header_format_named(args[1]);
        if (!format) {
            throw UsageError{"'" + args[1] + "' is not a format (" + header_format_list(", ", ", ") + ")"};
        }
        files.erase(files.begin(), files.begin() + 2);
    }
    const Input input = read_input(single_file(files, "inspect"));
    // Shows what the certificate says, whoever made it: nothing is verified here.
    RuleSet show_all;
    show_all.accept_unverified = true;
    show_all.report_refusals = true;
    const Verdict verdict = judge(decode_any(as_header_value(input), format), show_all, now());
    const Decision decision = decide(verdict, now(), 0);
    std::cout << "format: " << (verdict.format.empty() ? "-" : verdict.format) << "\n";
    // Never SUCCESS: a self-made impostor reads as well as a genuine certificate here.
    export_variables(verdict, decision, now(), ExportOptions{true, false},
                     [](std::string_view name, std::string_view value) {
                         if (name == "SSL_CLIENT_VERIFY" && value == "SUCCESS") {
                             value = "NONE (inspect checks no rules: use arrcert verify --ca FILE)";
                         }
                         std::cout << name << "=" << value << "\n";
                     });
    return decision.outcome == Decision::Outcome::failed ? exit_refused : exit_ok;
}

// What `arrcert verify` was told, as the directives would say it.
struct VerifyRequest {
    std::vector<Thumbprint> thumbprints;
    std::vector<DnPattern> issuers;
    std::vector<DnPattern> subjects;
    std::vector<AltNamePattern> alt_names;
    std::optional<TrustStore> trust;
    std::optional<CrlSource> crls;
    std::optional<std::string> file;
    std::string chain;
    bool accept_unverified = false;

    void take(const std::string& option, const std::string& value);
};

template <class T>
T parsed_or_usage(Result<T> result)
{
    if (!result) {
        throw UsageError{result.error()};
    }
    return std::move(result.value());
}

void VerifyRequest::take(const std::string& option, const std::string& value)
{
    const auto loaded_or_usage = [](const Result<void>& loaded) {
        if (!loaded) {
            throw UsageError{loaded.error()};
        }
    };
    if (option == "--thumbprint") {
        thumbprints.push_back(parsed_or_usage(Thumbprint::parse(value)));
    } else if (option == "--issuer" || option == "--subject") {
        (option == "--issuer" ? issuers : subjects).push_back(parsed_or_usage(DnPattern::parse(value)));
    } else if (option == "--san") {
        alt_names.push_back(parsed_or_usage(AltNamePattern::parse(value)));
    } else if (option == "--ca") {
        if (!trust) {
            trust.emplace();
        }
        loaded_or_usage(readable(value, false));
        loaded_or_usage(trust->add_file(value));
    } else if (option == "--crl") {
        if (!crls) {
            crls.emplace();
        }
        loaded_or_usage(readable(value, false));
        loaded_or_usage(crls->add_file(value));
    } else if (option == "--chain") {
        chain = read_input(value).bytes;
    } else {
        throw UsageError{"unknown option " + option};
    }
}

// Filled in place: a CRL source stays where it was made.
void read_verify_request(const std::vector<std::string>& args, VerifyRequest& request)
{
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--accept-unverified") {
            request.accept_unverified = true;
        } else if (!arg.starts_with("--")) {
            if (request.file) {
                throw UsageError{"arrcert verify takes one FILE (or -)"};
            }
            request.file = arg;
        } else if (i + 1 >= args.size()) {
            throw UsageError{arg + " needs a value"};
        } else {
            request.take(arg, args[++i]);
        }
    }
    if (!request.file) {
        throw UsageError{"arrcert verify needs a FILE (or -)"};
    }
}

int verify(const std::vector<std::string>& args)
{
    if (wants_help(args)) {
        std::cout << "usage: arrcert verify [--thumbprint HEX] [--issuer DN] [--subject DN] [--san TYPE:VALUE]\n"
                     "                      [--ca FILE] [--crl FILE] [--chain FILE] [--accept-unverified] FILE|-\n"
                     "Takes the decision mod_arrcert takes under 'ArrCertVerifyClient require' with the\n"
                     "same rules (each option may be repeated, as the directives), at the current time.\n"
                     "Prints SUCCESS and exits 0, or FAILED:<reason> and the rule, and exits 1.\n"
                     "--chain gives intermediates apart, as a chain header would (ArrCertChainHeader).\n"
                     "--crl turns on 'ArrCertCARevocationCheck chain'. Without --ca or --thumbprint nothing\n"
                     "proves the certificate genuine: it is refused unless --accept-unverified says so\n"
                     "(as 'ArrCertAcceptUnverified on').\n";
        return exit_ok;
    }
    VerifyRequest request;
    read_verify_request(args, request);
    const Input input = read_input(*request.file);
    const std::int64_t at = now();
    const auto snapshot = request.crls ? request.crls->current(at, default_crl_refresh_seconds).snapshot : nullptr;
    RuleSet rules{request.thumbprints, request.issuers, request.subjects, request.alt_names, {}};
    rules.chain.trust = request.trust ? &*request.trust : nullptr;
    rules.chain.crls = snapshot.get();
    rules.chain.revocation = {request.crls ? RevocationCheck::chain : RevocationCheck::none, false};
    rules.accept_unverified = request.accept_unverified;
    // The module's own entry point: the certificate's header, and the intermediates apart.
    const HeaderSettings headers{"certificate", HeaderFormat::automatic, "chain", HeaderFormat::pem};
    const Verdict verdict =
        judge(decode_request(as_header_value(input), request.chain, headers, max_input * 2), rules, at);
    const Decision decision = decide(verdict, at, 0);
    if (permits(VerifyMode::require, decision.outcome)) {
        std::cout << "SUCCESS\n";
        return exit_ok;
    }
    std::cout << (decision.outcome == Decision::Outcome::none ? "FAILED:no client certificate" : verify_value(decision))
              << "\nrule: " << rule_name(decision.outcome == Decision::Outcome::none ? Rule::header : decision.rule)
              << "\n";
    return exit_refused;
}

int run(int argc, char** argv)
{
    const std::vector<std::string> all(argv + 1, argv + argc);
    if (!all.empty() && (all[0] == "--version" || all[0] == "version")) {
        std::cout << "arrcert " ARRCERT_VERSION "\n";
        return exit_ok;
    }
    if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        std::cout << usage_text;
        return all.empty() ? exit_usage : exit_ok;
    }
    const std::vector<std::string> args(all.begin() + 1, all.end());
    const std::string& command = all[0];
    if (command == "thumbprint") {
        return thumbprint(args);
    }
    if (command == "header") {
        return header(args);
    }
    if (command == "inspect") {
        return inspect(args);
    }
    if (command == "verify") {
        return verify(args);
    }
    throw UsageError{"unknown command '" + command + "'"};
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const UsageError& error) {
        std::cerr << "arrcert: " << error.message << "\n";
    } catch (const std::exception& error) {
        std::cerr << "arrcert: " << error.what() << "\n";
    }
    return exit_usage;
}
