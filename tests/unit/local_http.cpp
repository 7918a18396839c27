#include "local_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace arrcert::testing {

LocalHttp::LocalHttp() : listener_(socket(AF_INET, SOCK_STREAM, 0))
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(listener_, 16) != 0 || getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
}

LocalHttp::~LocalHttp()
{
    stopping_ = true;
    thread_.join();
    close(listener_);
}

void LocalHttp::serve(const std::string& path, const std::string& body)
{
    const std::lock_guard lock(mutex_);
    bodies_[path] = body;
}

std::string LocalHttp::url(const std::string& path) const
{
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::string> LocalHttp::requests()
{
    const std::lock_guard lock(mutex_);
    return requests_;
}

void LocalHttp::run()
{
    while (!stopping_) {
        pollfd waiting{listener_, POLLIN, 0};
        if (poll(&waiting, 1, 50) <= 0) {
            continue;
        }
        const int connection = accept(listener_, nullptr, nullptr);
        if (connection < 0) {
            continue;
        }
        std::string head;
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
            const ssize_t got = recv(connection, buffer, sizeof buffer, 0);
            if (got <= 0) {
                break;
            }
            head.append(buffer, static_cast<std::size_t>(got));
        }
        std::string response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(head);
            const std::size_t start = head.find(' ') + 1;
            std::string path = head.substr(start, head.find(' ', start) - start);
            path = path.substr(0, path.find('?'));
            if (const auto found = bodies_.find(path); found != bodies_.end()) {
                response = "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: " +
                           std::to_string(found->second.size()) + "\r\n\r\n" + found->second;
            }
        }
        static_cast<void>(send(connection, response.data(), response.size(), MSG_NOSIGNAL));
        close(connection);
    }
}

}  // namespace arrcert::testing
