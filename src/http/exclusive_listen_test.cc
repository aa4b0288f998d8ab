#include "http/exclusive_listen.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "http/server.h"

namespace hybridgate::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Real lines of /proc/net/tcp (x86-64): 127.0.0.1 prints as 0100007F, port 8080 as 1F90.
constexpr std::string_view kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "111 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "222 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "333 1 0000000000000000 100 0 0 10 0\n"
    "   3: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 "
    "444 1 0000000000000000 20 4 30 10 -1\n"
    "   4: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "555 1 0000000000000000 100 0 0 10 0\n";

constexpr std::string_view kTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  1000        0 666 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0\n";

TEST(ExclusiveListen, ListeningInodesMatchPortStateAndAddressOrWildcard) {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  // The exact address and the wildcard; not 127.0.0.2, not an established connection (01), not
  // another port.
  EXPECT_EQ(ListeningInodes(kTcp, loopback, 8080), (std::vector<uint64_t>{111, 222}));
  EXPECT_EQ(ListeningInodes(kTcp, asio::ip::make_address("0.0.0.0"), 8080),
            (std::vector<uint64_t>{111, 222, 333}));
  EXPECT_EQ(ListeningInodes(kTcp, loopback, 8081), (std::vector<uint64_t>{555}));
  EXPECT_TRUE(ListeningInodes(kTcp, loopback, 9090).empty());
  EXPECT_EQ(ListeningInodes(kTcp6, asio::ip::make_address("::1"), 8080),
            (std::vector<uint64_t>{666, 777}));
  EXPECT_EQ(ListeningInodes(kTcp6, asio::ip::make_address("::2"), 8080),
            (std::vector<uint64_t>{777}));
  EXPECT_TRUE(ListeningInodes("garbage\nnot a line at all\n", loopback, 8080).empty());
}

// A socket as another gateway's worker opens it: SO_REUSEPORT, listening.
tcp::acceptor ReusePortListener(asio::io_context& ioc, uint16_t port) {
  tcp::acceptor a(ioc);
  a.open(tcp::v4());
  a.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  EXPECT_EQ(::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  a.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  a.listen();
  return a;
}

TEST(ExclusiveListen, TheProbeFailsWhileAnotherSocketListensAndPassesAfter) {
  asio::io_context ioc;
  std::optional<tcp::acceptor> other = ReusePortListener(ioc, 0);
  const tcp::endpoint ep = other->local_endpoint();
  const auto busy = CheckNobodyListens(ep, "127.0.0.1:X");
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("cannot listen on 127.0.0.1:X: another process is already"),
            std::string::npos)
      << busy.error().message;
  other.reset();
  EXPECT_TRUE(CheckNobodyListens(ep, "127.0.0.1:X"));
}

TEST(ExclusiveListen, AfterListeningASocketThatIsNotOursIsNoticed) {
  asio::io_context ioc;
  tcp::acceptor first = ReusePortListener(ioc, 0);
  const uint16_t port = first.local_endpoint().port();
  tcp::acceptor second = ReusePortListener(ioc, port);  // what the kernel lets in
  const auto loopback = asio::ip::make_address("127.0.0.1");
  const int both[] = {first.native_handle(), second.native_handle()};
  EXPECT_TRUE(CheckOnlyOursListen(both, loopback, port, "x"));
  const int one[] = {first.native_handle()};
  const auto shared = CheckOnlyOursListen(one, loopback, port, "127.0.0.1:Y");
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find("127.0.0.1:Y"), std::string::npos);
}

TEST(ExclusiveListen, ServerListenRefusesAPortAnotherProcessListensOn) {
  asio::io_context ioc;
  tcp::acceptor other = ReusePortListener(ioc, 0);
  config::ServerConfig cfg;
  cfg.workers = 2;
  cfg.listen = "127.0.0.1:" + std::to_string(other.local_endpoint().port());
  Server server(cfg, [](Exchange&) -> asio::awaitable<void> { co_return; });
  const auto s = server.Listen();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("cannot listen on " + cfg.listen), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("already listening"), std::string::npos);
  // Once it is gone, the same server starts (and its two workers share the port).
  other.close();
  Server again(cfg, [](Exchange&) -> asio::awaitable<void> { co_return; });
  EXPECT_TRUE(again.Listen());
  EXPECT_EQ(again.port(), std::stoi(cfg.listen.substr(10)));
}

}  // namespace
}  // namespace hybridgate::http
