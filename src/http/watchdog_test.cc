#include "http/watchdog.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <optional>

namespace hybridgate::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// Two connected loopback sockets: reads on `a` wait until `b` writes.
struct Pair {
  explicit Pair(asio::io_context& ioc) : a(ioc), b(ioc) {
    tcp::acceptor acc(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    a.connect(acc.local_endpoint());
    b = acc.accept();
  }
  tcp::socket a;
  tcp::socket b;
};

// Starts a one-byte read on `s`; the result lands in `out` when it completes.
void ReadOne(tcp::socket& s, char* byte, std::optional<boost::system::error_code>& out) {
  asio::async_read(s, asio::buffer(byte, 1),
                   [&out](boost::system::error_code ec, size_t) { out = ec; });
}

// A watchdog and one entry for a socket pair's reading end.
class WatchdogTest : public ::testing::Test {
 protected:
  asio::io_context ioc;
  Watchdog dog{ioc};
  Pair p{ioc};
  Watchdog::Entry entry{dog, &p.a};
  char byte = 0;
  std::optional<boost::system::error_code> result;
};

TEST_F(WatchdogTest, AnOverdueReadIsCancelledAndReportedAsATimeout) {
  entry.ArmAfter(milliseconds(30));
  ReadOne(p.a, &byte, result);
  ioc.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(result.has_value()) << "the read was never cancelled";
  EXPECT_EQ(*result, asio::error::operation_aborted);
  EXPECT_TRUE(entry.expired());
  EXPECT_EQ(entry.Reported(*result), boost::beast::error::timeout);
  EXPECT_EQ(dog.armed(), 0u);
  // The socket still works: re-armed, a read that gets its byte succeeds.
  result.reset();
  entry.ArmAfter(std::chrono::seconds(30));
  ReadOne(p.a, &byte, result);
  asio::write(p.b, asio::buffer("x", 1));
  ioc.restart();
  while (!result && ioc.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  entry.Disarm();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_FALSE(entry.expired());
  EXPECT_FALSE(entry.Reported(*result));
  EXPECT_EQ(byte, 'x');
}

TEST(Watchdog, AnEarlierDeadlineMovesTheTimerAndCancelsOnlyItsOwnSocket) {
  asio::io_context ioc;
  Watchdog dog(ioc);
  Pair slow(ioc);
  Pair quick(ioc);
  Watchdog::Entry slow_entry(dog, &slow.a);
  Watchdog::Entry quick_entry(dog, &quick.a);
  char b1 = 0;
  char b2 = 0;
  std::optional<boost::system::error_code> slow_result;
  std::optional<boost::system::error_code> quick_result;
  slow_entry.ArmAfter(std::chrono::seconds(60));  // the timer is set for this one first
  ReadOne(slow.a, &b1, slow_result);
  quick_entry.ArmAfter(milliseconds(30));
  ReadOne(quick.a, &b2, quick_result);
  while (!quick_result && ioc.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_TRUE(quick_result.has_value()) << "the earlier deadline did not move the timer";
  EXPECT_EQ(quick_entry.Reported(*quick_result), boost::beast::error::timeout);
  EXPECT_FALSE(slow_result.has_value());
  EXPECT_FALSE(slow_entry.expired());
  EXPECT_EQ(dog.armed(), 1u);
  slow.a.cancel();
  ioc.run_for(milliseconds(100));
  ASSERT_TRUE(slow_result.has_value());
  EXPECT_EQ(slow_entry.Reported(*slow_result), asio::error::operation_aborted);
}

TEST_F(WatchdogTest, ADisarmedOrLaterDeadlineCancelsNothing) {
  entry.ArmAfter(milliseconds(20));
  entry.Disarm();
  Pair q(ioc);
  Watchdog::Entry pushed(dog, &q.a);
  std::optional<boost::system::error_code> pushed_result;
  char byte2 = 0;
  pushed.ArmAfter(milliseconds(20));
  pushed.ArmAfter(std::chrono::seconds(60));  // pushed back before the timer fires
  ReadOne(p.a, &byte, result);
  ReadOne(q.a, &byte2, pushed_result);
  ioc.run_for(milliseconds(200));
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(pushed_result.has_value());
  EXPECT_FALSE(entry.expired());
  EXPECT_FALSE(pushed.expired());
  EXPECT_EQ(dog.armed(), 1u);  // `pushed`, waiting for its new deadline
}

TEST(Watchdog, EntriesAndTheWatchdogMayGoInEitherOrder) {
  asio::io_context ioc;
  Pair p(ioc);
  auto dog = std::make_unique<Watchdog>(ioc);
  auto first = std::make_unique<Watchdog::Entry>(*dog, &p.a);
  Watchdog::Entry second(*dog, &p.b);
  first->ArmAfter(milliseconds(5));
  second.ArmAfter(milliseconds(5));
  first.reset();  // an armed entry goes first: it leaves the watchdog's list
  EXPECT_EQ(dog->armed(), 1u);
  dog.reset();  // then the watchdog, with its timer due and an entry still armed
  ioc.run_for(milliseconds(50));
  EXPECT_FALSE(second.expired());  // nothing fired after the watchdog was gone
}

}  // namespace
}  // namespace hybridgate::http
