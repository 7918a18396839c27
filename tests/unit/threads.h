// Many threads at once, for the unit tests that share one object between them.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

namespace arrcert::testing {

// Runs body(t) on `count` threads at once, t from 0 to count - 1, and waits for every one.
template <typename Body>
void on_threads(int count, const Body& body)
{
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(count));
    for (int t = 0; t < count; ++t) {
        threads.emplace_back([&body, t] { body(t); });
    }
    for (auto& thread : threads) {
        thread.join();
    }
}

}  // namespace arrcert::testing
