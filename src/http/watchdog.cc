#include "http/watchdog.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

namespace hybridgate::http {

boost::system::error_code Watchdog::Entry::Reported(boost::system::error_code ec) const {
  if (ec && expired_) return boost::beast::error::timeout;
  return ec;
}

Watchdog::~Watchdog() { *alive_ = false; }

size_t Watchdog::armed() const { return entries_.size(); }

void Watchdog::Arm(Entry& e, Clock::time_point deadline) {
  e.deadline_ = deadline;
  e.expired_ = false;
  if (!e.hook_.is_linked()) entries_.push_back(e);
  // Only a deadline earlier than the timer's wake-up moves it; later ones are found when it fires.
  if (!scheduled_ || deadline < scheduled_for_) Schedule(deadline);
}

void Watchdog::Schedule(Clock::time_point when) {
  scheduled_ = true;
  scheduled_for_ = when;
  timer_.expires_at(when);  // cancels the wait before: its handler sees operation_aborted
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec == boost::asio::error::operation_aborted || !*alive) return;
    OnTimer();
  });
}

void Watchdog::OnTimer() {
  scheduled_ = false;
  const Clock::time_point now = Clock::now();
  Clock::time_point next = Clock::time_point::max();
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = *it;
    if (e.deadline_ > now) {
      next = std::min(next, e.deadline_);
      ++it;
      continue;
    }
    it = entries_.erase(it);
    e.expired_ = true;
    if (e.socket_ != nullptr) {
      boost::system::error_code ignored;
      e.socket_->cancel(ignored);
    }
  }
  if (next != Clock::time_point::max()) Schedule(next);
}

}  // namespace hybridgate::http
