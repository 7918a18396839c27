// A real HTTP/1.0 server on 127.0.0.1 for the unit tests of fetching: serves fixed bodies by path
// and keeps every request it received, as received.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace arrcert::testing {

class LocalHttp {
public:
    LocalHttp();
    LocalHttp(const LocalHttp&) = delete;
    LocalHttp& operator=(const LocalHttp&) = delete;
    LocalHttp(LocalHttp&&) = delete;
    LocalHttp& operator=(LocalHttp&&) = delete;
    ~LocalHttp();

    void serve(const std::string& path, const std::string& body);
    [[nodiscard]] std::string url(const std::string& path) const;
    [[nodiscard]] std::vector<std::string> requests();  // the head of each request

private:
    void run();

    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::map<std::string, std::string> bodies_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

}  // namespace arrcert::testing
