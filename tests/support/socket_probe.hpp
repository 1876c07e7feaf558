#pragma once

// Traffic probes for data-path tests and benchmarks: sockets are made inside a namespace (a
// socket stays in the netns it was created in) and then driven from the calling thread.
// Header-only so that benchmarks, which do not link the test support library, can use them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "netcore/base/unique_fd.hpp"
#include "netcore/net/netns.hpp"

namespace nsnet::testing {

// "10.0.0.1" / "fd00::1" plus port as a sockaddr; the family follows the text.
inline socklen_t make_sockaddr(const std::string& ip, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (ip.find(':') == std::string::npos) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &sin->sin_addr);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  ::inet_pton(AF_INET6, ip.c_str(), &sin6->sin6_addr);
  return sizeof(sockaddr_in6);
}

inline std::string sockaddr_ip(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
                sizeof text);
  else
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text,
                sizeof text);
  return text;
}

// A socket of `type` created inside `netns`.
inline netcore::UniqueFd socket_in(const netcore::net::Netns& netns, int family, int type) {
  return netns.run([&] {
    return netcore::UniqueFd(::socket(family, type | SOCK_CLOEXEC, 0));
  });
}

// A socket bound to the wildcard address of `family` at `port` inside `netns`: listening for
// SOCK_STREAM. IPv6 sockets are v6-only. Returns an invalid fd on failure.
inline netcore::UniqueFd bound_socket(const netcore::net::Netns& netns, int family, int type,
                                      std::uint16_t port) {
  auto fd = socket_in(netns, family, type);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage address;
  const socklen_t length = make_sockaddr(family == AF_INET ? "0.0.0.0" : "::", port, address);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) return {};
  if (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0) return {};
  return fd;
}

inline bool wait_readable(int fd, int timeout_ms) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// Connects from inside `from` to ip:port and accepts on `listener`: the client address the
// server saw, or nullopt when no connection arrived within `timeout_ms`.
inline std::optional<std::string> tcp_peer(const netcore::net::Netns& from, const std::string& ip,
                                           std::uint16_t port, int listener,
                                           int timeout_ms = 2000) {
  sockaddr_storage address;
  const socklen_t length = make_sockaddr(ip, port, address);
  const auto client = socket_in(from, address.ss_family, SOCK_STREAM | SOCK_NONBLOCK);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
      errno != EINPROGRESS)
    return std::nullopt;
  if (!wait_readable(listener, timeout_ms)) return std::nullopt;
  sockaddr_storage peer;
  socklen_t peer_length = sizeof peer;
  const netcore::UniqueFd accepted(
      ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_CLOEXEC));
  if (accepted.get() < 0) return std::nullopt;
  return sockaddr_ip(peer);
}

// Sends one datagram from inside `from` (from source port `source_port` if non-zero) to
// ip:port and reads it on `server`: the source address the server saw, or nullopt.
inline std::optional<std::string> udp_peer(const netcore::net::Netns& from, const std::string& ip,
                                           std::uint16_t port, int server,
                                           std::uint16_t source_port = 0, int timeout_ms = 2000) {
  sockaddr_storage address;
  const socklen_t length = make_sockaddr(ip, port, address);
  const auto client = socket_in(from, address.ss_family, SOCK_DGRAM);
  if (source_port != 0) {
    const int one = 1;
    ::setsockopt(client.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage local;
    const socklen_t local_length =
        make_sockaddr(address.ss_family == AF_INET ? "0.0.0.0" : "::", source_port, local);
    if (::bind(client.get(), reinterpret_cast<sockaddr*>(&local), local_length) != 0)
      return std::nullopt;
  }
  const char payload[] = "nsnet";
  if (::sendto(client.get(), payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&address),
               length) < 0)
    return std::nullopt;
  if (!wait_readable(server, timeout_ms)) return std::nullopt;
  char buffer[64];
  sockaddr_storage peer;
  socklen_t peer_length = sizeof peer;
  if (::recvfrom(server, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer),
                 &peer_length) < 0)
    return std::nullopt;
  return sockaddr_ip(peer);
}

}  // namespace nsnet::testing
