#include "arrcert/verdict_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <new>

#include "arrcert/digest.h"

namespace arrcert {
namespace {

constexpr std::string_view magic = "arrcert-verdict-6";
constexpr std::size_t mac_size = 32;

class Writer {
public:
    void number(std::uint64_t value)
    {
        for (int shift = 0; shift < 64; shift += 8) {
            bytes_.push_back(static_cast<char>((value >> shift) & 0xFFU));
        }
    }
    void text(std::string_view value)
    {
        number(value.size());
        bytes_.append(value);
    }
    template <std::size_t N>
    void digest(const std::array<unsigned char, N>& value)
    {
        bytes_.append(reinterpret_cast<const char*>(value.data()), N);
    }
    std::string take() { return std::move(bytes_); }

private:
    std::string bytes_;
};

// Every read is bounds-checked; the first failure makes every later read fail too.
class Reader {
public:
    explicit Reader(std::string_view bytes) : rest_(bytes) {}

    std::uint64_t number()
    {
        if (!take(8)) {
            return 0;
        }
        std::uint64_t value = 0;
        for (int i = 7; i >= 0; --i) {
            value = (value << 8) | static_cast<unsigned char>(last_[static_cast<std::size_t>(i)]);
        }
        return value;
    }
    std::string text()
    {
        const std::uint64_t size = number();
        return take(size) ? std::string(last_) : std::string();
    }
    template <std::size_t N>
    void digest(std::array<unsigned char, N>& value)
    {
        if (take(N)) {
            std::copy(last_.begin(), last_.end(), value.begin());
        }
    }
    [[nodiscard]] bool good() const noexcept { return good_; }
    [[nodiscard]] bool done() const noexcept { return good_ && rest_.empty(); }

private:
    bool take(std::uint64_t size)
    {
        if (!good_ || size > rest_.size()) {
            good_ = false;
            return false;
        }
        last_ = rest_.substr(0, static_cast<std::size_t>(size));
        rest_.remove_prefix(static_cast<std::size_t>(size));
        return true;
    }

