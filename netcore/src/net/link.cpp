#include "netcore/net/link.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <netlink/errno.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/base/undo.hpp"
#include "netcore/base/unique_fd.hpp"
#include "netlink_impl.hpp"

namespace netcore::net {
namespace {

using detail::check_alloc;
using detail::ifindex_text;

LinkInfo to_link_info(rtnl_link* link) {
  LinkInfo info;
  info.index = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) info.name = name;
  if (const char* kind = rtnl_link_get_type(link)) info.kind = kind;
  if (const char* slave = rtnl_link_get_slave_type(link)) info.slave_kind = slave;
  if (auto mac = detail::mac_from_nl_addr(rtnl_link_get_addr(link))) info.mac = *mac;
  info.mtu = rtnl_link_get_mtu(link);
  info.flags = rtnl_link_get_flags(link);
  info.up = (info.flags & IFF_UP) != 0;
  info.promisc = (info.flags & IFF_PROMISC) != 0;
  info.master_index = rtnl_link_get_master(link);
  info.link_index = rtnl_link_get_link(link);
  info.operstate = rtnl_link_get_operstate(link);
  info.txqlen = rtnl_link_get_txqlen(link);
  if (const char* alias = rtnl_link_get_ifalias(link)) info.alias = alias;
  return info;
}

// A random locally administered unicast MAC.
MacAddress random_local_mac() {
  std::random_device random;
  const std::uint64_t bits = (std::uint64_t{random()} << 32) | random();
  std::array<std::uint8_t, 6> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  bytes[0] = static_cast<std::uint8_t>((bytes[0] & 0xfe) | 0x02);
  return MacAddress(bytes);
}

LinkPtr alloc_link(std::string_view what) { return LinkPtr(check_alloc(rtnl_link_alloc(), what)); }

// Applies the common creation attributes.
void set_common(rtnl_link* link, const std::string& name, const std::optional<unsigned>& mtu,
                const std::optional<MacAddress>& mac) {
  rtnl_link_set_name(link, name.c_str());
  if (mtu) rtnl_link_set_mtu(link, *mtu);
  if (mac) rtnl_link_set_addr(link, detail::to_nl_addr(*mac).get());  // takes its own reference
}

// rtnl_link_add with NLM_F_EXCL; EEXIST becomes "OPERATION: link NAME already exists".
void add_link(const Netlink& nl, rtnl_link* link, const std::string& operation,
              const std::string& name) {
  const int err = rtnl_link_add(nl.sock(), link, NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST)
    throw NetlinkError(operation + ": link " + name + " already exists", NLE_EXIST);
  check_nl(err, operation);
}

// Sends `changes` for the link `index` (rtnl_link_change: RTM_NEWLINK, RTM_SETLINK fallback).
void change_link(const Netlink& nl, int index, rtnl_link* changes, const std::string& operation) {
  LinkPtr orig = alloc_link(operation);
  rtnl_link_set_ifindex(orig.get(), index);
  check_nl(rtnl_link_change(nl.sock(), orig.get(), changes, 0), operation);
}

template <class Fn>
void change_link(const Netlink& nl, int index, const std::string& operation, Fn&& fill) {
  log::debug("{}", operation);
  LinkPtr changes = alloc_link(operation);
  fill(changes.get());
  change_link(nl, index, changes.get(), operation);
}

std::optional<LinkInfo> find_link_impl(const Netlink& nl, int index, const char* name,
                                       const std::string& what) {
  rtnl_link* raw = nullptr;
  const int err = rtnl_link_get_kernel(nl.sock(), index, name, &raw);
  LinkPtr link(raw);
  if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) return std::nullopt;
  check_nl(err, "get link " + what);
  if (!link) return std::nullopt;
  return to_link_info(link.get());
}

