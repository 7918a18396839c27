// Certificate revocation lists that follow their files: re-read when the files change, at most
// every refresh interval, without a restart and without stalling the requests that read them.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"

namespace arrcert {

enum class RevocationCheck { none, leaf, chain };

struct RevocationPolicy {
    RevocationCheck check = RevocationCheck::none;
    bool no_crl_for_cert_ok = false;
};

inline constexpr std::int64_t default_crl_refresh_seconds = 60;

// One immutable set of CRLs; requests hold it for as long as they use it.
class CrlSnapshot {
public:
    explicit CrlSnapshot(std::vector<CrlPtr> crls);
    CrlSnapshot(const CrlSnapshot&) = delete;
    CrlSnapshot& operator=(const CrlSnapshot&) = delete;
    CrlSnapshot(CrlSnapshot&&) = delete;
    CrlSnapshot& operator=(CrlSnapshot&&) = delete;
    ~CrlSnapshot();

    // Owned by the snapshot; OpenSSL reads it during a verification.
    [[nodiscard]] STACK_OF(X509_CRL) * stack() const noexcept { return stack_; }
    [[nodiscard]] std::size_t size() const noexcept { return crls_.size(); }
    // SHA-256 (hex) of the CRLs: part of a verdict's identity, the same on every server that
    // holds the same CRLs.
    [[nodiscard]] const std::string& identity() const noexcept { return identity_; }
    // The earliest nextUpdate of the CRLs (UTC seconds); -1 when none has one.
    [[nodiscard]] std::int64_t next_update() const noexcept { return next_update_; }

private:
    std::vector<CrlPtr> crls_;
    STACK_OF(X509_CRL) * stack_;
    std::string identity_;
    std::int64_t next_update_ = -1;
};

class CrlSource {
public:
    CrlSource() = default;

    // At configuration time: read the file (or every file of the directory) now. A failure names
    // the file.
    Result<void> add_file(const std::string& path);
    Result<void> add_directory(const std::string& path);

    struct Current {
        std::shared_ptr<const CrlSnapshot> snapshot;
        std::string event;  // set for the one caller that reloaded, or failed to
        bool event_is_error = false;
    };
    // The CRLs in force at `now`. When `refresh_seconds` have passed, one caller looks at the
    // files and re-reads them if they changed; the others carry on with the snapshot they have.
    // A file that fails to parse keeps the previous CRLs in force.
    Current current(std::int64_t now, std::int64_t refresh_seconds);

    // The files and directories, for the status page ("a.pem, dir/").
    [[nodiscard]] std::string description() const;
    // The CRLs in force now, without looking at the files.
    [[nodiscard]] std::shared_ptr<const CrlSnapshot> loaded();

private:
    struct Source {
        std::string path;
        bool directory;
    };
    Result<void> add(Source source);
    static Result<std::vector<std::filesystem::path>> files_of(const Source& source);
    [[nodiscard]] std::string stamp() const;  // what the files look like now
    [[nodiscard]] Result<std::vector<CrlPtr>> read_all() const;
    void publish(std::shared_ptr<const CrlSnapshot> snapshot);

    std::vector<Source> sources_;
    std::atomic<std::int64_t> next_check_{0};
    std::mutex reload_;  // held only by the caller that reloads
    std::string stamp_;  // what the files looked like when last read (under reload_)
    // Held for a pointer copy. (libstdc++ 12's atomic<shared_ptr> unlocks a load with a relaxed
    // store, which ThreadSanitizer reports as a race with the next store.)
    std::mutex snapshot_mutex_;
    std::shared_ptr<const CrlSnapshot> snapshot_;
};

}  // namespace arrcert
