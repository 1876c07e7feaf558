#include "netcore/net/neighbour.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/route/neighbour.h>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netlink_impl.hpp"

namespace netcore::net {
namespace {

using detail::check_alloc;
using detail::ifindex_text;

enum class Op { kAdd, kReplace, kDelete };

const char* op_name(Op op) {
  switch (op) {
    case Op::kAdd:
      return "add";
    case Op::kReplace:
      return "replace";
    case Op::kDelete:
      return "delete";
  }
  return "";
}

int fdb_nud_state(FdbState state) {
  switch (state) {
    case FdbState::kPermanent:
      return NUD_PERMANENT | NUD_NOARP;
    case FdbState::kStatic:
      return NUD_REACHABLE | NUD_NOARP;
    case FdbState::kDynamic:
      return NUD_REACHABLE;
  }
  return NUD_PERMANENT | NUD_NOARP;
}

FdbState fdb_state_from_nud(int nud) {
  if (nud & NUD_PERMANENT) return FdbState::kPermanent;
  if (nud & NUD_NOARP) return FdbState::kStatic;
  return FdbState::kDynamic;
}

void send(const Netlink& nl, rtnl_neigh* neigh, Op op, const std::string& operation) {
  log::debug("{}", operation);
  const int err =
      op == Op::kDelete
          ? rtnl_neigh_delete(nl.sock(), neigh, 0)
          : rtnl_neigh_add(nl.sock(), neigh,
                           NLM_F_CREATE | (op == Op::kAdd ? NLM_F_EXCL : NLM_F_REPLACE));
  check_nl(err, operation);
}

void apply(const Netlink& nl, const Neighbour& n, Op op) {
  const std::string operation = std::string(op_name(op)) + " neighbour " + n.ip.to_string() +
                                (op == Op::kDelete ? "" : " lladdr " + n.mac.to_string()) + " on " +
                                ifindex_text(n.ifindex);
  NeighPtr neigh(check_alloc(rtnl_neigh_alloc(), operation));
  rtnl_neigh_set_ifindex(neigh.get(), n.ifindex);
  rtnl_neigh_set_family(neigh.get(), address_family(n.ip));
  check_nl(rtnl_neigh_set_dst(neigh.get(), detail::to_nl_addr(n.ip).get()), operation);
  if (op != Op::kDelete) {
    rtnl_neigh_set_lladdr(neigh.get(), detail::to_nl_addr(n.mac).get());
    rtnl_neigh_set_state(neigh.get(), n.permanent ? NUD_PERMANENT : NUD_REACHABLE);
  }
  send(nl, neigh.get(), op, operation);
}

void apply(const Netlink& nl, const FdbEntry& e, Op op) {
  const std::string operation = std::string(op_name(op)) + " fdb entry " + e.mac.to_string() +
                                (e.dst ? " dst " + e.dst->to_string() : "") + " on " +
                                ifindex_text(e.ifindex);
  NeighPtr neigh(check_alloc(rtnl_neigh_alloc(), operation));
  rtnl_neigh_set_ifindex(neigh.get(), e.ifindex);
  // set_dst checks the address against the family set so far: the dst goes first, then the
  // family becomes AF_BRIDGE.
  if (e.dst) check_nl(rtnl_neigh_set_dst(neigh.get(), detail::to_nl_addr(*e.dst).get()), operation);
  rtnl_neigh_set_family(neigh.get(), AF_BRIDGE);
  rtnl_neigh_set_lladdr(neigh.get(), detail::to_nl_addr(e.mac).get());
  unsigned flags = 0;
  if (e.self) flags |= NTF_SELF;
  if (e.master) flags |= NTF_MASTER;
  if (flags != 0) rtnl_neigh_set_flags(neigh.get(), flags);
  rtnl_neigh_set_state(neigh.get(), fdb_nud_state(e.state));
  send(nl, neigh.get(), op, operation);
}

}  // namespace

void add_neighbour(const Netlink& nl, const Neighbour& neighbour) {
  apply(nl, neighbour, Op::kAdd);
}
void add_neighbour(const Netlink& nl, const FdbEntry& entry) { apply(nl, entry, Op::kAdd); }
void replace_neighbour(const Netlink& nl, const Neighbour& neighbour) {
  apply(nl, neighbour, Op::kReplace);
}
void replace_neighbour(const Netlink& nl, const FdbEntry& entry) { apply(nl, entry, Op::kReplace); }
void delete_neighbour(const Netlink& nl, const Neighbour& neighbour) {
  apply(nl, neighbour, Op::kDelete);
}
void delete_neighbour(const Netlink& nl, const FdbEntry& entry) { apply(nl, entry, Op::kDelete); }

std::vector<NeighbourInfo> list_neighbours(const Netlink& nl, int family,
                                           std::optional<int> ifindex) {
  NlCachePtr cache = nl.dump_neighbours();
  std::vector<NeighbourInfo> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    auto* neigh = reinterpret_cast<rtnl_neigh*>(obj);
    const int neigh_family = rtnl_neigh_get_family(neigh);
    if (neigh_family != AF_INET && neigh_family != AF_INET6) continue;
    if (family != AF_UNSPEC && neigh_family != family) continue;
    if (ifindex && rtnl_neigh_get_ifindex(neigh) != *ifindex) continue;
    const auto ip = detail::ip_from_nl_addr(rtnl_neigh_get_dst(neigh), neigh_family);
    if (!ip) continue;
    NeighbourInfo info;
    info.ifindex = rtnl_neigh_get_ifindex(neigh);
    info.ip = *ip;
    info.mac = detail::mac_from_nl_addr(rtnl_neigh_get_lladdr(neigh));
    info.state = static_cast<std::uint16_t>(rtnl_neigh_get_state(neigh));
    info.flags = static_cast<std::uint8_t>(rtnl_neigh_get_flags(neigh));
    result.push_back(std::move(info));
  }
  return result;
}