// MACVLAN_MODE_* for the reference plugin's mode names.
std::uint32_t macvlan_mode(const std::string& mode, const std::string& operation) {
  if (mode == "bridge") return MACVLAN_MODE_BRIDGE;
  if (mode == "private") return MACVLAN_MODE_PRIVATE;
  if (mode == "vepa") return MACVLAN_MODE_VEPA;
  if (mode == "passthru") return MACVLAN_MODE_PASSTHRU;
  if (mode == "source") return MACVLAN_MODE_SOURCE;
  throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": unknown mode \"" + mode + "\"");
}

void tun_ioctl(int fd, unsigned long request, unsigned long arg, const std::string& what) {
  if (::ioctl(fd, request, arg) != 0) throw_errno(what);
}

}  // namespace

void validate_link_name(const std::string& name) { detail::validate_link_name(name); }

std::optional<LinkInfo> find_link(const Netlink& nl, const std::string& name) {
  validate_link_name(name);
  return find_link_impl(nl, 0, name.c_str(), name);
}

std::optional<LinkInfo> find_link(const Netlink& nl, int index) {
  if (index <= 0) return std::nullopt;
  return find_link_impl(nl, index, nullptr, ifindex_text(index));
}

LinkInfo get_link(const Netlink& nl, const std::string& name) {
  if (auto info = find_link(nl, name)) return *std::move(info);
  throw NetlinkError("get link " + name, NLE_NODEV);
}

LinkInfo get_link(const Netlink& nl, int index) {
  if (auto info = find_link(nl, index)) return *std::move(info);
  throw NetlinkError("get link " + ifindex_text(index), NLE_NODEV);
}

std::vector<LinkInfo> list_links(const Netlink& nl) {
  NlCachePtr cache = nl.dump_links();
  std::vector<LinkInfo> links;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    links.push_back(to_link_info(reinterpret_cast<rtnl_link*>(obj)));
  }
  std::sort(links.begin(), links.end(),
            [](const LinkInfo& a, const LinkInfo& b) { return a.index < b.index; });
  return links;
}

LinkInfo create_veth(const Netlink& nl, const VethSpec& spec) {
  validate_link_name(spec.name);
  validate_link_name(spec.peer_name);
  const std::string operation = "add veth " + spec.name;
  log::debug("add veth {} peer {} in netns {}", spec.name, spec.peer_name,
                spec.peer_netns ? spec.peer_netns->path().string() : std::string("(same)"));
  LinkPtr link(check_alloc(rtnl_link_veth_alloc(), operation));
  set_common(link.get(), spec.name, spec.mtu, spec.mac);
  {
    // rtnl_link_veth_get_peer takes a reference: this one is put at the end of the block.
    LinkPtr peer(check_alloc(rtnl_link_veth_get_peer(link.get()), operation));
    set_common(peer.get(), spec.peer_name, spec.mtu, spec.peer_mac);
    if (spec.peer_netns != nullptr) rtnl_link_set_ns_fd(peer.get(), spec.peer_netns->fd());
  }
  const int err = rtnl_link_add(nl.sock(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) {
    // Tell which name is taken: ours can be checked here; otherwise it is the peer's.
    const bool ours = find_link(nl, spec.name).has_value();
    throw NetlinkError(
        operation + ": link " + (ours ? spec.name : spec.peer_name) + " already exists", NLE_EXIST);
  }
  check_nl(err, operation);
  return get_link(nl, spec.name);
}

LinkInfo create_veth_with_random_name(const Netlink& nl, const std::string& prefix,
                                      VethSpec spec) {
  constexpr std::size_t kMaxName = 15, kMinDigits = 4;
  if (prefix.size() + kMinDigits > kMaxName)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "veth name prefix \"" + prefix + "\" is longer than " +
                    std::to_string(kMaxName - kMinDigits) + " bytes");
  static thread_local std::mt19937 rng(std::random_device{}());
  const std::size_t digits = std::min<std::size_t>(8, kMaxName - prefix.size());
  for (int attempt = 1;; ++attempt) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rng()));
    spec.name = prefix + std::string(hex, digits);
    try {
      return create_veth(nl, spec);
    } catch (const NetlinkError& e) {
      // Another link has the random name (or the peer's name is taken, which the caller should
      // have ruled out): draw again.
      if (e.nl_error() != NLE_EXIST || attempt == 10) throw;
    }
  }
}

