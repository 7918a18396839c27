// Calls to a cache backend with a deadline. httpd's network socache providers cannot time out a
// read (apr_memcache has no read timeout; mod_socache_redis passes RedisTimeout to apr_redis in
// the wrong unit), so a backend that accepts and never answers would hold requests for ever.
// Here the call runs on a worker thread of this process and the request waits at most the
// deadline; a call that overruns finishes (or hangs) on its worker, and while every worker is
// busy further calls fail at once instead of queueing.
#pragma once

#include <apr_pools.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace arrcert::httpd {

class BoundedCalls {
public:
    // The call gets a pool of its worker, cleared after each call. It must own (or share) all it
    // touches: after a timeout the request is gone while the call may still run.
    using Call = std::function<apr_status_t(apr_pool_t*)>;

    BoundedCalls(std::size_t workers, std::chrono::milliseconds deadline);
    BoundedCalls(const BoundedCalls&) = delete;
    BoundedCalls& operator=(const BoundedCalls&) = delete;
    BoundedCalls(BoundedCalls&&) = delete;
    BoundedCalls& operator=(BoundedCalls&&) = delete;
    ~BoundedCalls();

    // The call's status; APR_TIMEUP when the deadline passed, APR_EAGAIN when the workers are
    // busy and enough calls already wait. Workers start with the first call, in the process that
    // serves requests (threads do not survive httpd's fork).
    apr_status_t run(Call call);
    // Runs the call without waiting for it; false when it was dropped (too many waiting).
    bool post(Call call);

private:
    struct Job;
    struct State;
    static void work(const std::shared_ptr<State>& state);
    std::shared_ptr<Job> enqueue(Call call);

    std::shared_ptr<State> state_;
    std::size_t workers_;
    std::chrono::milliseconds deadline_;
    std::once_flag started_;
};

}  // namespace arrcert::httpd
