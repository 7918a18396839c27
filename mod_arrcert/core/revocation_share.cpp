#include "arrcert/revocation_share.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

#include "arrcert/certificate.h"
#include "arrcert/digest.h"

namespace arrcert {
namespace {

// Closes a descriptor it owns.
class Descriptor {
public:
    explicit Descriptor(int descriptor) noexcept : descriptor_(descriptor) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    Descriptor(Descriptor&&) = delete;
    Descriptor& operator=(Descriptor&&) = delete;
    ~Descriptor()
    {
        if (descriptor_ >= 0) {
            ::close(descriptor_);
        }
    }
    [[nodiscard]] int get() const noexcept { return descriptor_; }
    [[nodiscard]] int release() noexcept { return std::exchange(descriptor_, -1); }

private:
    int descriptor_;
};

std::int64_t stamp_of(const struct stat& status) noexcept
{
    // Nanoseconds of the last change, with the inode: a rename brings a new inode.
    return (static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1000000000 + status.st_mtim.tv_nsec) ^
           (static_cast<std::int64_t>(status.st_ino) << 40);
}

std::string read_all(int descriptor, std::size_t max_bytes)
{
    std::string bytes;
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(descriptor, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        bytes.append(buffer, static_cast<std::size_t>(got));
        if (bytes.size() > max_bytes) {
            return {};
        }
    }
    return bytes;
}

}  // namespace

std::int64_t retry_pause(int failures) noexcept
{
    std::int64_t pause = first_retry_seconds;
    for (int i = 1; i < failures && pause < retry_cap_seconds; ++i) {
        pause *= 2;
    }
    return std::min(pause, retry_cap_seconds);
}

std::int64_t next_refresh(std::int64_t fetched_at, std::int64_t this_update, std::int64_t next_update,
                          std::int64_t refresh_seconds, int percent) noexcept
{
    std::int64_t next = fetched_at + refresh_seconds;
    if (next_update > this_update && this_update > 0) {
        const std::int64_t ahead = this_update + (next_update - this_update) * percent / 100;
        if (fetched_at < ahead) {
            next = std::min(next, ahead);
        }
    }
    return next;
}

RevocationShare::RevocationShare(std::string directory, const CacheSecret& secret, FleetStore* fleet,
                                 FreshnessMarks* marks)
    : directory_(std::move(directory)), seal_(std::in_place, secret), fleet_(fleet), marks_(marks)
{
}

std::int64_t RevocationShare::newest(const std::string& name) const noexcept
{
    return marks_ != nullptr ? marks_->newest(name) : 0;
}

void RevocationShare::saw(const std::string& name, std::int64_t this_update) noexcept
{
    if (marks_ != nullptr) {
        marks_->saw(name, this_update);
    }
}

CacheKey RevocationShare::document_key(std::string_view name)
{
    return Sha256Digest().add("arrcert revocation document").add(name).finish();
}

RevocationShare::Lock::~Lock()
{
    if (descriptor_ >= 0) {
        ::flock(descriptor_, LOCK_UN);
        ::close(descriptor_);
    }
}

std::string RevocationShare::name_for(std::string_view kind, std::string_view identity)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(identity.data(), identity.size(), digest, &length, EVP_sha256(), nullptr);
    return std::string(kind).append(1, '-').append(to_hex(digest, length));
}

std::string RevocationShare::path(const std::string& name, std::string_view suffix) const
{
    return std::string(directory_).append(1, '/').append(name).append(suffix);
}

std::int64_t RevocationShare::stamp(const std::string& name) const
{
    struct stat status {};
    if (directory_.empty() || ::stat(path(name, ".der").c_str(), &status) != 0) {
        return 0;
    }
    return stamp_of(status);
}