std::vector<FdbEntry> list_fdb_entries(const Netlink& nl, std::optional<int> ifindex) {
  // libnl's neighbour cache keys entries by (ifindex, lladdr), which would merge a vxlan MAC's
  // several remotes into one: read the AF_BRIDGE dump message by message instead.
  std::vector<FdbEntry> result;
  auto make_request = [] {
    detail::NlMsgPtr msg(check_alloc(nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP), "dump fdb"));
    ndmsg ndm{};
    ndm.ndm_family = AF_BRIDGE;
    check_nl(nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO), "dump fdb");
    return msg;
  };
  auto on_message = [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWNEIGH) return;
    rtnl_neigh* raw = nullptr;
    check_nl(rtnl_neigh_parse(hdr, &raw), "parse fdb entry");
    NeighPtr neigh(raw);
    if (rtnl_neigh_get_family(neigh.get()) != AF_BRIDGE) return;
    if (ifindex && rtnl_neigh_get_ifindex(neigh.get()) != *ifindex) return;
    const auto mac = detail::mac_from_nl_addr(rtnl_neigh_get_lladdr(neigh.get()));
    if (!mac) return;
    FdbEntry entry;
    entry.ifindex = rtnl_neigh_get_ifindex(neigh.get());
    entry.mac = *mac;
    if (nl_addr* dst = rtnl_neigh_get_dst(neigh.get())) entry.dst = detail::ip_from_nl_addr(dst);
    const unsigned flags = rtnl_neigh_get_flags(neigh.get());
    entry.self = (flags & NTF_SELF) != 0;
    // The bridge's own dump marks its entries with NDA_MASTER, not NTF_MASTER.
    entry.master = (flags & NTF_MASTER) != 0 || rtnl_neigh_get_master(neigh.get()) > 0;
    entry.state = fdb_state_from_nud(rtnl_neigh_get_state(neigh.get()));
    result.push_back(std::move(entry));
  };
  detail::dump_raw(
      nl, make_request, on_message, [&] { result.clear(); }, "fdb");
  return result;
}

}  // namespace netcore::net
