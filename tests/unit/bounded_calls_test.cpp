// The module's calls to network cache backends, with a deadline: real threads, a real APR pool per
// worker, calls that block until the test lets them go (as a stalled memcached does).
#include "../../mod_arrcert/httpd/bounded_calls.h"

#include <apr_general.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "threads.h"

namespace arrcert::httpd {
namespace {

using namespace std::chrono_literals;

class BoundedCallsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { apr_initialize(); }
};

TEST_F(BoundedCallsTest, ReturnsTheCallsStatusAndLendsItAPool)
{
    BoundedCalls calls(2, 1000ms);
    EXPECT_EQ(calls.run([](apr_pool_t* pool) { return apr_palloc(pool, 64) != nullptr ? APR_NOTFOUND : APR_EGENERAL; }),
              APR_NOTFOUND);
    EXPECT_EQ(calls.run([](apr_pool_t*) { return APR_SUCCESS; }), APR_SUCCESS);
}

TEST_F(BoundedCallsTest, AStalledCallCostsTheDeadlineThenBusyWorkersFailAtOnce)
{
    std::promise<void> release;
    const std::shared_future<void> released = release.get_future().share();
    BoundedCalls calls(1, 100ms);
    const auto stall = [released](apr_pool_t*) {
        released.wait();
        return APR_SUCCESS;
    };
    auto began = std::chrono::steady_clock::now();
    EXPECT_EQ(calls.run(stall), APR_TIMEUP);
    const auto waited = std::chrono::steady_clock::now() - began;
    EXPECT_GE(waited, 100ms);
    EXPECT_LT(waited, 2s);

    // The worker is stuck: one more call may wait (and time out), then the rest fail at once.
    EXPECT_EQ(calls.run(stall), APR_TIMEUP);
    began = std::chrono::steady_clock::now();
    EXPECT_EQ(calls.run(stall), APR_EAGAIN);
    EXPECT_FALSE(calls.post(stall));
    EXPECT_LT(std::chrono::steady_clock::now() - began, 50ms);

    release.set_value();  // the backend answers again: the queue drains, calls work
    for (int attempt = 0; attempt < 100 && calls.run([](apr_pool_t*) { return APR_SUCCESS; }) != APR_SUCCESS;
         ++attempt) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(calls.run([](apr_pool_t*) { return APR_SUCCESS; }), APR_SUCCESS);
}

TEST_F(BoundedCallsTest, PostedCallsRunInTheBackground)
{
    BoundedCalls calls(2, 1000ms);
    std::promise<int> ran;
    auto result = ran.get_future();
    EXPECT_TRUE(calls.post([&ran](apr_pool_t*) {
        ran.set_value(7);
        return APR_SUCCESS;
    }));
    ASSERT_EQ(result.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(result.get(), 7);
}

TEST_F(BoundedCallsTest, ManyRequestThreads)
{
    BoundedCalls calls(4, 2000ms);
    std::atomic<int> done{0};
    std::atomic<int> busy{0};
    constexpr int thread_count = 16;
    testing::on_threads(thread_count, [&](int /*thread*/) {
        for (int i = 0; i < 200; ++i) {
            const apr_status_t status = calls.run(
                [](apr_pool_t* pool) { return apr_pcalloc(pool, 128) != nullptr ? APR_SUCCESS : APR_ENOMEM; });
            ++(status == APR_SUCCESS ? done : busy);
        }
    });
    EXPECT_EQ(done.load() + busy.load(), thread_count * 200);
    EXPECT_GT(done.load(), 0);
}

TEST_F(BoundedCallsTest, GoingAwayWithACallStuckDoesNotWaitForIt)
{
    std::promise<void> release;
    const std::shared_future<void> released = release.get_future().share();
    {
        BoundedCalls calls(1, 50ms);
        EXPECT_EQ(calls.run([released](apr_pool_t*) {
            released.wait();
            return APR_SUCCESS;
        }),
                  APR_TIMEUP);
    }  // destroyed while its worker is stuck
    release.set_value();
    std::this_thread::sleep_for(50ms);  // the worker finishes and leaves on its own
}

}  // namespace
}  // namespace arrcert::httpd
