#pragma once

// Neighbour entries, through rtnetlink (libnl-route-3): static ARP (IPv4) / NDP (IPv6) entries,
// and bridge forwarding-database (FDB) entries, which the kernel keeps in the same table under
// AF_BRIDGE. Every function takes the Netlink socket of the namespace it acts on and is as
// thread-safe as that socket (one thread at a time).
// Errors: NetlinkError (kInternal) naming the entry: NLE_EXIST when an add finds the entry,
// NLE_OBJ_NOTFOUND (or NLE_NOADDR) when a delete does not, NLE_NODEV for a missing link, NLE_INVAL
// for what the device refuses (an FDB entry with NTF_SELF on a device without its own table).

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::net {

// A static ARP/NDP entry: `ip` is at `mac` on link `ifindex`. Value type.
struct Neighbour {
  int ifindex = 0;
  IpAddress ip;
  MacAddress mac;
  bool permanent = true;  // NUD_PERMANENT; false: NUD_REACHABLE (ages like a learnt entry)

  friend bool operator==(const Neighbour&, const Neighbour&) = default;
};

// The state keywords of `bridge fdb add`, with iproute2's encoding.
enum class FdbState {
  // NUD_PERMANENT|NUD_NOARP, iproute2's default. On a bridge (master) this is a *local* entry:
  // frames to the MAC terminate at the bridge itself. On a vxlan device: a fixed remote.
  kPermanent,
  // NUD_REACHABLE|NUD_NOARP: a static forwarding entry that never ages (bridge: "static").
  kStatic,
  // NUD_REACHABLE: an entry that ages out like a learnt one.
  kDynamic,
};

// A bridge FDB entry, like `bridge fdb add MAC dev DEV [dst IP] [self] [master] [STATE]`.
// Value type.
struct FdbEntry {
  int ifindex = 0;  // a bridge port, or a vxlan device
  MacAddress mac;
  std::optional<IpAddress> dst;  // vxlan: the remote VTEP for this MAC
  bool self = true;     // NTF_SELF: the device's own table (vxlan; a port's unicast filter)
  bool master = false;  // NTF_MASTER: the table of the bridge the port belongs to
  FdbState state = FdbState::kPermanent;

  friend bool operator==(const FdbEntry&, const FdbEntry&) = default;
};

// One ARP/NDP entry as the kernel reported it (static or learnt). Value type.
struct NeighbourInfo {
  int ifindex = 0;
  IpAddress ip;
  std::optional<MacAddress> mac;  // none while unresolved (NUD_INCOMPLETE, NUD_FAILED)
  std::uint16_t state = 0;        // NUD_*
  std::uint8_t flags = 0;         // NTF_*
};

// Adds the entry; NLE_EXIST if one for (ifindex, ip) or (ifindex, mac, dst) exists.
void add_neighbour(const Netlink& nl, const Neighbour& neighbour);
void add_neighbour(const Netlink& nl, const FdbEntry& entry);
// Adds the entry or overwrites the existing one.
void replace_neighbour(const Netlink& nl, const Neighbour& neighbour);
void replace_neighbour(const Netlink& nl, const FdbEntry& entry);
// Removes the entry for (ifindex, ip); mac and permanent are ignored.
void delete_neighbour(const Netlink& nl, const Neighbour& neighbour);
// Removes the entry for (ifindex, mac) with its self/master flags; with dst set, only that
// remote of a vxlan entry.
void delete_neighbour(const Netlink& nl, const FdbEntry& entry);

// The ARP (AF_INET) and/or NDP (AF_INET6) entries, all when family is AF_UNSPEC, optionally of
// one link. Throws NetlinkError.
[[nodiscard]] std::vector<NeighbourInfo> list_neighbours(const Netlink& nl, int family = AF_UNSPEC,
                                                         std::optional<int> ifindex = std::nullopt);
// The bridge FDB entries (AF_BRIDGE dump), optionally of one link: those of bridges, their ports
// (including the kernel's own permanent entries for the ports' addresses) and vxlan devices.
// `master` is set for the bridge's entries (NDA_MASTER), `self` for a device's own (NTF_SELF);
// state is kPermanent for NUD_PERMANENT, kStatic for NUD_NOARP, kDynamic otherwise. Throws
// NetlinkError.
[[nodiscard]] std::vector<FdbEntry> list_fdb_entries(const Netlink& nl,
                                                     std::optional<int> ifindex = std::nullopt);

}  // namespace netcore::net
