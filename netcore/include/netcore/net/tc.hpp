#pragma once

// Traffic control (tc) through rtnetlink (libnl-route-3): a token bucket filter (tbf) as a
// link's root qdisc, the ingress qdisc, and a u32 match-all filter on it whose mirred action
// redirects every packet to another link (an ifb), plus reading all of it back. Kernel terms
// only: ifindexes, rates in bytes per second, sizes in bytes, the tbf bucket in psched ticks.
//
// Every function takes the Netlink socket of the namespace it acts on (see netlink.hpp) and is
// as thread-safe as that socket: one socket from one thread at a time.
//
// Errors: NetlinkError (kInternal, nl_error() = NLE_*) for what the kernel refuses: NLE_NODEV
// for a missing link, NLE_EXIST when the qdisc or filter is already there.
// Error(kInvalidNetworkConfig) for a tbf value of 0 or one libnl 3.7 cannot carry (above
// kMaxTbfValue: it passes them as int); callers validate their configuration first.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/netlink.hpp"

namespace netcore::net {

// libnl 3.7 passes tbf rates, buckets and limits as `int`: the largest value it can carry.
inline constexpr std::uint64_t kMaxTbfValue = 0x7fffffff;

// The tbf of `tc qdisc add dev X root tbf rate R burst B limit L`.
struct TbfSpec {
  std::uint64_t rate = 0;   // bytes per second, 1..kMaxTbfValue
  std::uint64_t burst = 0;  // bytes the bucket holds, 1..kMaxTbfValue
  std::uint64_t limit = 0;  // bytes that may queue waiting for tokens, 1..kMaxTbfValue
};

// tc's "latency" form: a tbf at `rate` bytes/s with a bucket of `burst` bytes whose queue holds
// what arrives in `latency_us` microseconds at the rate (truncated, as the reference bandwidth
// plugin computes it), plus the bucket.
[[nodiscard]] TbfSpec tbf_with_latency(std::uint64_t rate, std::uint64_t burst,
                                       std::uint64_t latency_us);

// A tbf as the kernel reports it (TCA_TBF_PARMS, TCA_TBF_RATE64).
struct TbfInfo {
  std::uint64_t rate = 0;    // bytes per second
  std::uint32_t buffer = 0;  // the bucket, in psched ticks (what the kernel stores)
  std::uint32_t limit = 0;   // bytes
  friend bool operator==(const TbfInfo&, const TbfInfo&) = default;
};

struct QdiscInfo {
  int ifindex = 0;
  std::uint32_t handle = 0;    // major:minor as one number (0x00010000 = "1:")
  std::uint32_t parent = 0;    // TC_H_ROOT, TC_H_INGRESS or a class
  std::string kind;            // "tbf", "ingress", "noqueue", "pfifo_fast", ...
  std::optional<TbfInfo> tbf;  // set when kind == "tbf"
};

struct FilterInfo {
  std::string kind;  // "u32", ...
  std::uint32_t priority = 0;
  std::uint16_t protocol = 0;  // host byte order (ETH_P_ALL = 3)
  // The ifindex a mirred egress-redirect action of the filter sends packets to; 0 = none.
  int redirect_ifindex = 0;
};

// The bucket of `burst` bytes at `rate` bytes/s in the kernel's psched ticks, as libnl sends it
// (and as the kernel reports it back). Reads /proc/net/psched once (libnl caches it).
[[nodiscard]] std::uint32_t tbf_buffer_ticks(std::uint64_t rate, std::uint64_t burst);

// Adds a tbf as the root qdisc of `ifindex` (handle 1:). NLE_EXIST when the link already has a
// root qdisc other than the default one. Throws Error(kInvalidNetworkConfig) for a zero or too
// large value in `spec`.
void add_root_tbf(const Netlink& nl, int ifindex, const TbfSpec& spec);
// Adds the ingress qdisc (ffff:) to `ifindex`. NLE_EXIST when it has one.
void add_ingress_qdisc(const Netlink& nl, int ifindex);
// Adds to the ingress qdisc of `ifindex` a u32 filter (priority 1, every protocol) that matches
// every packet and redirects it, with a mirred egress-redirect action, to `target_ifindex`.
void add_redirect_filter(const Netlink& nl, int ifindex, int target_ifindex);

// The qdiscs of `ifindex` (every qdisc of the namespace when ifindex is 0). Throws NetlinkError.
[[nodiscard]] std::vector<QdiscInfo> list_qdiscs(const Netlink& nl, int ifindex = 0);
// The filters attached to `parent` (e.g. TC_H_INGRESS's ffff:0) of `ifindex`. NLE_NODEV when the
// link is missing; an empty list when the link has no such qdisc.
[[nodiscard]] std::vector<FilterInfo> list_filters(const Netlink& nl, int ifindex,
                                                   std::uint32_t parent);

// Deletes the qdisc at `parent` (TC_H_ROOT or TC_H_INGRESS) of `ifindex`; false when there was
// none to delete (the default root qdisc cannot be deleted and also gives false).
[[nodiscard]] bool delete_qdisc_if_exists(const Netlink& nl, int ifindex, std::uint32_t parent);

}  // namespace netcore::net
