#include "arrcert/chain_guard.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "arrcert/openssl_ptr.h"

namespace arrcert {
namespace {

using StoreContextPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;

// OpenSSL's own revocation check, which a store without its own check gives a context.
X509_STORE_CTX_check_revocation_fn openssl_check_revocation() noexcept
{
    static const X509_STORE_CTX_check_revocation_fn check = [] {
        const StorePtr store(X509_STORE_new());
        const StoreContextPtr context(X509_STORE_CTX_new());
        X509_STORE_CTX_check_revocation_fn found = nullptr;
        if (store && context && X509_STORE_CTX_init(context.get(), store.get(), nullptr, nullptr) == 1) {
            found = X509_STORE_CTX_get_check_revocation(context.get());
        }
        ERR_clear_error();
        return found;
    }();
    return check;
}

int already_verified(X509_STORE_CTX* /*context*/)
{
    return 1;
}

int verify_then_check_revocation(X509_STORE_CTX* context)
{
    const X509_STORE_CTX_verify_fn verify = X509_STORE_CTX_get_verify(context);
    const X509_STORE_CTX_check_revocation_fn check = openssl_check_revocation();
    if (verify == nullptr || check == nullptr) {
        return 0;  // fail closed: neither step can be left out
    }
    if (const int ok = verify(context); ok <= 0) {
        return ok;
    }
    X509_STORE_CTX_set_verify(context, already_verified);
    return check(context);
}

}  // namespace

bool key_within_limits(X509* certificate) noexcept
{
    EVP_PKEY* key = X509_get0_pubkey(certificate);
    if (key == nullptr) {
        ERR_clear_error();
        return true;  // no key to use: OpenSSL refuses the signature itself
    }
    const int type = EVP_PKEY_get_base_id(key);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_RSA_PSS) {
        return true;
    }
    if (EVP_PKEY_get_bits(key) > max_rsa_modulus_bits) {
        return false;
    }
    BIGNUM* exponent = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &exponent) != 1) {
        ERR_clear_error();
        return false;
    }
    const BignumPtr owned(exponent);
    return BN_num_bits(owned.get()) <= max_rsa_exponent_bits;
}

bool signed_from_the_top(STACK_OF(X509) * path, int from) noexcept
{
    for (int i = sk_X509_num(path) - 2; i >= from; --i) {
        EVP_PKEY* key = X509_get0_pubkey(sk_X509_value(path, i + 1));
        if (key == nullptr || X509_verify(sk_X509_value(path, i), key) != 1) {
            ERR_clear_error();
            return false;
        }
    }
    return true;
}

void check_signatures_before_revocation(X509_STORE* store)
{
    X509_STORE_set_check_revocation(store, verify_then_check_revocation);
}

}  // namespace arrcert
