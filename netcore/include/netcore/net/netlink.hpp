#pragma once

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include <memory>

#include "netcore/base/c_deleter.hpp"

namespace netcore::net {

// Owning pointers over libnl objects; only CDeleter calls *_put/*_free.
using NlSockPtr = std::unique_ptr<nl_sock, CDeleter<nl_socket_free>>;
using NlCachePtr = std::unique_ptr<nl_cache, CDeleter<nl_cache_free>>;
using NlAddrPtr = std::unique_ptr<nl_addr, CDeleter<nl_addr_put>>;
using LinkPtr = std::unique_ptr<rtnl_link, CDeleter<rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, CDeleter<rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, CDeleter<rtnl_route_put>>;
using NeighPtr = std::unique_ptr<rtnl_neigh, CDeleter<rtnl_neigh_put>>;

// A NETLINK_ROUTE socket bound, for its whole life, to the network namespace of the thread that
// called connect(). Open one per namespace (inside Netns::run) and use it from any one thread at
// a time: not thread-safe.
class Netlink final {
 public:
  // Throws NetlinkError.
  [[nodiscard]] static Netlink connect();

  [[nodiscard]] nl_sock* sock() const noexcept { return sock_.get(); }

  // Dumps of the namespace's objects. A dump the kernel interrupted (NLE_DUMP_INTR: the table
  // changed while it was read) is retried, at most 5 times. Throw NetlinkError.
  [[nodiscard]] NlCachePtr dump_links() const;
  [[nodiscard]] NlCachePtr dump_addresses() const;
  [[nodiscard]] NlCachePtr dump_routes(int family) const;
  [[nodiscard]] NlCachePtr dump_neighbours() const;

 private:
  explicit Netlink(NlSockPtr sock) : sock_(std::move(sock)) {}

  NlSockPtr sock_;
};


}  // namespace netcore::net
