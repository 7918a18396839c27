// Fuzz target: X.509 parsing, digests, SANs and the export of every variable, from raw DER.
#include <cstddef>
#include <cstdint>

#include "arrcert/alt_names.h"
#include "arrcert/certificate.h"
#include "arrcert/dn_pattern.h"
#include "arrcert/variables.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace arrcert;
    const Der der(data, data + size);
    const auto certificate = Certificate::parse(der);
    if (!certificate) {
        return 0;
    }
    const CertificateVariables variables = certificate_variables(certificate.value());
    const DistinguishedName subject = distinguished_name(X509_get_subject_name(certificate->x509()));
    static const DnPattern pattern = DnPattern::parse("CN=alice, O=Contoso").value();
    (void)pattern.matches(subject);
    const AltNames names = alt_names(certificate->x509());
    static const AltNamePattern ip = AltNamePattern::parse("ip:10.0.0.0/8").value();
    static const AltNamePattern dns = AltNamePattern::parse("dns:*.example.com").value();
    (void)ip.matches(names);
    (void)dns.matches(names);
    (void)spiffe_id(names);
    for (const auto& [name, value] : variables.standard) {
        if (name.empty() || value.find('\n') != std::string::npos) {
            __builtin_trap();  // CGI variables never hold a raw newline
        }
    }
    return 0;
}
