// A deadline for a coroutine's socket operations: when it passes, `expire`
// runs (closing the socket aborts whatever is pending). Cancelled when the
// Watchdog goes out of scope; the handler owns its state, so a deadline that
// fires late touches nothing freed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace mxs {

class Watchdog {
  public:
    Watchdog(const boost::asio::any_io_executor& ex, double seconds, std::function<void()> expire)
        : state_(std::make_shared<State>(ex)) {
        state_->timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(seconds)));
        state_->timer.async_wait(
            [st = state_, expire = std::move(expire)](const boost::system::error_code& ec) {
                if (ec || st->disarmed)
                    return;
                st->fired = true;
                expire();
            });
    }
    ~Watchdog() {
        state_->disarmed = true;
        state_->timer.cancel();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    bool fired() const { return state_->fired; }

  private:
    struct State {
        explicit State(const boost::asio::any_io_executor& ex) : timer(ex) {}
        boost::asio::steady_timer timer;
        bool fired = false;
        bool disarmed = false;
    };
    std::shared_ptr<State> state_;
};

} // namespace mxs
