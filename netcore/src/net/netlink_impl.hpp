#pragma once

// Helpers shared by the netcore::net sources: conversions between our value types and libnl
// objects, name checks and a raw dump for what libnl's caches cannot express. Private to
// netcore_net.

#include <netlink/addr.h>
#include <netlink/msg.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "netcore/base/c_deleter.hpp"
#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::net::detail {

using NlMsgPtr = std::unique_ptr<nl_msg, CDeleter<nlmsg_free>>;
using NlCbPtr = std::unique_ptr<nl_cb, CDeleter<nl_cb_put>>;

[[noreturn]] void throw_out_of_memory(std::string_view what);

// Throws Error(kInternal) "<what>: out of memory" if `p` is null; returns `p` otherwise.
template <class T>
T* check_alloc(T* p, std::string_view what) {
  if (p == nullptr) throw_out_of_memory(what);
  return p;
}

// A new nl_addr holding `ip`, with `prefixlen` (default: the family's full width).
[[nodiscard]] NlAddrPtr to_nl_addr(const IpAddress& ip, std::optional<unsigned> prefixlen = {});
// A new AF_LLC nl_addr holding `mac`.
[[nodiscard]] NlAddrPtr to_nl_addr(const MacAddress& mac);

// The IP address in `addr` (borrowed). An empty address of family AF_INET/AF_INET6 (libnl's
// "0/0") is the family's zero address; anything else that is not 4 or 16 bytes is nullopt.
[[nodiscard]] std::optional<IpAddress> ip_from_nl_addr(nl_addr* addr, int family = AF_UNSPEC);
// The MAC address in `addr` (borrowed), or nullopt unless it holds exactly 6 bytes.
[[nodiscard]] std::optional<MacAddress> mac_from_nl_addr(nl_addr* addr);

// "ifindex N", how messages name a link we only know by index.
[[nodiscard]] std::string ifindex_text(int ifindex);

// Throws Error(kInvalidNetworkConfig) unless `name` is a valid interface name by the kernel's
// rules (dev_valid_name: 1..15 bytes, not "." or "..", no '/', ':' or whitespace). libnl
// truncates long names silently, so every name is checked before it reaches libnl.
void validate_link_name(const std::string& name);

// Sends `msg` (taking it) and waits for the kernel's ACK. Throws NetlinkError naming `operation`.
void send_sync(const Netlink& nl, NlMsgPtr msg, const std::string& operation);

// Sends the dump request `msg` (taking it) and calls on_message for every reply. A dump the
// kernel interrupted (NLM_F_DUMP_INTR) is restarted, at most 5 times, after on_restart().
// on_message may throw; the exception propagates once the socket is drained. Throws
// NetlinkError naming `what`.
void dump_raw(const Netlink& nl, const std::function<NlMsgPtr()>& make_request,
              const std::function<void(nlmsghdr*)>& on_message,
              const std::function<void()>& on_restart, const std::string& what);

}  // namespace netcore::net::detail