LinkInfo ensure_bridge(const Netlink& nl, const BridgeSpec& spec, bool* created) {
  validate_link_name(spec.name);
  const std::string operation = "ensure bridge " + spec.name;
  if (created != nullptr) *created = false;
  auto bridge = find_link(nl, spec.name);
  if (!bridge) {
    log::debug("add bridge {}", spec.name);
    LinkPtr link(check_alloc(rtnl_link_bridge_alloc(), operation));
    set_common(link.get(), spec.name, spec.mtu,
               spec.mac || !spec.fixed_mac ? spec.mac : random_local_mac());
    const int err = rtnl_link_add(nl.sock(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
    // EEXIST: someone else created it since we looked; the kind check below decides.
    if (err != -NLE_EXIST) check_nl(err, "add bridge " + spec.name);
    if (err == 0 && created != nullptr) *created = true;
    bridge = get_link(nl, spec.name);
  }
  if (bridge->kind != "bridge") {
    throw Error(ErrorCode::kInternal,
                operation + ": link " + spec.name + " already exists but is not a bridge" +
                    (bridge->kind.empty() ? std::string() : " (kind " + bridge->kind + ")"));
  }
  const bool set_promisc_now = spec.promisc && !bridge->promisc;
  if (set_promisc_now) set_promisc(nl, bridge->index, true);
  if (!bridge->up) set_up(nl, bridge->index);
  // An existing bridge that needed nothing is returned as read: one round trip on the hot path.
  if (!set_promisc_now && bridge->up) return *std::move(bridge);
  return get_link(nl, bridge->index);
}

void set_master(const Netlink& nl, int index, int master_index) {
  change_link(nl, index,
              "set master of " + ifindex_text(index) + " to " + std::to_string(master_index),
              [&](rtnl_link* c) { rtnl_link_set_master(c, master_index); });
}

void set_nomaster(const Netlink& nl, int index) {
  change_link(nl, index, "set nomaster " + ifindex_text(index),
              [](rtnl_link* c) { rtnl_link_set_master(c, 0); });
}

void set_up(const Netlink& nl, int index) {
  change_link(nl, index, "set up " + ifindex_text(index),
              [](rtnl_link* c) { rtnl_link_set_flags(c, IFF_UP); });
}

void set_down(const Netlink& nl, int index) {
  change_link(nl, index, "set down " + ifindex_text(index),
              [](rtnl_link* c) { rtnl_link_unset_flags(c, IFF_UP); });
}

void set_mtu(const Netlink& nl, int index, unsigned mtu) {
  change_link(nl, index, "set mtu " + std::to_string(mtu) + " on " + ifindex_text(index),
              [&](rtnl_link* c) { rtnl_link_set_mtu(c, mtu); });
}

void set_mac(const Netlink& nl, int index, const MacAddress& mac) {
  change_link(nl, index, "set mac " + mac.to_string() + " on " + ifindex_text(index),
              [&](rtnl_link* c) { rtnl_link_set_addr(c, detail::to_nl_addr(mac).get()); });
}

void set_promisc(const Netlink& nl, int index, bool on) {
  change_link(nl, index, std::string("set promisc ") + (on ? "on " : "off ") + ifindex_text(index),
              [&](rtnl_link* c) {
                if (on) {
                  rtnl_link_set_flags(c, IFF_PROMISC);
                } else {
                  rtnl_link_unset_flags(c, IFF_PROMISC);
                }
              });
}

void set_alias(const Netlink& nl, int index, const std::string& alias) {
  if (alias.size() > IFALIASZ - 1)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "set alias of " + ifindex_text(index) + ": longer than 255 bytes");
  change_link(nl, index, "set alias of " + ifindex_text(index),
              [&](rtnl_link* c) { rtnl_link_set_ifalias(c, alias.c_str()); });
}

void rename_link(const Netlink& nl, int index, const std::string& new_name) {
  validate_link_name(new_name);
  change_link(nl, index, "rename " + ifindex_text(index) + " to " + new_name,
              [&](rtnl_link* c) { rtnl_link_set_name(c, new_name.c_str()); });
}

void move_to_netns(const Netlink& nl, int index, const Netns& netns) {
  change_link(nl, index, "move " + ifindex_text(index) + " to netns " + netns.path().string(),
              [&](rtnl_link* c) { rtnl_link_set_ns_fd(c, netns.fd()); });
}

void set_allmulti(const Netlink& nl, int index, bool on) {
  change_link(nl, index, std::string("set allmulti ") + (on ? "on " : "off ") + ifindex_text(index),
              [&](rtnl_link* c) {
                if (on) {
                  rtnl_link_set_flags(c, IFF_ALLMULTI);
                } else {
                  rtnl_link_unset_flags(c, IFF_ALLMULTI);
                }
              });
}

void set_txqlen(const Netlink& nl, int index, unsigned txqlen) {
  change_link(nl, index, "set txqlen " + std::to_string(txqlen) + " on " + ifindex_text(index),
              [&](rtnl_link* c) { rtnl_link_set_txqlen(c, txqlen); });
}

void delete_link(const Netlink& nl, int index) {
  const std::string operation = "delete link " + ifindex_text(index);
  log::debug("{}", operation);
  LinkPtr link = alloc_link(operation);
  rtnl_link_set_ifindex(link.get(), index);
  check_nl(rtnl_link_delete(nl.sock(), link.get()), operation);
}

bool delete_link_if_exists(const Netlink& nl, const std::string& name) {
  validate_link_name(name);
  const std::string operation = "delete link " + name;
  log::debug("{}", operation);
  LinkPtr link = alloc_link(operation);
  rtnl_link_set_name(link.get(), name.c_str());
  const int err = rtnl_link_delete(nl.sock(), link.get());
  if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
    log::debug("{}: no such link, ignoring", operation);
    return false;
  }
  check_nl(err, operation);
  return true;
}

