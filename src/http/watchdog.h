// Socket timeouts for a whole worker with one timer. Beast's basic_stream armed and cancelled a
// timer of its own around every read and write (a lock, a timer-queue insert and removal, and a
// handler with an executor copy each time, inside one more layer of composed operation): moving
// off it cut a proxied request's instructions by 5.7% (callgrind, bench request). Here a deadline
// is a time stored in the socket's Entry; the worker's one timer wakes at the earliest deadline it
// knows of and cancels the operations of every socket whose deadline has passed. Everything runs
// on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>

namespace hybridgate::http {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // One socket's deadline. While armed and overdue, the watchdog cancels the socket's pending
  // operations (they complete with operation_aborted) and marks the entry expired: the caller
  // reports that as a timeout (see Reported()). A deadline that passes while no operation is
  // pending cancels nothing; the next Arm() starts afresh.
  class Entry {
   public:
    Entry(Watchdog& dog, boost::asio::ip::tcp::socket* socket) : dog_(&dog), socket_(socket) {}
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() = default;  // the hook unlinks itself

    void Arm(Clock::time_point deadline) { dog_->Arm(*this, deadline); }
    void ArmAfter(Clock::duration timeout) { Arm(Clock::now() + timeout); }
    void Disarm() { hook_.unlink(); }
    bool expired() const { return expired_; }
    void set_socket(boost::asio::ip::tcp::socket* socket) { socket_ = socket; }
    // `ec` as the caller reports it: a cancellation this entry's deadline caused is a timeout
    // (beast::error::timeout, as basic_stream reported it).
    boost::system::error_code Reported(boost::system::error_code ec) const;

   private:
    friend class Watchdog;
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>
        hook_;
    Watchdog* dog_;
    boost::asio::ip::tcp::socket* socket_;
    Clock::time_point deadline_;
    bool expired_ = false;
  };

  explicit Watchdog(boost::asio::io_context& ioc) : timer_(ioc) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog();

  size_t armed() const;  // for tests

 private:
  using List = boost::intrusive::list<
      Entry, boost::intrusive::member_hook<Entry, decltype(Entry::hook_), &Entry::hook_>,
      boost::intrusive::constant_time_size<false>>;

  void Arm(Entry& e, Clock::time_point deadline);
  void Schedule(Clock::time_point when);
  void OnTimer();

  List entries_;
  boost::asio::steady_timer timer_;
  bool scheduled_ = false;
  Clock::time_point scheduled_for_;
  // Set while the watchdog lives; the timer's handler checks it through a pointer it shares.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hybridgate::http
