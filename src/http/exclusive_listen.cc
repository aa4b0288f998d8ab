#include "http/exclusive_listen.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

namespace hybridgate::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

Error AlreadyListening(std::string_view shown, std::string_view how) {
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("cannot listen on {}: another process is already listening there "
                               "({}); stop it or choose another server.listen / --listen",
                               shown, how));
}

// `hex` (8 hex digits per 32-bit word, as the kernel prints them from the address's memory)
// into the address's bytes. False when it is not that.
template <size_t N>
bool ParseHexAddress(std::string_view hex, std::array<unsigned char, N>& out) {
  if (hex.size() != N * 2) return false;
  for (size_t word = 0; word < N / 4; ++word) {
    uint32_t v = 0;
    const char* first = hex.data() + word * 8;
    auto [end, ec] = std::from_chars(first, first + 8, v, 16);
    if (ec != std::errc() || end != first + 8) return false;
    std::memcpy(out.data() + word * 4, &v, 4);
  }
  return true;
}

bool Overlaps(const asio::ip::address& ours, std::string_view hex) {
  if (ours.is_v4()) {
    std::array<unsigned char, 4> theirs{};
    if (!ParseHexAddress(hex, theirs)) return false;
    const auto mine = ours.to_v4().to_bytes();
    return ours.is_unspecified() || theirs == std::array<unsigned char, 4>{} || theirs == mine;
  }
  std::array<unsigned char, 16> theirs{};
  if (!ParseHexAddress(hex, theirs)) return false;
  const auto mine = ours.to_v6().to_bytes();
  return ours.is_unspecified() || theirs == std::array<unsigned char, 16>{} || theirs == mine;
}

}  // namespace

Status CheckNobodyListens(const tcp::endpoint& ep, std::string_view shown) {
  asio::io_context ioc;
  tcp::acceptor probe(ioc);
  boost::system::error_code ec;
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  if (ec == asio::error::address_in_use) return Fail(AlreadyListening(shown, ec.message()));
  if (ec) {
    return Fail(MakeError(ErrorCode::kInternal,
                          fmt::format("cannot listen on {}: {}", shown, ec.message())));
  }
  return {};
}

std::vector<uint64_t> ListeningInodes(std::string_view text, const asio::ip::address& address,
                                      uint16_t port) {
  constexpr std::string_view kListen = "0A";  // TCP_LISTEN
  std::vector<uint64_t> inodes;
  std::istringstream lines{std::string(text)};
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    std::istringstream fields(line);
    std::array<std::string, 10> f;
    for (auto& field : f) fields >> field;
    if (!fields || f[3] != kListen) continue;
    const std::string_view local = f[1];
    const size_t colon = local.find(':');
    if (colon == std::string_view::npos) continue;
    unsigned their_port = 0;
    const std::string_view port_hex = local.substr(colon + 1);
    auto [end, ec] =
        std::from_chars(port_hex.data(), port_hex.data() + port_hex.size(), their_port, 16);
    if (ec != std::errc() || their_port != port) continue;
    if (!Overlaps(address, local.substr(0, colon))) continue;
    uint64_t inode = 0;
    auto [iend, iec] = std::from_chars(f[9].data(), f[9].data() + f[9].size(), inode);
    if (iec == std::errc()) inodes.push_back(inode);
  }
  return inodes;
}

Status CheckOnlyOursListen(std::span<const int> ours, const asio::ip::address& address,
                           uint16_t port, std::string_view shown) {
  std::ifstream in(address.is_v4() ? "/proc/net/tcp" : "/proc/net/tcp6");
  if (!in) return {};
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<uint64_t> mine;
  for (int fd : ours) {
    struct stat st {};
    if (::fstat(fd, &st) == 0) mine.insert(static_cast<uint64_t>(st.st_ino));
  }
  for (uint64_t inode : ListeningInodes(text, address, port)) {
    if (!mine.contains(inode)) {
      return Fail(AlreadyListening(
          shown, fmt::format("a listening socket that is not ours, inode {}, appeared on port {} "
                             "while we started",
                             inode, port)));
    }
  }
  return {};
}

}  // namespace hybridgate::http