LinkInfo create_tap(const Netns& netns, const TapSpec& spec) {
  validate_link_name(spec.name);
  const std::string operation = "create tap " + spec.name;
  log::debug("create tap {} in netns {}", spec.name, netns.path().string());
  // Inside the namespace: only the tun fd and the namespace's netlink socket. Until
  // TUNSETPERSIST the device dies with the fd, so a failure there leaves nothing behind.
  Netlink nl = netns.run([&] {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) throw_errno(operation + ": open /dev/net/tun");
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, spec.name.data(), spec.name.size());
    // IFF_TUN_EXCL: fail with EBUSY instead of attaching to an existing device of that name.
    ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL |
                                       (spec.multi_queue ? IFF_MULTI_QUEUE : 0));
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
      if (errno == EBUSY)
        throw SysError(operation + ": link " + spec.name + " already exists", EEXIST);
      throw_errno(operation);
    }
    if (spec.owner) tun_ioctl(fd.get(), TUNSETOWNER, *spec.owner, operation + ": set owner");
    if (spec.group) tun_ioctl(fd.get(), TUNSETGROUP, *spec.group, operation + ": set group");
    tun_ioctl(fd.get(), TUNSETPERSIST, 1, operation + ": set persistent");
    try {
      return Netlink::connect();
    } catch (...) {
      ::ioctl(fd.get(), TUNSETPERSIST, 0);  // the device goes with the fd
      throw;
    }
  });
  Undo undo;
  const LinkInfo created = get_link(nl, spec.name);
  undo.push([&nl, index = created.index] { delete_link(nl, index); });
  if (spec.mtu) set_mtu(nl, created.index, *spec.mtu);
  if (spec.mac) set_mac(nl, created.index, *spec.mac);
  set_up(nl, created.index);
  LinkInfo info = get_link(nl, created.index);
  undo.commit();
  return info;
}

