// Keeps a server from sharing its port with another process by accident. The workers' acceptors
// use SO_REUSEPORT, and the kernel lets any process of the same user add its own SO_REUSEPORT
// socket to a port and then spreads new connections over both: a second gateway started on the
// same address would silently take half the traffic. Server::Listen runs both checks below, one
// before and one after its own sockets listen. Plain functions, any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hybridgate::http {

// Fails, naming `shown` (the configured address), when a socket already listens on `ep`: binds a
// probe socket without SO_REUSEPORT, which the kernel refuses (EADDRINUSE) while any socket
// listens there, SO_REUSEPORT or not. SO_REUSEADDR lets the probe bind over connections of an
// earlier run left in TIME_WAIT. The probe is closed before returning.
Status CheckNobodyListens(const boost::asio::ip::tcp::endpoint& ep, std::string_view shown);

// The inodes of the sockets in the LISTEN state on `port` whose address is `address` or either
// side's wildcard (same family), from the text of /proc/net/tcp (IPv4) or /proc/net/tcp6 (IPv6).
std::vector<uint64_t> ListeningInodes(std::string_view proc_net_tcp,
                                      const boost::asio::ip::address& address, uint16_t port);

// Once our own sockets (the descriptors `ours`) listen: fails when another socket listens on the
// same address and port. That is a process which passed CheckNobodyListens in the microseconds
// between our probe and our first bind; both processes then see each other and both refuse, so
// two never share a port. Passes when /proc/net is not readable (the probe stands alone then).
Status CheckOnlyOursListen(std::span<const int> ours, const boost::asio::ip::address& address,
                           uint16_t port, std::string_view shown);

}  // namespace hybridgate::http
