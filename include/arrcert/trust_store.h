// Trust anchors and known intermediates (ArrCertCACertificateFile/Path), and chain verification
// by OpenSSL's verifier: signatures, validity along the path, basic constraints, path length and
// the client-authentication purpose.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <openssl/x509_vfy.h>

#include "arrcert/crl_fetch.h"
#include "arrcert/ocsp.h"
#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"
#include "arrcert/revocation.h"

namespace arrcert {

using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;

// mod_ssl's SSLVerifyDepth: how many certificates may stand above the leaf, the root included.
inline constexpr int default_verify_depth = 3;

class TrustStore {
public:
    TrustStore();
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;
    TrustStore(TrustStore&&) = default;
    TrustStore& operator=(TrustStore&&) = default;
    ~TrustStore() = default;

    // A failure names the file.
    Result<void> add_file(const std::string& path);
    // Every file named as `openssl rehash` names them, read at once.
    Result<void> add_directory(const std::string& path);

    [[nodiscard]] X509_STORE* store() const noexcept { return store_.get(); }
    // Whether a certificate of the store has this subject, and the CRLs a CA file brought: both
    // listed when files are added, so that requests read them without touching the store's list
    // (which OpenSSL's lookups may sort under its lock).
    [[nodiscard]] bool holds_subject(const X509_NAME* name) const noexcept;
    [[nodiscard]] std::span<const CrlPtr> crls() const noexcept { return crls_; }
    // SHA-256 (hex) of the certificates it holds: the same trust anchors on two servers give the
    // same identity, so that they can share cached verdicts.
    [[nodiscard]] const std::string& identity() const noexcept { return identity_; }

private:
    void update_identity();

    X509StorePtr store_;
    std::vector<X509NamePtr> subjects_;
    std::vector<CrlPtr> crls_;
    std::string identity_;
};

struct ChainCheck {
    const TrustStore* trust = nullptr;  // null: no chain verification
    const CrlSnapshot* crls = nullptr;  // null or empty: no CRLs
    RevocationPolicy revocation;
    int depth = default_verify_depth;
    bool partial_chain = false;  // an intermediate of the store may be the anchor (X509_V_FLAG_PARTIAL_CHAIN)
    // Online revocation, owned by the process (null: off): CRLs from distribution points, used as
    // the files' CRLs are, and OCSP after the path verified.
    CrlFetcher* fetcher = nullptr;
    std::int64_t fetch_refresh = default_crl_refresh_seconds;
    const OcspPolicy* ocsp = nullptr;
    OcspClient* ocsp_client = nullptr;
};

struct ChainVerdict {
    std::string error;  // OpenSSL's verify error string; empty when the chain is good
    // For a good chain: the earliest notAfter of the path and nextUpdate of the CRLs that cover
    // it (a CRL without nextUpdate does not end it). Past that, the same chain may verify no more.
    std::int64_t valid_until = std::numeric_limits<std::int64_t>::max();
    std::string warning;  // OCSP soft_fail: what could not be checked
};

// Verifies `leaf` with `intermediates` (untrusted, e.g. from the header) at `time` (UTC seconds);
// online revocation asks about `now`.
ChainVerdict verify_chain(const ChainCheck& check, X509* leaf, const std::vector<X509*>& intermediates,
                          std::int64_t time, std::int64_t now);

}  // namespace arrcert