void create_macvlan(const Netlink& nl, const MacvlanSpec& spec) {
  validate_link_name(spec.name);
  const std::string operation = "add macvlan " + spec.name;
  const std::uint32_t mode = macvlan_mode(spec.mode, operation);
  log::debug("add macvlan {} on {} mode {} in netns {}", spec.name,
                ifindex_text(spec.master_index), spec.mode,
                spec.target ? spec.target->path().string() : std::string("(same)"));
  LinkPtr link(check_alloc(rtnl_link_macvlan_alloc(), operation));
  set_common(link.get(), spec.name, spec.mtu, spec.mac);
  rtnl_link_set_link(link.get(), spec.master_index);
  check_nl(rtnl_link_macvlan_set_mode(link.get(), mode), operation);
  if (spec.target != nullptr) rtnl_link_set_ns_fd(link.get(), spec.target->fd());
  add_link(nl, link.get(), operation, spec.name);
}

LinkInfo create_vxlan(const Netlink& nl, const VxlanSpec& spec) {
  validate_link_name(spec.name);
  const std::string operation = "add vxlan " + spec.name;
  log::debug("add vxlan {} vni {} port {}", spec.name, spec.vni, spec.port);
  LinkPtr link(check_alloc(rtnl_link_vxlan_alloc(), operation));
  set_common(link.get(), spec.name, spec.mtu, spec.mac);
  check_nl(rtnl_link_vxlan_set_id(link.get(), spec.vni), operation);
  if (spec.local)
    check_nl(rtnl_link_vxlan_set_local(link.get(), detail::to_nl_addr(*spec.local).get()),
             operation);
  if (spec.remote)
    check_nl(rtnl_link_vxlan_set_group(link.get(), detail::to_nl_addr(*spec.remote).get()),
             operation);
  check_nl(rtnl_link_vxlan_set_port(link.get(), spec.port), operation);
  if (spec.underlay_index)
    check_nl(rtnl_link_vxlan_set_link(link.get(), static_cast<std::uint32_t>(*spec.underlay_index)),
             operation);
  check_nl(rtnl_link_vxlan_set_learning(link.get(), spec.learning ? 1 : 0), operation);
  add_link(nl, link.get(), operation, spec.name);
  return get_link(nl, spec.name);
}

LinkInfo create_ifb(const Netlink& nl, const std::string& name) {
  validate_link_name(name);
  const std::string operation = "add ifb " + name;
  log::debug("{}", operation);
  LinkPtr link = alloc_link(operation);
  rtnl_link_set_name(link.get(), name.c_str());
  check_nl(rtnl_link_set_type(link.get(), "ifb"), operation);
  add_link(nl, link.get(), operation, name);
  return get_link(nl, name);
}

void set_bridge_port(const Netlink& nl, int index, const BridgePortFlags& flags) {
  const std::string operation = "set bridge port flags on " + ifindex_text(index);
  log::debug("{}", operation);
  // libnl 3.7's rtnl_link_bridge_* know no isolated flag, so the whole request is built here:
  // what `bridge link set dev X hairpin on isolated on learning off` sends.
  detail::NlMsgPtr msg(
      check_alloc(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK), operation));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  check_nl(nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), operation);
  nlattr* protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (protinfo == nullptr) throw NetlinkError(operation, NLE_MSGSIZE);
  auto put = [&](int attr, const std::optional<bool>& value) {
    if (value) check_nl(nla_put_u8(msg.get(), attr, *value ? 1 : 0), operation);
  };
  put(IFLA_BRPORT_MODE, flags.hairpin);
  put(IFLA_BRPORT_ISOLATED, flags.isolated);
  put(IFLA_BRPORT_LEARNING, flags.learning);
  check_nl(nla_nest_end(msg.get(), protinfo), operation);
  detail::send_sync(nl, std::move(msg), operation);
}

}  // namespace netcore::net
