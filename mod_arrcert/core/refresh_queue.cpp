#include "arrcert/refresh_queue.h"

#include <chrono>
#include <ctime>

namespace arrcert {

RefreshQueue::RefreshQueue(std::function<void(const std::string& id)> run) : run_(std::move(run)) {}

RefreshQueue::~RefreshQueue()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
}

void RefreshQueue::at(std::int64_t when, const std::string& id)
{
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        if (const auto found = due_.find(id); found != due_.end()) {
            if (found->second <= when) {
                return;
            }
            order_.erase({found->second, id});
        }
        due_[id] = when;
        order_.emplace(when, id);
        if (!worker_.joinable()) {
            worker_ = std::thread([this] { work(); });
        }
    }
    changed_.notify_one();
}

std::size_t RefreshQueue::pending() const
{
    const std::lock_guard lock(mutex_);
    return due_.size();
}

void RefreshQueue::work()
{
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (order_.empty()) {
            changed_.wait(lock);
            continue;
        }
        const auto [when, id] = *order_.begin();
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        if (when > now) {
            changed_.wait_for(lock, std::chrono::seconds(when - now));
            continue;
        }
        order_.erase(order_.begin());
        due_.erase(id);
        lock.unlock();
        try {
            run_(id);
        } catch (...) {
            // A job that failed is retried only when asked for again.
        }
        lock.lock();
    }
}

}  // namespace arrcert
