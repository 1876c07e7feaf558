#include "netcore/net/netlink.hpp"

#include <netlink/errno.h>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"

namespace netcore::net {
namespace {

constexpr int kDumpAttempts = 5;

template <class Alloc>
NlCachePtr dump(Alloc&& alloc, const char* what) {
  int err = 0;
  for (int attempt = 1; attempt <= kDumpAttempts; ++attempt) {
    nl_cache* cache = nullptr;
    err = alloc(&cache);
    if (err >= 0) return NlCachePtr(cache);
    if (err != -NLE_DUMP_INTR) break;
    log::debug("dump {} interrupted (attempt {}), retrying", what, attempt);
  }
  throw NetlinkError(std::string("dump ") + what, -err);
}

}  // namespace

Netlink Netlink::connect() {
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) throw Error(ErrorCode::kInternal, "allocate netlink socket: out of memory");
  check_nl(nl_connect(sock.get(), NETLINK_ROUTE), "connect rtnetlink");
  // Large dumps (thousands of routes) must not fail for want of buffer space.
  nl_socket_set_buffer_size(sock.get(), 1 << 20, 1 << 20);
  nl_socket_set_msg_buf_size(sock.get(), 32768);
  return Netlink(std::move(sock));
}

NlCachePtr Netlink::dump_links() const {
  return dump([&](nl_cache** c) { return rtnl_link_alloc_cache(sock(), AF_UNSPEC, c); }, "links");
}

NlCachePtr Netlink::dump_addresses() const {
  return dump([&](nl_cache** c) { return rtnl_addr_alloc_cache(sock(), c); }, "addresses");
}

NlCachePtr Netlink::dump_routes(int family) const {
  return dump(
[&](nl_cache** c) { return rtnl_route_alloc_cache(sock(), family, 0, c); },
      "routes");
}

NlCachePtr Netlink::dump_neighbours() const {
  return dump([&](nl_cache** c) { return rtnl_neigh_alloc_cache(sock(), c); }, "neighbours");
}

}  // namespace netcore::net
