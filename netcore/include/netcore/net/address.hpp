#pragma once

// IP addresses of links, through rtnetlink (libnl-route-3). Every function takes the Netlink
// socket of the namespace it acts on and is as thread-safe as that socket (one thread at a time).
// Errors: NetlinkError (kInternal) naming the address and ifindex: NLE_EXIST when add_address
// finds the address already there, NLE_NOADDR when delete_address does not, NLE_NODEV for a
// missing link.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::net {

// One address as the kernel reported it. Value type.
struct AddressInfo {
  Prefix prefix;  // the interface address with its prefix length ("10.1.0.5/24")
  int ifindex = 0;
  int scope = 0;       // RT_SCOPE_* (universe, link, host)
  unsigned flags = 0;  // IFA_F_* (IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_TENTATIVE, ...)
  std::optional<IpAddress> broadcast;  // IPv4 only, when set
  std::string label;                   // IPv4 only ("eth0", "eth0:1")
};

struct AddressOptions {
  bool nodad = false;          // IFA_F_NODAD (IPv6): usable at once, no duplicate detection
  bool noprefixroute = false;  // IFA_F_NOPREFIXROUTE: no route to the prefix is added
  // RT_SCOPE_*; unset: host for 127.0.0.0/8, universe otherwise (as `ip addr add` does).
  std::optional<std::uint8_t> scope;
};

// Adds `prefix` to the link. IPv4 addresses of prefix length <= 30 get the broadcast address of
// their subnet, like `ip addr add ... brd +`. NLE_EXIST if the link already has the address.
void add_address(const Netlink& nl, int ifindex, const Prefix& prefix,
                 const AddressOptions& options = {});
// Like add_address, but an existing address is updated (flags, scope) instead of refused.
void replace_address(const Netlink& nl, int ifindex, const Prefix& prefix,
                     const AddressOptions& options = {});
// Removes `prefix` (address and length must match). NLE_NOADDR if the link has no such address.
void delete_address(const Netlink& nl, int ifindex, const Prefix& prefix);

// The namespace's addresses: of one link if `ifindex` is set, of one family if `family` is
// AF_INET or AF_INET6 (AF_UNSPEC: both). Sorted by ifindex, then in kernel order. Throws
// NetlinkError.
[[nodiscard]] std::vector<AddressInfo> list_addresses(const Netlink& nl,
                                                      std::optional<int> ifindex = std::nullopt,
                                                      int family = AF_UNSPEC);

}  // namespace netcore::net
