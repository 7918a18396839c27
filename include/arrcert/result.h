// The one way the core reports a failure: a Result, which holds a value or the reason there is
// none (and, apart from it, the client's own text behind the reason, for the error log only).
// A failure propagates with `if (!x) return x.why();`.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace arrcert {

struct Failure {
    Failure() = default;
    explicit Failure(std::string why, std::string client_text = {})
        : reason(std::move(why)), detail(std::move(client_text))
    {
    }

    std::string reason;  // fixed text (numbers allowed): safe to export and to show
    std::string detail;  // what the client sent that caused it: log it escaped, never export it
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Failure failure) : failure_(std::move(failure)) {}
    static Result success(T value) { return Result(std::move(value)); }
    static Result failure(std::string reason) { return Result(Failure(std::move(reason))); }

    [[nodiscard]] bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] T& value() { return *value_; }
    [[nodiscard]] const T& value() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    [[nodiscard]] const std::string& error() const noexcept { return failure_.reason; }
    [[nodiscard]] const Failure& why() const noexcept { return failure_; }

private:
    std::optional<T> value_;
    Failure failure_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Failure failure) : failure_(std::move(failure)), ok_(false) {}
    static Result success() { return {}; }
    static Result failure(std::string reason) { return {Failure(std::move(reason))}; }

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] const std::string& error() const noexcept { return failure_.reason; }
    [[nodiscard]] const Failure& why() const noexcept { return failure_; }

private:
    Failure failure_;
    bool ok_ = true;
};

}  // namespace arrcert
