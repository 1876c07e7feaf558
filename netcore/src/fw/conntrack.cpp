#include "netcore/fw/conntrack.hpp"

#include <linux/netlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netfilter/ct.h>
#include <netlink/socket.h>
#include "netcore/base/log.hpp"

#include <algorithm>
#include <memory>

#include "netcore/base/c_deleter.hpp"
#include "netcore/base/error.hpp"

namespace netcore::fw {

std::size_t delete_conntrack_by_dst_port(std::uint8_t protocol,
                                         const std::vector<std::uint16_t>& ports) {
  if (ports.empty()) return 0;
  const std::unique_ptr<nl_sock, CDeleter<nl_socket_free>> sock(nl_socket_alloc());
  if (!sock) throw Error(ErrorCode::kInternal, "delete conntrack entries: out of memory");
  check_nl(nl_connect(sock.get(), NETLINK_NETFILTER), "delete conntrack entries: connect");
  nl_cache* raw = nullptr;
  check_nl(nfnl_ct_alloc_cache(sock.get(), &raw), "delete conntrack entries: dump");
  const std::unique_ptr<nl_cache, CDeleter<nl_cache_free>> cache(raw);
  std::size_t deleted = 0;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr;
       object = nl_cache_get_next(object)) {
    const auto* ct = reinterpret_cast<const nfnl_ct*>(object);
    if (nfnl_ct_get_proto(ct) != protocol) continue;
    const std::uint16_t port = nfnl_ct_get_dst_port(ct, 0);  // 0: original direction
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) continue;
    const int err = nfnl_ct_del(sock.get(), ct, 0);
    if (err == -NLE_OBJ_NOTFOUND) continue;  // gone by itself since the dump
    check_nl(err, "delete conntrack entry for port " + std::to_string(port));
    ++deleted;
  }
  log::debug("deleted {} conntrack entries of protocol {}", deleted, protocol);
  return deleted;
}

}  // namespace netcore::fw
