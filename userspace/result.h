// Expected failures as values (C++20 has no std::expected yet).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace mxs {

struct Error {
    std::string message;
};

template <class T> class Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    Result(Error e) : error_(std::move(e.message)) {}
    explicit operator bool() const { return value_.has_value(); }
    T& operator*() { return *value_; }
    T* operator->() { return &*value_; }
    const std::string& error() const { return error_; }

  private:
    std::optional<T> value_;
    std::string error_;
};

} // namespace mxs
