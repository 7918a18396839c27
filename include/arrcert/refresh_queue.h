// Work at given times on a thread of its own: the background refreshes of fetched CRLs and OCSP
// answers. A job asked for twice runs once, at the earlier time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace arrcert {

class RefreshQueue {
public:
    // `run` is called on the queue's thread, one job at a time; it may call at().
    explicit RefreshQueue(std::function<void(const std::string& id)> run);
    RefreshQueue(const RefreshQueue&) = delete;
    RefreshQueue& operator=(const RefreshQueue&) = delete;
    RefreshQueue(RefreshQueue&&) = delete;
    RefreshQueue& operator=(RefreshQueue&&) = delete;
    ~RefreshQueue();  // stops the thread; jobs not yet run are dropped

    // `id` runs at `when` (UTC seconds), or at the time it was asked for already if earlier. The
    // thread starts with the first job, in the process that asks (never in httpd's parent).
    void at(std::int64_t when, const std::string& id);
    [[nodiscard]] std::size_t pending() const;

private:
    void work();

    std::function<void(const std::string&)> run_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::int64_t> due_;               // by job
    std::set<std::pair<std::int64_t, std::string>> order_;  // by time
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace arrcert
