#include "netcore/net/link_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"

namespace netcore::net {

LinkWatch LinkWatch::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd.valid()) throw_errno("link watch: socket");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("link watch: bind");
  return LinkWatch(std::move(fd));
}

void LinkWatch::drain() {
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0) continue;
    // ENOBUFS: notifications were dropped; the caller re-reads the link, so nothing is lost.
    if (errno == EINTR || errno == ENOBUFS) continue;
    if (errno == EAGAIN) return;
    throw_errno("link watch: recv");
  }
}

std::optional<LinkInfo> LinkWatch::wait_until(const Netlink& nl, int index,
                                              const std::function<bool(const LinkInfo&)>& reached,
                                              std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    drain();  // before reading the link: a change after this read wakes the poll below
    LinkInfo link = get_link(nl, index);
    if (reached(link)) return link;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd pfd{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left) + 1);
    if (ready < 0 && errno != EINTR) throw_errno("link watch: poll");
    log::trace("link watch: ifindex {} notified", index);
  }
}

}  // namespace netcore::net
