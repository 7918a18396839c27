// RAII owners for the OpenSSL objects the core creates.
#pragma once

#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace arrcert {

template <auto Free>
struct OpenSslDeleter {
    template <class T>
    void operator()(T* object) const noexcept
    {
        Free(object);
    }
};

template <class T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<Free>>;

using X509Ptr = OpenSslPtr<X509, X509_free>;
// A stack that holds certificates it does not own: freed without them.
struct CertificateStackDeleter {
    void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_free(stack); }
};
using CertificateStackPtr = std::unique_ptr<STACK_OF(X509), CertificateStackDeleter>;
using CrlPtr = OpenSslPtr<X509_CRL, X509_CRL_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

struct OpenSslStringDeleter {
    void operator()(char* text) const noexcept { OPENSSL_free(text); }
};
using OpenSslString = std::unique_ptr<char, OpenSslStringDeleter>;

struct OpenSslBytesDeleter {
    void operator()(unsigned char* bytes) const noexcept { OPENSSL_free(bytes); }
};
using OpenSslBytes = std::unique_ptr<unsigned char, OpenSslBytesDeleter>;

}  // namespace arrcert
