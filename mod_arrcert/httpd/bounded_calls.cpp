#include "bounded_calls.h"

#include <apr_errno.h>

namespace arrcert::httpd {

struct BoundedCalls::Job {
    Call call;
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    apr_status_t status = APR_EGENERAL;
};

// Shared by the owner and the workers: a worker stuck in a call outlives nothing it needs.
struct BoundedCalls::State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::shared_ptr<Job>> queue;
    std::size_t idle = 0;
    bool stopping = false;
};

BoundedCalls::BoundedCalls(std::size_t workers, std::chrono::milliseconds deadline)
    : state_(std::make_shared<State>()), workers_(workers), deadline_(deadline)
{
}

BoundedCalls::~BoundedCalls()
{
    {
        const std::lock_guard<std::mutex> lock(state_->mutex);
        state_->stopping = true;
    }
    state_->wake.notify_all();
}

void BoundedCalls::work(const std::shared_ptr<State>& state)
{
    apr_pool_t* pool = nullptr;
    if (apr_pool_create(&pool, nullptr) != APR_SUCCESS) {
        return;
    }
    std::unique_lock<std::mutex> lock(state->mutex);
    while (true) {
        state->wake.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
        if (state->stopping) {
            break;
        }
        std::shared_ptr<Job> job = std::move(state->queue.front());
        state->queue.pop_front();
        --state->idle;
        lock.unlock();
        apr_status_t status = APR_EGENERAL;
        try {
            status = job->call(pool);
        } catch (...) {
            status = APR_EGENERAL;
        }
        apr_pool_clear(pool);
        {
            const std::lock_guard<std::mutex> done(job->mutex);
            job->status = status;
            job->done = true;
        }
        job->finished.notify_one();
        lock.lock();
        ++state->idle;
    }
    lock.unlock();
    apr_pool_destroy(pool);
}

std::shared_ptr<BoundedCalls::Job> BoundedCalls::enqueue(Call call)
{
    std::call_once(started_, [this] {
        {
            const std::lock_guard<std::mutex> lock(state_->mutex);
            state_->idle = workers_;
        }
        for (std::size_t i = 0; i < workers_; ++i) {
            // Detached: one stuck in a backend call must not hold up the process's exit.
            std::thread([state = state_] { work(state); }).detach();
        }
    });
    auto job = std::make_shared<Job>();
    job->call = std::move(call);
    {
        const std::lock_guard<std::mutex> lock(state_->mutex);
        // A few may wait behind busy workers; beyond that a stalled backend would make a queue.
        if (state_->queue.size() >= state_->idle + workers_) {
            return nullptr;
        }
        state_->queue.push_back(job);
    }
    state_->wake.notify_one();
    return job;
}

apr_status_t BoundedCalls::run(Call call)
{
    const std::shared_ptr<Job> job = enqueue(std::move(call));
    if (job == nullptr) {
        return APR_EAGAIN;
    }
    std::unique_lock<std::mutex> lock(job->mutex);
    if (!job->finished.wait_for(lock, deadline_, [&] { return job->done; })) {
        return APR_TIMEUP;
    }
    return job->status;
}

bool BoundedCalls::post(Call call)
{
    return enqueue(std::move(call)) != nullptr;
}

}  // namespace arrcert::httpd
