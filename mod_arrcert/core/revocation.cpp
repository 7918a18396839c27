#include "arrcert/revocation.h"

#include "arrcert/certificate.h"

#include "arrcert/digest.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace arrcert {
namespace {

bool is_crl_file_name(const std::string& name)
{
    if (name.empty() || name.front() == '.') {
        return false;
    }
    if (name.ends_with(".crl") || name.ends_with(".pem")) {
        return true;
    }
    const auto dot = name.rfind(".r");  // openssl rehash: <hash>.r0, .r1, ...
    return dot != std::string::npos && dot + 2 < name.size() &&
           std::all_of(name.begin() + static_cast<std::ptrdiff_t>(dot) + 2, name.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
}

// Every CRL in a PEM file (or the one CRL of a DER file).
Result<void> read_crl_file(const std::string& path, std::vector<CrlPtr>& crls)
{
    BioPtr bio(BIO_new_file(path.c_str(), "rb"));
    if (!bio) {
        ERR_clear_error();
        return Result<void>::failure("cannot read CRL file " + path);
    }
    std::size_t found = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        crls.emplace_back(crl);
        ++found;
    }
    const unsigned long error = ERR_peek_last_error();
    const bool clean_end = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    if (found > 0 && clean_end) {
        return {};
    }
    if (found == 0) {
        BioPtr der(BIO_new_file(path.c_str(), "rb"));
        if (der) {
            if (X509_CRL* crl = d2i_X509_CRL_bio(der.get(), nullptr)) {
                crls.emplace_back(crl);
                ERR_clear_error();
                return {};
            }
        }
        ERR_clear_error();
        return Result<void>::failure("no CRL could be read from " + path);
    }
    return Result<void>::failure("CRL file " + path + " is damaged after its first " + std::to_string(found) + " CRLs");
}

std::string file_stamp(const std::filesystem::path& path)
{
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    const auto size = std::filesystem::file_size(path, error);
    const auto time = std::filesystem::last_write_time(path, error);
    return path.string() + ":" + std::to_string(static_cast<int>(status.type())) + ":" +
           std::to_string(error ? 0 : size) + ":" + std::to_string(time.time_since_epoch().count()) + ";";
}

}  // namespace

CrlSnapshot::CrlSnapshot(std::vector<CrlPtr> crls) : crls_(std::move(crls)), stack_(sk_X509_CRL_new_null())
{
    if (stack_ == nullptr) {
        throw std::bad_alloc();
    }
    Sha256Digest digest;
    for (const CrlPtr& crl : crls_) {
        if (sk_X509_CRL_push(stack_, crl.get()) == 0) {
            sk_X509_CRL_free(stack_);
            throw std::bad_alloc();
        }
        if (const std::int64_t next = epoch_seconds_or(X509_CRL_get0_nextUpdate(crl.get()), -1);
            next >= 0 && (next_update_ < 0 || next < next_update_)) {
            next_update_ = next;
        }
        unsigned char* der = nullptr;
        const int length = i2d_X509_CRL(crl.get(), &der);
        if (length >= 0) {
            digest.add({reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)});
            OPENSSL_free(der);
        }
    }
    identity_ = to_hex(digest.finish());
}

CrlSnapshot::~CrlSnapshot()
{
    sk_X509_CRL_free(stack_);  // the CRLs themselves belong to crls_
}

Result<std::vector<std::filesystem::path>> CrlSource::files_of(const Source& source)
{
    if (!source.directory) {
        return std::vector<std::filesystem::path>{source.path};
    }
    std::error_code failure;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(source.path, failure)) {
        if (entry.is_regular_file() && is_crl_file_name(entry.path().filename().string())) {
            files.push_back(entry.path());
        }
    }
    if (failure) {
        return Result<std::vector<std::filesystem::path>>::failure("cannot read CRL directory " + source.path + ": " +
                                                                   failure.message());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string CrlSource::stamp() const
{
    std::string stamp;
    for (const Source& source : sources_) {
        stamp += "[";
        const auto files = files_of(source);
        if (files) {
            for (const auto& file : files.value()) {
                stamp += file_stamp(file);
            }
        }
        stamp += files.error() + "]";
    }
    return stamp;
}

Result<std::vector<CrlPtr>> CrlSource::read_all() const
{
    std::vector<CrlPtr> crls;
    for (const Source& source : sources_) {
        const auto files = files_of(source);
        if (!files) {
            return files.why();
        }
        for (const auto& file : files.value()) {
            if (auto read = read_crl_file(file.string(), crls); !read) {
                return read.why();
            }
        }
    }
    return crls;
}

Result<void> CrlSource::add(Source source)
{
    sources_.push_back(std::move(source));
    auto crls = read_all();
    if (!crls) {
        sources_.pop_back();
        return crls.why();
    }
    stamp_ = stamp();
    publish(std::make_shared<const CrlSnapshot>(std::move(crls.value())));
    return {};
}

std::shared_ptr<const CrlSnapshot> CrlSource::loaded()
{
    const std::lock_guard<std::mutex> lock(snapshot_mutex_);
    return snapshot_;
}

void CrlSource::publish(std::shared_ptr<const CrlSnapshot> snapshot)
{
    const std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshot_.swap(snapshot);  // the old one is released outside the lock, when `snapshot` goes
}

Result<void> CrlSource::add_file(const std::string& path)
{
    return add({path, false});
}

Result<void> CrlSource::add_directory(const std::string& path)
{
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
        return Result<void>::failure("CRL directory " + path + " does not exist or is not a directory");
    }
    return add({path, true});
}

std::string CrlSource::description() const
{
    std::string text;
    for (const Source& source : sources_) {
        text.append(text.empty() ? "" : ", ").append(source.path).append(source.directory ? "/" : "");
    }
    return text;
}

CrlSource::Current CrlSource::current(std::int64_t now, std::int64_t refresh_seconds)
{
    Current result;
    std::int64_t due = next_check_.load(std::memory_order_relaxed);
    if (now >= due && next_check_.compare_exchange_strong(due, now + refresh_seconds) && reload_.try_lock()) {
        std::lock_guard<std::mutex> held(reload_, std::adopt_lock);
        std::string now_stamp = stamp();  // a cheap look first: names, sizes and times only
        if (now_stamp != stamp_) {
            auto crls = read_all();
            stamp_ = std::move(now_stamp);  // a failure is reported once per change of the files
            if (crls) {
                auto fresh = std::make_shared<const CrlSnapshot>(std::move(crls.value()));
                result.event = "CRLs reloaded: " + std::to_string(fresh->size()) + " in force";
                publish(std::move(fresh));
            } else {
                result.event = crls.error() + "; the previous CRLs stay in force";
                result.event_is_error = true;
            }
        }
    }
    {
        const std::lock_guard<std::mutex> lock(snapshot_mutex_);
        result.snapshot = snapshot_;
    }
    return result;
}

}  // namespace arrcert
