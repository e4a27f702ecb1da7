// Expected failures as values: the one error style of mxsense (docs/architecture.md).
//
// Result<T> holds a T or an error message: one line that says what went wrong and where
// ("agent.yaml:3: dns.timeout: ...", "eth9: no such interface"). Result<> (Result<void>)
// is a check: fine, or an error message. Functions return `Error{"..."}` on failure.
//
// Why not std::expected: it needs C++23, and Debian 12's clang-tidy (clang 14) cannot use
// libstdc++ 12's <expected> (which asks for __cpp_concepts >= 202002L; clang 14 has 201907L).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace mxs {

// A failure: what went wrong, one line; `code` an errno value where a caller may act on it
// (ENOENT: a file that is not there), else 0.
struct Error {
    std::string message;
    int code = 0;
};

template <class T = void> class Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    Result(Error e) : error_(std::move(e.message)), code_(e.code) {}
    explicit operator bool() const { return value_.has_value(); }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    // The message; "" when the result holds a value.
    const std::string& error() const { return error_; }
    // The failure's errno value, 0 when it has none (or there is no failure).
    int error_code() const { return code_; }

  private:
    std::optional<T> value_;
    std::string error_;
    int code_ = 0;
};

template <> class Result<void> {
  public:
    Result() = default; // fine
    Result(Error e) : failed_(true), error_(std::move(e.message)), code_(e.code) {}
    explicit operator bool() const { return !failed_; }
    // The message; "" when fine.
    const std::string& error() const { return error_; }
    int error_code() const { return code_; }

  private:
    bool failed_ = false;
    std::string error_;
    int code_ = 0;
};

} // namespace mxs