    std::string_view rest_;
    std::string_view last_;
    bool good_ = true;
};

void write_name(Writer& out, const DistinguishedName& name)
{
    out.number(name.size());
    for (const NameEntry& entry : name) {
        out.text(entry.oid);
        out.text(entry.value);
        out.number(static_cast<std::uint64_t>(entry.rdn));
    }
}

DistinguishedName read_name(Reader& in)
{
    DistinguishedName name;
    const std::uint64_t count = in.number();
    for (std::uint64_t i = 0; i < count && in.good(); ++i) {
        NameEntry entry;
        entry.oid = in.text();
        entry.value = in.text();
        const std::uint64_t rdn = in.number();
        entry.rdn = rdn <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ? static_cast<int>(rdn) : 0;
        name.push_back(std::move(entry));
    }
    return name;
}

void write_variables(Writer& out, const CertificateVariables::Variables& variables)
{
    out.number(variables.size());
    for (const auto& [name, value] : variables) {
        out.text(name);
        out.text(value);
    }
}

CertificateVariables::Variables read_variables(Reader& in)
{
    CertificateVariables::Variables variables;
    const std::uint64_t count = in.number();
    for (std::uint64_t i = 0; i < count && in.good(); ++i) {
        std::string name = in.text();
        std::string value = in.text();
        variables.emplace_back(std::move(name), std::move(value));
    }
    return variables;
}

// Names of formats are views of constants: map a stored name back to its constant.
std::optional<std::string_view> known_format(std::string_view name)
{
    if (name.empty()) {
        return std::string_view();
    }
    return reported_format(name);
}

}  // namespace

std::string seal_verdict(const Verdict& verdict, std::int64_t expires, const CacheKey& key, const CacheSeal& seal)
{
    Writer out;
    out.text(magic);
    out.number(static_cast<std::uint64_t>(verdict.kind));
    out.number(static_cast<std::uint64_t>(verdict.failed_rule));
    out.text(verdict.reason);
    out.text(verdict.detail);
    out.text(verdict.warning);
    out.text(verdict.format);
    out.number(static_cast<std::uint64_t>(verdict.not_before));
    out.number(static_cast<std::uint64_t>(verdict.not_after));
    out.digest(verdict.sha1);
    out.digest(verdict.sha256);
    out.text(verdict.subject_dn);
    out.text(verdict.issuer_dn);
    write_name(out, verdict.subject_name);
    write_name(out, verdict.issuer_name);
    for (const auto* list : {&verdict.alt_names.dns, &verdict.alt_names.emails, &verdict.alt_names.uris,
                             &verdict.alt_names.ips, &verdict.alt_names.upns}) {
        out.number(list->size());
        for (const std::string& name : *list) {
            out.text(name);
        }
    }
    write_variables(out, verdict.variables.standard);
    out.text(verdict.variables.pem);
    out.number(verdict.variables.chain.size());
    for (const std::string& pem : verdict.variables.chain) {
        out.text(pem);
    }
    write_variables(out, verdict.variables.lookup_only);
    out.number(static_cast<std::uint64_t>(expires));
    std::string sealed = out.take();
    const auto mac = seal.mac(key, sealed);
    sealed.append(reinterpret_cast<const char*>(mac.data()), mac.size());
    return sealed;
}

std::optional<OpenedVerdict> open_verdict(std::string_view sealed, const CacheKey& key, const CacheSeal& seal)
{
    if (sealed.size() < mac_size) {
        return std::nullopt;
    }
    const std::string_view body = sealed.substr(0, sealed.size() - mac_size);
    const auto expected = seal.mac(key, body);
    if (CRYPTO_memcmp(expected.data(), sealed.data() + body.size(), mac_size) != 0) {
        return std::nullopt;
    }
    Reader in(body);
    if (in.text() != magic) {
        return std::nullopt;
    }
    auto verdict = std::make_shared<Verdict>();
    const std::uint64_t kind = in.number();
    const std::uint64_t rule = in.number();
    if (kind > static_cast<std::uint64_t>(Verdict::Kind::judged) || rule > static_cast<std::uint64_t>(last_rule)) {
        return std::nullopt;
    }
    verdict->kind = static_cast<Verdict::Kind>(kind);
    verdict->failed_rule = static_cast<Rule>(rule);
    verdict->reason = in.text();
    verdict->detail = in.text();
    verdict->warning = in.text();
    const std::optional<std::string_view> format = known_format(in.text());
    if (!format) {
        return std::nullopt;
    }
    verdict->format = *format;
    verdict->not_before = static_cast<std::int64_t>(in.number());
    verdict->not_after = static_cast<std::int64_t>(in.number());
    in.digest(verdict->sha1);
    in.digest(verdict->sha256);
    verdict->sha1_hex = verdict->kind == Verdict::Kind::judged ? to_hex(verdict->sha1) : std::string();
    verdict->subject_dn = in.text();
    verdict->issuer_dn = in.text();
    verdict->subject_name = read_name(in);
    verdict->issuer_name = read_name(in);
    for (auto* list : {&verdict->alt_names.dns, &verdict->alt_names.emails, &verdict->alt_names.uris,
                       &verdict->alt_names.ips, &verdict->alt_names.upns}) {
        const std::uint64_t count = in.number();
        for (std::uint64_t i = 0; i < count && in.good(); ++i) {
            list->push_back(in.text());
        }
    }
    verdict->variables.standard = read_variables(in);
    verdict->variables.seal();
    verdict->variables.pem = in.text();
    const std::uint64_t chain = in.number();
    for (std::uint64_t i = 0; i < chain && in.good(); ++i) {
        verdict->variables.chain.push_back(in.text());
    }
    verdict->variables.lookup_only = read_variables(in);
    const auto expires = static_cast<std::int64_t>(in.number());
    if (!in.done()) {
        return std::nullopt;
    }
    return OpenedVerdict{std::move(verdict), expires};
}

}  // namespace arrcert
