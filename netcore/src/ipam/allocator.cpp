#include "netcore/ipam/allocator.hpp"

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"

namespace netcore::ipam {
namespace {

// Walks a range set in the reference's order: from the address after `last` (or from the first
// range's start) through every range, wrapping around, until back where it started. Skips each
// range's gateway.
class RangeCursor {
 public:
  RangeCursor(const RangeSet& set, const std::optional<net::IpAddress>& last) : set_(set) {
    if (last) {
      for (size_t i = 0; i < set_.ranges().size(); ++i) {
        if (set_.ranges()[i].contains(*last)) {
          index_ = i;
          current_ = *last;  // next() advances first
          return;
        }
      }
    }
  }

  // The next candidate, or nullopt once every address was offered.
  std::optional<std::pair<net::IpAddress, const Range*>> next() {
    for (;;) {
      const Range* range = &set_.ranges()[index_];
      if (!current_) {
        current_ = range->range_start;
        start_ = current_;
      } else {
        if (*current_ == range->range_end) {
          index_ = (index_ + 1) % set_.ranges().size();
          range = &set_.ranges()[index_];
          current_ = range->range_start;
        } else {
          current_ = net::next_address(*current_);
        }
        if (!start_) {
          start_ = current_;
        } else if (*current_ == *start_) {
          return std::nullopt;
        }
      }
      if (*current_ != range->gateway) return std::make_pair(*current_, range);
    }
  }

 private:
  const RangeSet& set_;
  size_t index_ = 0;
  std::optional<net::IpAddress> current_;
  std::optional<net::IpAddress> start_;
};

// Identifies what a range set can hand out, for the exhaustion hint: its ranges and their
// gateways (to_string() leaves the gateways out, yet moving one frees an address).
std::string exhaustion_key(const RangeSet& set) {
  std::string key;
  for (const auto& r : set.ranges()) {
    if (!key.empty()) key += ",";
    key += r.to_string() + " gateway " + r.gateway.to_string();
  }
  return key;
}

}  // namespace

Allocation Allocator::allocate(const Owner& owner, const std::optional<net::IpAddress>& requested) {
  if (requested) return allocate_requested(owner, *requested);

  for (const auto& held : store_.find_by_owner(owner)) {
    if (set_.contains(held))
      throw Error(ErrorCode::kInternal, held.to_string() + " has been allocated to " +
                                            owner.container_id +
                                            ", duplicate allocation is not allowed");
  }
  const auto key = exhaustion_key(set_);
  if (!store_.known_exhausted(index_, key)) {
    if (auto allocation = allocate_next(owner)) return *allocation;
    store_.mark_exhausted(index_, key);
  }
  throw Error(ErrorCode::kInternal,
              "no IP addresses available in range set: " + set_.to_string());
}

Allocation Allocator::allocate_requested(const Owner& owner, const net::IpAddress& ip) {
  const Range* range = set_.find_range(ip);
  if (range == nullptr)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "requested IP address " + ip.to_string() + " is not in range set " + set_.to_string());
  if (ip == range->gateway)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "requested ip " + ip.to_string() + " is subnet's gateway");
  if (!store_.reserve(owner, ip, index_))
    throw Error(ErrorCode::kInternal, "requested IP address " + ip.to_string() +
                                          " is not available in range set " + set_.to_string());
  return {net::Prefix(ip, range->subnet.length()), range->gateway};
}

std::optional<Allocation> Allocator::allocate_next(const Owner& owner) {
  RangeCursor cursor(set_, store_.last_reserved(index_));
  while (auto candidate = cursor.next()) {
    const auto& [ip, range] = *candidate;
    if (store_.reserve(owner, ip, index_)) {
      log::debug("reserved {} for {}/{}", ip.to_string(), owner.container_id, owner.ifname);
      return Allocation{net::Prefix(ip, range->subnet.length()), range->gateway};
    }
  }
  return std::nullopt;
}

}  // namespace netcore::ipam
