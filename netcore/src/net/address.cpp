#include "netcore/net/address.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>

#include <algorithm>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netlink_impl.hpp"

namespace netcore::net {
namespace {

using detail::check_alloc;
using detail::ifindex_text;

// The subnet's broadcast address (all host bits set).
IpAddress broadcast_of(const Prefix& prefix) {
  const std::uint32_t host_mask =
      prefix.length() == 0 ? 0xffffffffu
                           : (prefix.length() >= 32 ? 0u : 0xffffffffu >> prefix.length());
  return boost::asio::ip::address_v4(prefix.address().to_v4().to_uint() | host_mask);
}

AddrPtr build_address(int ifindex, const Prefix& prefix, const AddressOptions* options,
                      const std::string& operation) {
  AddrPtr addr(check_alloc(rtnl_addr_alloc(), operation));
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), prefix.family());
  // set_local takes its own reference to the nl_addr.
  check_nl(
      rtnl_addr_set_local(addr.get(), detail::to_nl_addr(prefix.address(), prefix.length()).get()),
      operation);
  rtnl_addr_set_prefixlen(addr.get(), static_cast<int>(prefix.length()));
  if (options == nullptr) return addr;
  // `ip addr add ... brd +`: iproute2 sets it for prefix lengths up to 30 only.
  if (prefix.is_v4() && prefix.length() <= 30)
    check_nl(rtnl_addr_set_broadcast(addr.get(), detail::to_nl_addr(broadcast_of(prefix)).get()),
             operation);
  unsigned flags = 0;
  if (options->nodad) flags |= IFA_F_NODAD;
  if (options->noprefixroute) flags |= IFA_F_NOPREFIXROUTE;
  if (flags != 0) rtnl_addr_set_flags(addr.get(), flags);
  if (options->scope) rtnl_addr_set_scope(addr.get(), *options->scope);
  return addr;
}

void add_or_replace(const Netlink& nl, int ifindex, const Prefix& prefix,
                    const AddressOptions& options, bool replace) {
  const std::string operation = std::string(replace ? "replace" : "add") + " address " +
                                prefix.to_string() + " on " + ifindex_text(ifindex);
  log::debug("{}", operation);
  AddrPtr addr = build_address(ifindex, prefix, &options, operation);
  check_nl(
      rtnl_addr_add(nl.sock(), addr.get(), NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL)),
      operation);
}

}  // namespace

void add_address(const Netlink& nl, int ifindex, const Prefix& prefix,
                 const AddressOptions& options) {
  add_or_replace(nl, ifindex, prefix, options, false);
}

void replace_address(const Netlink& nl, int ifindex, const Prefix& prefix,
                     const AddressOptions& options) {
  add_or_replace(nl, ifindex, prefix, options, true);
}

void delete_address(const Netlink& nl, int ifindex, const Prefix& prefix) {
  const std::string operation =
      "delete address " + prefix.to_string() + " on " + ifindex_text(ifindex);
  log::debug("{}", operation);
  AddrPtr addr = build_address(ifindex, prefix, nullptr, operation);
  check_nl(rtnl_addr_delete(nl.sock(), addr.get(), 0), operation);
}

std::vector<AddressInfo> list_addresses(const Netlink& nl, std::optional<int> ifindex, int family) {
  NlCachePtr cache = nl.dump_addresses();
  std::vector<AddressInfo> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    const int addr_family = rtnl_addr_get_family(addr);
    if (addr_family != AF_INET && addr_family != AF_INET6) continue;
    if (family != AF_UNSPEC && addr_family != family) continue;
    if (ifindex && rtnl_addr_get_ifindex(addr) != *ifindex) continue;
    const auto ip = detail::ip_from_nl_addr(rtnl_addr_get_local(addr), addr_family);
    if (!ip) continue;
    AddressInfo info;
    info.prefix = Prefix(*ip, static_cast<unsigned>(rtnl_addr_get_prefixlen(addr)));
    info.ifindex = rtnl_addr_get_ifindex(addr);
    info.scope = rtnl_addr_get_scope(addr);
    info.flags = rtnl_addr_get_flags(addr);
    if (addr_family == AF_INET)
      info.broadcast = detail::ip_from_nl_addr(rtnl_addr_get_broadcast(addr), AF_INET);
    if (const char* label = rtnl_addr_get_label(addr)) info.label = label;
    result.push_back(std::move(info));
  }
  std::stable_sort(result.begin(), result.end(), [](const AddressInfo& a, const AddressInfo& b) {
    return a.ifindex < b.ifindex;
  });
  return result;
}

}  // namespace netcore::net
