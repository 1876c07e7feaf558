#include "netcore/net/route.hpp"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netlink_impl.hpp"

namespace netcore::net {
namespace {

using detail::check_alloc;

enum class Purpose { kAdd, kDelete };

RoutePtr build_route(const Route& r, Purpose purpose, const std::string& operation) {
  if (r.gateway && address_family(*r.gateway) != r.dst.family())
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": gateway family differs from dst");
  RoutePtr route(check_alloc(rtnl_route_alloc(), operation));
  rtnl_route_set_family(route.get(), static_cast<std::uint8_t>(r.dst.family()));
  check_nl(
      rtnl_route_set_dst(route.get(), detail::to_nl_addr(r.dst.address(), r.dst.length()).get()),
      operation);
  rtnl_route_set_table(route.get(), r.table);
  rtnl_route_set_type(route.get(), r.type);
  if (r.metric) rtnl_route_set_priority(route.get(), *r.metric);
  if (r.source)
    check_nl(rtnl_route_set_pref_src(route.get(), detail::to_nl_addr(*r.source).get()), operation);
  if (purpose == Purpose::kAdd) {
    rtnl_route_set_scope(route.get(), r.scope);
    rtnl_route_set_protocol(route.get(), r.protocol);
    if (r.mtu) check_nl(rtnl_route_set_metric(route.get(), RTAX_MTU, *r.mtu), operation);
    if (r.advmss) check_nl(rtnl_route_set_metric(route.get(), RTAX_ADVMSS, *r.advmss), operation);
    if (r.onlink) rtnl_route_set_flags(route.get(), RTNH_F_ONLINK);
  } else {
    // Wildcards, as `ip route del` sends them: the kernel only matches what is set.
    rtnl_route_set_scope(route.get(), RT_SCOPE_NOWHERE);
    rtnl_route_set_protocol(route.get(), RTPROT_UNSPEC);
  }
  if (r.gateway || r.ifindex != 0) {
    rtnl_nexthop* nh = check_alloc(rtnl_route_nh_alloc(), operation);
    rtnl_route_add_nexthop(route.get(), nh);  // the route owns it from here on
    if (r.ifindex != 0) rtnl_route_nh_set_ifindex(nh, r.ifindex);
    if (r.gateway) rtnl_route_nh_set_gateway(nh, detail::to_nl_addr(*r.gateway).get());
    if (r.onlink && purpose == Purpose::kAdd) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
  }
  return route;
}

void add_or_replace(const Netlink& nl, const Route& r, bool replace) {
  const std::string operation =
      std::string(replace ? "replace" : "add") + " route " + r.to_string();
  log::debug("{}", operation);
  RoutePtr route = build_route(r, Purpose::kAdd, operation);
  check_nl(
      rtnl_route_add(nl.sock(), route.get(), NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL)),
      operation);
}

int delete_impl(const Netlink& nl, const Route& r, const std::string& operation) {
  log::debug("{}", operation);
  RoutePtr route = build_route(r, Purpose::kDelete, operation);
  return rtnl_route_delete(nl.sock(), route.get(), 0);
}

std::optional<Route> to_route(rtnl_route* route) {
  const int family = rtnl_route_get_family(route);
  const auto dst = detail::ip_from_nl_addr(rtnl_route_get_dst(route), family);
  if (!dst) return std::nullopt;
  Route r;
  r.dst = Prefix(*dst, static_cast<unsigned>(nl_addr_get_prefixlen(rtnl_route_get_dst(route))));
  r.table = rtnl_route_get_table(route);
  r.scope = rtnl_route_get_scope(route);
  r.protocol = rtnl_route_get_protocol(route);
  r.type = rtnl_route_get_type(route);
  // IPv4: metric 0 and no metric are the same route to the kernel, which omits RTA_PRIORITY.
  if (rtnl_route_get_priority(route) != 0 || family == AF_INET6)
    r.metric = rtnl_route_get_priority(route);
  if (nl_addr* src = rtnl_route_get_pref_src(route))
    r.source = detail::ip_from_nl_addr(src, family);
  std::uint32_t value = 0;
  if (rtnl_route_get_metric(route, RTAX_MTU, &value) == 0) r.mtu = value;
  if (rtnl_route_get_metric(route, RTAX_ADVMSS, &value) == 0) r.advmss = value;
  unsigned flags = rtnl_route_get_flags(route);
  if (rtnl_route_get_nnexthops(route) > 0) {
    rtnl_nexthop* nh = rtnl_route_nexthop_n(route, 0);  // borrowed
    r.ifindex = rtnl_route_nh_get_ifindex(nh);
    if (nl_addr* gw = rtnl_route_nh_get_gateway(nh))
      r.gateway = detail::ip_from_nl_addr(gw, family);
    flags |= rtnl_route_nh_get_flags(nh);
  }
  r.onlink = (flags & RTNH_F_ONLINK) != 0;
  return r;
}

}  // namespace

std::string Route::to_string() const {
  std::string s = dst.to_string();
  if (gateway) s += " via " + gateway->to_string();
  if (ifindex != 0) s += " dev " + std::to_string(ifindex);
  if (table != RT_TABLE_MAIN) s += " table " + std::to_string(table);
  if (metric) s += " metric " + std::to_string(*metric);
  return s;
}

void add_route(const Netlink& nl, const Route& route) { add_or_replace(nl, route, false); }

void replace_route(const Netlink& nl, const Route& route) { add_or_replace(nl, route, true); }

void delete_route(const Netlink& nl, const Route& route) {
  const std::string operation = "delete route " + route.to_string();
  check_nl(delete_impl(nl, route, operation), operation);
}

bool delete_route_if_exists(const Netlink& nl, const Route& route) {
  const std::string operation = "delete route " + route.to_string();
  const int err = delete_impl(nl, route, operation);
  if (err == -NLE_OBJ_NOTFOUND) {
    log::debug("{}: no such route, ignoring", operation);
    return false;
  }
  check_nl(err, operation);
  return true;
}

std::vector<Route> list_routes(const Netlink& nl, int family, std::optional<int> ifindex,
                               std::optional<std::uint32_t> table) {
  NlCachePtr cache = nl.dump_routes(family);
  std::vector<Route> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    const int route_family = rtnl_route_get_family(route);
    if (route_family != AF_INET && route_family != AF_INET6) continue;
    if (family != AF_UNSPEC && route_family != family) continue;
    if (rtnl_route_get_flags(route) & RTM_F_CLONED) continue;
    const std::uint32_t route_table = rtnl_route_get_table(route);
    if (table ? route_table != *table : route_table == RT_TABLE_LOCAL) continue;
    auto r = to_route(route);
    if (!r) continue;
    if (ifindex && r->ifindex != *ifindex) continue;
    result.push_back(*std::move(r));
  }
  return result;
}

}  // namespace netcore::net
