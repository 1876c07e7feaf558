#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"

namespace netcore::ipam {

// One pool of addresses: [range_start, range_end] inside `subnet`, minus `gateway`.
// Built only through make(), so every Range is canonical and valid. Value type.
struct Range {
  net::Prefix subnet;  // network address (host bits clear)
  net::IpAddress range_start;
  net::IpAddress range_end;
  net::IpAddress gateway;

  // Canonicalizes like the reference host-local: the subnet must be a network address (no host
  // bits) and leave
  // at least two addresses (/30 for IPv4, /126 for IPv6); range_start defaults to the subnet's
  // first address after the network address, range_end to its last address (for IPv4 the one
  // before the broadcast address), gateway to the first address after the network address.
  // The IPv4 network and broadcast addresses can never be allocated.
  // Throws Error(kInvalidNetworkConfig) naming the offending key and value.
  [[nodiscard]] static Range make(const net::Prefix& subnet,
                                  const std::optional<net::IpAddress>& range_start,
                                  const std::optional<net::IpAddress>& range_end,
                                  const std::optional<net::IpAddress>& gateway);

  [[nodiscard]] bool is_v4() const noexcept { return subnet.is_v4(); }
  // True when `ip` lies in [range_start, range_end] (the gateway included).
  [[nodiscard]] bool contains(const net::IpAddress& ip) const noexcept;
  [[nodiscard]] bool overlaps(const Range& other) const noexcept;
  // Addresses that can be handed out: the range minus the gateway when it lies inside.
  [[nodiscard]] double capacity() const noexcept;
  // "10.1.0.2-10.1.0.254", the reference's notation.
  [[nodiscard]] std::string to_string() const;
};

// Several disjoint ranges of one family, tried in order: one address comes from a range set.
class RangeSet final {
 public:
  // Throws Error(kInvalidNetworkConfig) if `ranges` is empty, mixes families, or overlaps.
  explicit RangeSet(std::vector<Range> ranges);

  [[nodiscard]] const std::vector<Range>& ranges() const noexcept { return ranges_; }
  [[nodiscard]] bool is_v4() const noexcept { return ranges_.front().is_v4(); }
  [[nodiscard]] bool contains(const net::IpAddress& ip) const noexcept;
  // The range holding `ip`, or nullptr.
  [[nodiscard]] const Range* find_range(const net::IpAddress& ip) const noexcept;
  [[nodiscard]] bool overlaps(const RangeSet& other) const noexcept;
  [[nodiscard]] double capacity() const noexcept;
  // "10.1.0.2-10.1.0.254,10.2.0.2-10.2.0.254"
  [[nodiscard]] std::string to_string() const;

 private:
  std::vector<Range> ranges_;
};

// Throws Error(kInvalidNetworkConfig) "range set I overlaps with J" if two sets share an address.
void check_disjoint(const std::vector<RangeSet>& sets);

}  // namespace netcore::ipam
