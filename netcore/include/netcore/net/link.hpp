#pragma once

// Links (network interfaces) of one network namespace, through rtnetlink (libnl-route-3).
//
// Every function takes the Netlink socket of the namespace it acts on (see netlink.hpp) and is
// as thread-safe as that socket: use one socket from one thread at a time. Functions that only
// know a link by index name it as "ifindex N" in their messages.
//
// Errors: Error(kInvalidNetworkConfig) for a link name the kernel would reject (empty, longer
// than 15 bytes, ".", "..", or containing '/', ':' or whitespace) or another invalid argument;
// NetlinkError (kInternal, nl_error() = NLE_*) for what the kernel refuses. A missing link is
// NLE_NODEV, a name taken by another link NLE_EXIST; the messages of the create_* functions then
// say "link NAME already exists".

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"

namespace netcore::net {

// One link as the kernel reported it at the time of the call. Value type.
struct LinkInfo {
  int index = 0;
  std::string name;
  // IFLA_INFO_KIND: "veth", "bridge", "tun" (tun and tap), "macvlan", "vxlan", "ifb", ...; empty
  // for loopback and physical devices.
  std::string kind;
  // IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port; empty when the link has no master.
  std::string slave_kind;
  MacAddress mac;  // all zero when the link has no 6-byte hardware address
  unsigned mtu = 0;
  bool up = false;       // IFF_UP: administratively up (see operstate for the carrier)
  bool promisc = false;  // IFF_PROMISC as requested by set_promisc (not a bridge's own count)
  int master_index = 0;  // the bridge (or other master) this link is enslaved to; 0 = none
  // IFLA_LINK: a veth's peer, a macvlan's lower device, a vxlan's underlay; 0 = none. The index
  // may belong to another namespace (a veth peer elsewhere).
  int link_index = 0;
  std::uint8_t operstate = 0;  // IF_OPER_* (IF_OPER_UP, IF_OPER_DOWN, IF_OPER_UNKNOWN, ...)
  unsigned flags = 0;          // IFF_* as in ifinfomsg
  unsigned txqlen = 0;
  std::string alias;  // IFLA_IFALIAS ("ip link set X alias ..."); empty when unset
};

// Throws Error(kInvalidNetworkConfig, "invalid link name \"NAME\"") unless the kernel would
// accept `name` (1-15 bytes, not "." or "..", no '/', ':', NUL or whitespace).
void validate_link_name(const std::string& name);

// Looks a link up by name or index; nullopt when there is no such link (NLE_NODEV).
// Throws Error(kInvalidNetworkConfig) for an invalid name, NetlinkError for other failures.
[[nodiscard]] std::optional<LinkInfo> find_link(const Netlink& nl, const std::string& name);
[[nodiscard]] std::optional<LinkInfo> find_link(const Netlink& nl, int index);
// Like find_link, but a missing link is NetlinkError(NLE_NODEV) "get link NAME: ...".
[[nodiscard]] LinkInfo get_link(const Netlink& nl, const std::string& name);
[[nodiscard]] LinkInfo get_link(const Netlink& nl, int index);
// Every link of the namespace, in ifindex order. Throws NetlinkError.
[[nodiscard]] std::vector<LinkInfo> list_links(const Netlink& nl);

// A veth pair: `name` in the socket's namespace, `peer_name` in `peer_netns` (created there
// directly, never moved), or in the same namespace when peer_netns is null. Both ends stay down.
struct VethSpec {
  std::string name;
  std::string peer_name;
  const Netns* peer_netns = nullptr;  // borrowed; only used during the call
  std::optional<unsigned> mtu;        // both ends
  std::optional<MacAddress> mac;
  std::optional<MacAddress> peer_mac;
};
// Returns the end named spec.name. Throws NetlinkError: NLE_EXIST if either name is taken
// ("add veth NAME: link X already exists: ..."); Error(kInvalidNetworkConfig) for bad names.
LinkInfo create_veth(const Netlink& nl, const VethSpec& spec);
// create_veth with spec.name replaced by `prefix` and random hex digits (8, or as many as fit in
// 15 bytes), like the reference's "veth%08x"; a taken name is retried with another, 10 times in
// all. Throws Error(kInvalidNetworkConfig) when `prefix` leaves room for fewer than 4 digits
// (more than 11 bytes), and what create_veth throws.
LinkInfo create_veth_with_random_name(const Netlink& nl, const std::string& prefix,
                                      VethSpec spec);

struct BridgeSpec {
  std::string name;
  std::optional<unsigned> mtu;    // only applied when the bridge is created
  std::optional<MacAddress> mac;  // only applied when the bridge is created
  // Without `mac`, give a created bridge a random locally administered MAC rather than none: a
  // bridge whose MAC was never set takes its lowest port's, which changes as ports come and go.
  bool fixed_mac = false;
  bool promisc = false;           // true turns promiscuous mode on; false leaves it as it is
};
// Idempotent: creates the bridge unless a bridge of that name exists (another creator racing us
// is fine), applies promisc and sets it up. Throws Error(kInternal) "ensure bridge NAME: link
// NAME already exists but is not a bridge" when the name belongs to another kind of link;
// NetlinkError otherwise. `created`, when given, is set to whether this call made the bridge.
LinkInfo ensure_bridge(const Netlink& nl, const BridgeSpec& spec, bool* created = nullptr);

// Single-attribute changes (RTM_NEWLINK on an existing ifindex). All throw NetlinkError naming the
// operation and the ifindex: NLE_NODEV for a missing link; set_master with a master that is not
// a bridge fails as the kernel decides (NLE_OPNOTSUPP, NLE_INVAL).
void set_master(const Netlink& nl, int index, int master_index);
void set_nomaster(const Netlink& nl, int index);
void set_up(const Netlink& nl, int index);
void set_down(const Netlink& nl, int index);
void set_mtu(const Netlink& nl, int index, unsigned mtu);
void set_mac(const Netlink& nl, int index, const MacAddress& mac);
void set_promisc(const Netlink& nl, int index, bool on);
// NLE_EXIST if the name is taken; kernels before 6.x also refuse to rename an up link (NLE_BUSY).
// Throws Error(kInvalidNetworkConfig) for an invalid new name.
void rename_link(const Netlink& nl, int index, const std::string& new_name);
// Moves the link into `netns` (it leaves the socket's namespace; its index may change there).
// NLE_EXIST when the name is taken in `netns`.
void move_to_netns(const Netlink& nl, int index, const Netns& netns);

// Deletes a link (a veth takes its peer with it). NetlinkError(NLE_NODEV) if it does not exist.
void delete_link(const Netlink& nl, int index);
// Deletes the link called `name`; false if there was none. The only deletion that tolerates
// "already gone". Throws NetlinkError for other failures, Error for an invalid name.
[[nodiscard]] bool delete_link_if_exists(const Netlink& nl, const std::string& name);

// A persistent tap device in `netns`. tun/tap devices cannot be created through rtnetlink, so
// /dev/net/tun is opened inside the namespace (Netns::run); the device persists after that fd is
// closed. mtu and mac are then set through netlink, and the link is set up.
struct TapSpec {
  std::string name;
  std::optional<uid_t> owner;  // TUNSETOWNER: this user may attach without CAP_NET_ADMIN
  std::optional<gid_t> group;  // TUNSETGROUP
  bool multi_queue = false;    // IFF_MULTI_QUEUE
  std::optional<unsigned> mtu;
  std::optional<MacAddress> mac;
};
// Returns the tap as seen in `netns`. Throws SysError(EEXIST) "create tap NAME: link NAME
// already exists: ..." when the name is taken, SysError for other ioctl failures, NetlinkError
// if configuring fails (the device is deleted again). Safe to call from any thread.
LinkInfo create_tap(const Netns& netns, const TapSpec& spec);

struct MacvlanSpec {
  std::string name;
  int master_index = 0;         // the lower device, in the socket's namespace
  std::string mode = "bridge";  // "bridge", "private", "vepa", "passthru" or "source"
  std::optional<unsigned> mtu;
  std::optional<MacAddress> mac;
  const Netns* target = nullptr;  // created directly in this namespace; null = the socket's
};
// Creates the macvlan (down). It is not looked up afterwards, since it may live in another
// namespace: use find_link with that namespace's socket. Throws Error(kInvalidNetworkConfig)
// for an unknown mode, NetlinkError (NLE_EXIST, NLE_NODEV for a missing master, ...).
void create_macvlan(const Netlink& nl, const MacvlanSpec& spec);

struct VxlanSpec {
  std::string name;
  std::uint32_t vni = 0;
  std::optional<IpAddress> local;
  // The unicast remote VTEP or the multicast group (both IFLA_VXLAN_GROUP/GROUP6); a group needs
  // underlay_index.
  std::optional<IpAddress> remote;
  std::uint16_t port = 4789;  // UDP destination port
  std::optional<int> underlay_index;
  bool learning = true;
  std::optional<unsigned> mtu;
  std::optional<MacAddress> mac;
};
// Creates the vxlan device (down) and returns it. Throws NetlinkError (NLE_EXIST, ...).
LinkInfo create_vxlan(const Netlink& nl, const VxlanSpec& spec);

// Creates an ifb (intermediate functional block) device, down. Throws NetlinkError.
LinkInfo create_ifb(const Netlink& nl, const std::string& name);

// Bridge port options; nullopt leaves the option as it is.
struct BridgePortFlags {
  std::optional<bool> hairpin;   // IFLA_BRPORT_MODE: send frames back out of the port they came in
  std::optional<bool> isolated;  // IFLA_BRPORT_ISOLATED: no traffic to other isolated ports
  std::optional<bool> learning;  // IFLA_BRPORT_LEARNING: learn source MACs on this port
};
// Applies the flags to the bridge port `index` in one RTM_SETLINK (AF_BRIDGE, IFLA_PROTINFO).
// Throws NetlinkError: NLE_OPNOTSUPP when the link is not a bridge port, NLE_NODEV if missing.
void set_bridge_port(const Netlink& nl, int index, const BridgePortFlags& flags);

// --- Link alias (IFLA_IFALIAS), used by host-device to remember a moved link's own name. ---
// Sets the alias of link `index`; "" clears it. Throws NetlinkError (NLE_NODEV for a missing
// link) and Error(kInvalidNetworkConfig) for an alias longer than IFALIASZ - 1 (255) bytes.
void set_alias(const Netlink& nl, int index, const std::string& alias);

}  // namespace netcore::net
