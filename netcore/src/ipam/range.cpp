#include "netcore/ipam/range.hpp"

#include <array>
#include <cmath>

#include "netcore/base/error.hpp"

namespace netcore::ipam {
namespace {

bool same_family(const net::IpAddress& a, const net::IpAddress& b) noexcept {
  return a.is_v4() == b.is_v4();
}

// Checks that `ip` (the value of `key`) lies in the subnet and, once known, within start..end.
void check_in_range(const std::string& key, const net::IpAddress& ip, const net::Prefix& subnet,
                    const net::IpAddress* start, const net::IpAddress* end) {
  const auto text = ip.to_string();
  if (!same_family(ip, subnet.address()))
    netcore::throw_invalid_config(key + " " + text + " is not the same IP family as subnet " +
                                  subnet.to_string());
  if (!subnet.contains(ip))
    netcore::throw_invalid_config(key + " " + text + " not in network " + subnet.to_string());
  if (start != nullptr && ip < *start)
    netcore::throw_invalid_config(key + " " + text + " is in network " + subnet.to_string() +
                                  " but before start " + start->to_string());
  if (end != nullptr && *end < ip)
    netcore::throw_invalid_config(key + " " + text + " is in network " + subnet.to_string() +
                                  " but after end " + end->to_string());
}

}  // namespace

Range Range::make(const net::Prefix& subnet, const std::optional<net::IpAddress>& range_start,
                  const std::optional<net::IpAddress>& range_end,
                  const std::optional<net::IpAddress>& gateway) {
  const auto text = subnet.to_string();
  if (!(subnet.network() == subnet))
    netcore::throw_invalid_config(
        "subnet " + text + " has host bits set; the network address of a /" +
        std::to_string(subnet.length()) + " is " + subnet.network().address().to_string());
  if (subnet.length() + 2 > subnet.max_length())
    netcore::throw_invalid_config("subnet " + text + " is too small to allocate from");

  Range r{.subnet = subnet};
  const auto& network = subnet.address();
  const auto first = net::next_address(network);
  auto last = subnet.last_address();
  if (subnet.is_v4())  // the broadcast address is never a host's
    last = boost::asio::ip::address_v4(last.to_v4().to_uint() - 1);

  r.gateway = gateway.value_or(first);
  if (gateway) check_in_range("gateway", *gateway, subnet, nullptr, nullptr);

  r.range_start = range_start.value_or(first);
  r.range_end = range_end.value_or(last);
  if (range_start) check_in_range("rangeStart", *range_start, subnet, nullptr, nullptr);
  if (range_end) check_in_range("rangeEnd", *range_end, subnet, &r.range_start, nullptr);
  // Network and broadcast addresses are not hosts: keep the range off them.
  if (r.range_start == network)
    netcore::throw_invalid_config("rangeStart " + network.to_string() +
                                  " is the network address of " + text);
  if (subnet.is_v4() && r.range_end == subnet.last_address())
    netcore::throw_invalid_config("rangeEnd " + r.range_end.to_string() +
                                  " is the broadcast address of " + text);
  if (r.range_end < r.range_start)
    netcore::throw_invalid_config("rangeEnd " + r.range_end.to_string() + " is before rangeStart " +
                                  r.range_start.to_string());
  return r;
}

bool Range::contains(const net::IpAddress& ip) const noexcept {
  return same_family(ip, range_start) && !(ip < range_start) && !(range_end < ip);
}

bool Range::overlaps(const Range& other) const noexcept {
  return contains(other.range_start) || contains(other.range_end) || other.contains(range_start) ||
         other.contains(range_end);
}

double Range::capacity() const noexcept {
  double count = 0;
  if (is_v4()) {
    count = static_cast<double>(range_end.to_v4().to_uint() - range_start.to_v4().to_uint()) + 1;
  } else {
    // Subtract exactly first: a double holds 53 bits, so converting each 128-bit address and
    // subtracting would lose every range narrower than about 2^75 addresses.
    const auto start = range_start.to_v6().to_bytes();
    const auto end = range_end.to_v6().to_bytes();
    std::array<unsigned char, 16> diff{};
    int borrow = 0;
    for (int i = 15; i >= 0; --i) {
      int d = end[i] - start[i] - borrow;
      borrow = d < 0 ? 1 : 0;
      diff[i] = static_cast<unsigned char>(d + 256 * borrow);
    }
    for (const auto byte : diff) count = count * 256 + byte;
    count += 1;
  }
  if (contains(gateway)) count -= 1;
  return count;
}

std::string Range::to_string() const {
  return range_start.to_string() + "-" + range_end.to_string();
}

RangeSet::RangeSet(std::vector<Range> ranges) : ranges_(std::move(ranges)) {
  if (ranges_.empty()) netcore::throw_invalid_config("empty range set");
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (ranges_[i].is_v4() != ranges_[0].is_v4())
      netcore::throw_invalid_config(
          "range set mixes IPv4 and IPv6: " + ranges_[0].subnet.to_string() + " and " +
          ranges_[i].subnet.to_string());
    for (size_t j = i + 1; j < ranges_.size(); ++j) {
      if (ranges_[i].overlaps(ranges_[j]))
        netcore::throw_invalid_config("subnets " + ranges_[i].subnet.to_string() + " and " +
                                      ranges_[j].subnet.to_string() + " overlap");
    }
  }
}

bool RangeSet::contains(const net::IpAddress& ip) const noexcept {
  return find_range(ip) != nullptr;
}

const Range* RangeSet::find_range(const net::IpAddress& ip) const noexcept {
  for (const auto& r : ranges_)
    if (r.contains(ip)) return &r;
  return nullptr;
}

bool RangeSet::overlaps(const RangeSet& other) const noexcept {
  for (const auto& a : ranges_)
    for (const auto& b : other.ranges_)
      if (a.overlaps(b)) return true;
  return false;
}

double RangeSet::capacity() const noexcept {
  double total = 0;
  for (const auto& r : ranges_) total += r.capacity();
  return total;
}

std::string RangeSet::to_string() const {
  std::string text;
  for (const auto& r : ranges_) {
    if (!text.empty()) text += ",";
    text += r.to_string();
  }
  return text;
}

void check_disjoint(const std::vector<RangeSet>& sets) {
  for (size_t i = 0; i < sets.size(); ++i)
    for (size_t j = i + 1; j < sets.size(); ++j)
      if (sets[i].overlaps(sets[j]))
        netcore::throw_invalid_config("range set " + std::to_string(i) + " overlaps with " +
                                      std::to_string(j));
}

}  // namespace netcore::ipam
