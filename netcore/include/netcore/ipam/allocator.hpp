#pragma once

#include <cstddef>
#include <optional>

#include "netcore/ipam/range.hpp"
#include "netcore/ipam/store.hpp"

namespace netcore::ipam {

struct Allocation {
  net::Prefix address;      // the address with its subnet's prefix length
  net::IpAddress gateway;
};

// Hands out addresses of one range set, round-robin like the reference host-local: the search
// starts after the set's last reserved address, so a released address is reused only after the
// whole set was gone through. Not thread-safe; the store's lock serialises processes.
class Allocator final {
 public:
  Allocator(const RangeSet& set, Store& store, std::size_t index)
      : set_(set), store_(store), index_(index) {}

  // Reserves `requested` if given, else the next free address.
  // Throws Error(kInvalidNetworkConfig) if `requested` lies outside the set or is its gateway,
  // Error(kInternal) if it is taken, if `owner` already holds an address of this set ("duplicate
  // allocation is not allowed"), or if the set is exhausted.
  [[nodiscard]] Allocation allocate(const Owner& owner,
                                    const std::optional<net::IpAddress>& requested);

 private:
  [[nodiscard]] Allocation allocate_requested(const Owner& owner, const net::IpAddress& ip);
  [[nodiscard]] std::optional<Allocation> allocate_next(const Owner& owner);

  const RangeSet& set_;
  Store& store_;
  std::size_t index_;
};

}  // namespace netcore::ipam