std::optional<RevocationShare::Document> RevocationShare::read(const std::string& name, std::size_t max_bytes) const
{
    if (directory_.empty()) {
        return std::nullopt;
    }
    const Descriptor file(::open(path(name, ".der").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat status {};
    if (file.get() < 0 || ::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode) ||
        static_cast<std::size_t>(status.st_size) > max_bytes + 256) {
        return std::nullopt;
    }
    // The seal's limit: the document, its length and the time.
    const std::string sealed = read_all(file.get(), max_bytes + 256);
    std::optional<OpenedBytes> opened = open_bytes(sealed, document_key(name), *seal_);
    if (!opened || opened->bytes.empty() || opened->bytes.size() > max_bytes) {
        return std::nullopt;
    }
    return Document{std::move(opened->bytes), stamp_of(status), opened->time};
}

void RevocationShare::replace(const std::string& target, const std::string& bytes)
{
    // A name of this thread's own, renamed over the target: readers never see half a file.
    const std::string temporary = target + ".tmp" + std::to_string(::getpid()) + "-" +
                                  std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    {
        const Descriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (file.get() < 0) {
            return;
        }
        std::size_t written = 0;
        while (written < bytes.size()) {
            const ssize_t done = ::write(file.get(), bytes.data() + written, bytes.size() - written);
            if (done < 0 && errno == EINTR) {
                continue;
            }
            if (done <= 0) {
                ::unlink(temporary.c_str());
                return;
            }
            written += static_cast<std::size_t>(done);
        }
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
        ::unlink(temporary.c_str());
    }
}

void RevocationShare::write(const std::string& name, const std::string& bytes, std::int64_t now,
                            std::int64_t fleet_expires)
{
    if (!directory_.empty()) {
        replace(path(name, ".der"), seal_bytes(bytes, now, document_key(name), *seal_));
    }
    if (fleet_ != nullptr && fleet_expires > now) {
        fleet_->keep(name, bytes, fleet_expires, now);
    }
}

std::optional<std::string> RevocationShare::from_fleet(const std::string& name, std::int64_t now) const
{
    return fleet_ != nullptr ? fleet_->fetch(name, now) : std::nullopt;
}

std::optional<RevocationShare::Lock> RevocationShare::lock(const std::string& name,
                                                           std::chrono::milliseconds wait) const
{
    if (directory_.empty()) {
        return Lock{};
    }
    Descriptor file(::open(path(name, ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (file.get() < 0) {
        return Lock{};  // no lock to be had: fetch as a process of its own would
    }
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        if (::flock(file.get(), LOCK_EX | LOCK_NB) == 0) {
            return Lock(file.release());
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return Lock{};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

RevocationShare::Attempts RevocationShare::attempts(const std::string& name) const
{
    if (directory_.empty()) {
        const std::lock_guard guard(mutex_);
        const auto found = attempts_memory_.find(name);
        return found != attempts_memory_.end() ? found->second : Attempts{};
    }
    const Descriptor file(::open(path(name, ".tries").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (file.get() < 0) {
        return {};
    }
    const std::string text = read_all(file.get(), 64);
    Attempts attempts;
    long long next = 0;
    if (std::sscanf(text.c_str(), "%d %lld", &attempts.failures, &next) != 2 || attempts.failures < 0) {
        return {};
    }
    attempts.next_attempt = next;
    return attempts;
}

RevocationShare::Attempts RevocationShare::failed(const std::string& name, std::int64_t now)
{
    Attempts attempts = this->attempts(name);
    attempts.failures = std::min(attempts.failures + 1, 1000);
    attempts.next_attempt = now + retry_pause(attempts.failures);
    if (directory_.empty()) {
        const std::lock_guard guard(mutex_);
        attempts_memory_[name] = attempts;
    } else {
        replace(path(name, ".tries"),
                std::to_string(attempts.failures) + " " + std::to_string(attempts.next_attempt) + "\n");
    }
    return attempts;
}

void RevocationShare::succeeded(const std::string& name)
{
    if (directory_.empty()) {
        const std::lock_guard guard(mutex_);
        attempts_memory_.erase(name);
    } else {
        ::unlink(path(name, ".tries").c_str());
    }
}

void RevocationShare::sweep(std::int64_t now, std::int64_t age) const
{
    if (directory_.empty()) {
        return;
    }
    std::error_code error;
    for (std::filesystem::directory_iterator it(directory_, error), end; !error && it != end; it.increment(error)) {
        struct stat status {};
        const std::string file = it->path().string();
        if (::lstat(file.c_str(), &status) == 0 && S_ISREG(status.st_mode) && status.st_mtim.tv_sec + age < now) {
            ::unlink(file.c_str());
        }
    }
}

}  // namespace arrcert
