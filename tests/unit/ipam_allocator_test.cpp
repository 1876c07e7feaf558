#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/ipam/allocator.hpp"
#include "netcore/ipam/range.hpp"
#include "netcore/ipam/store.hpp"
#include "netcore/net/ip.hpp"
#include "support/expect_error.hpp"
#include "support/ipam_text.hpp"

namespace netcore::ipam {
namespace {

using nsnet::testing::error_of;

using net::IpAddress;
using net::Prefix;

using nsnet::testing::ip;
using nsnet::testing::make_range;
using nsnet::testing::opt;
using nsnet::testing::owner;

// An in-memory Store, like the reference's backend/testing/fake_store.go, that counts calls.
class FakeStore final : public Store {
 public:
  bool reserve(const Owner& owner, const IpAddress& addr, std::size_t rangeset) override {
    ++reserve_calls;
    if (reserved.contains(addr)) return false;
    reserved[addr] = owner;
    last[rangeset] = addr;
    return true;
  }
  std::optional<IpAddress> last_reserved(std::size_t rangeset) override {
    const auto it = last.find(rangeset);
    if (it == last.end()) return std::nullopt;
    return it->second;
  }
  std::vector<IpAddress> find_by_owner(const Owner& owner) override {
    ++find_calls;
    std::vector<IpAddress> held;
    for (const auto& [addr, o] : reserved)
      if (o == owner) held.push_back(addr);
    return held;
  }
  std::vector<IpAddress> release_by_owner(const Owner& owner) override {
    auto held = find_by_owner(owner);
    for (const auto& addr : held) release(addr);
    return held;
  }
  std::vector<Reservation> list() override {
    std::vector<Reservation> all;
    for (const auto& [addr, o] : reserved) all.push_back({addr, o});
    return all;
  }
  void release(const IpAddress& addr) override {
    if (reserved.erase(addr) != 0) exhausted.clear();
  }
  bool known_exhausted(std::size_t rangeset, const std::string& key) override {
    ++known_exhausted_calls;
    const auto it = exhausted.find(rangeset);
    return it != exhausted.end() && it->second == key;
  }
  void mark_exhausted(std::size_t rangeset, const std::string& key) override {
    marks.emplace_back(rangeset, key);
    exhausted[rangeset] = key;
  }

  // Pre-populates a reservation held by someone else, as another container would.
  void hold(std::string_view addr, const Owner& owner = {"other", "eth0"}) {
    reserved[ip(addr)] = owner;
  }

  std::map<IpAddress, Owner> reserved;
  std::map<std::size_t, IpAddress> last;
  std::map<std::size_t, std::string> exhausted;
  std::vector<std::pair<std::size_t, std::string>> marks;
  int reserve_calls = 0;
  int find_calls = 0;
  int known_exhausted_calls = 0;
};

// The addresses handed to fresh owners c0, c1, ... in turn.
std::vector<std::string> allocate_n(Allocator& allocator, int n, const std::string& prefix = "c") {
  std::vector<std::string> got;
  for (int i = 0; i < n; ++i)
    got.push_back(allocator.allocate(owner(prefix + std::to_string(i)), std::nullopt)
                      .address.address()
                      .to_string());
  return got;
}

TEST(AllocatorTest, FirstAllocationSkipsTheGatewayAtRangeStart) {
  const RangeSet set({make_range("10.0.0.0/24")});
  FakeStore store;
  Allocator allocator(set, store, 0);
  const auto a = allocator.allocate(owner("c1"), std::nullopt);
  EXPECT_EQ(a.address.to_string(), "10.0.0.2/24");
  EXPECT_EQ(a.gateway.to_string(), "10.0.0.1");
  EXPECT_EQ(store.reserved.at(ip("10.0.0.2")), owner("c1"));
  EXPECT_EQ(store.last.at(0).to_string(), "10.0.0.2");
  EXPECT_EQ(store.reserve_calls, 1);  // 10.0.0.1 was never offered
}

TEST(AllocatorTest, RoundRobinStartsAfterLastReserved) {
  const RangeSet set({make_range("10.0.0.0/24")});
  FakeStore store;
  store.last[0] = ip("10.0.0.5");
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocate_n(allocator, 3),
            (std::vector<std::string>{"10.0.0.6", "10.0.0.7", "10.0.0.8"}));
  // The index passed to the allocator selects the store's last_reserved slot.
  FakeStore other;
  other.last[0] = ip("10.0.0.5");
  other.last[3] = ip("10.0.0.100");
  Allocator third(set, other, 3);
  EXPECT_EQ(third.allocate(owner("x"), std::nullopt).address.to_string(), "10.0.0.101/24");
  EXPECT_EQ(other.last.at(3).to_string(), "10.0.0.101");
  EXPECT_EQ(other.last.at(0).to_string(), "10.0.0.5");
}

TEST(AllocatorTest, SkipsAGatewayInsideTheRange) {
  const RangeSet set({make_range("10.0.0.0/29", "10.0.0.2", "10.0.0.6", "10.0.0.4")});
  FakeStore store;
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocate_n(allocator, 4),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"}));
  EXPECT_EQ(store.reserve_calls, 4);
}

TEST(AllocatorTest, WrapsAcrossRangesAndBackToTheStart) {
  // Range 0 offers .0.5-.0.6 (gateway .0.1 outside); range 1 offers .1.2 (gateway .1.1 = start).
  const RangeSet set({make_range("10.0.0.0/29", "10.0.0.5", "10.0.0.6"),
                      make_range("10.0.1.0/29", "10.0.1.1", "10.0.1.2")});
  {
    FakeStore store;
    store.last[0] = ip("10.0.0.6");  // the end of range 0: continue in range 1
    Allocator allocator(set, store, 0);
    const auto a = allocator.allocate(owner("c1"), std::nullopt);
    EXPECT_EQ(a.address.to_string(), "10.0.1.2/29");
    EXPECT_EQ(a.gateway.to_string(), "10.0.1.1");  // the gateway of the range it came from
  }
  {
    FakeStore store;
    store.last[0] = ip("10.0.1.2");  // the end of the last range: wrap to the first
    Allocator allocator(set, store, 0);
    const auto a = allocator.allocate(owner("c1"), std::nullopt);
    EXPECT_EQ(a.address.to_string(), "10.0.0.5/29");
    EXPECT_EQ(a.gateway.to_string(), "10.0.0.1");
  }
  {
    FakeStore store;
    store.last[0] = ip("10.0.0.5");
    store.hold("10.0.0.6");
    store.hold("10.0.1.2");
    Allocator allocator(set, store, 0);
    // .0.6 and .1.2 are taken: the walk wraps around and ends on the last reserved address.
    EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.5/29");
    EXPECT_EQ(store.reserve_calls, 3);
  }
  {
    FakeStore store;
    Allocator allocator(set, store, 0);
    EXPECT_EQ(allocate_n(allocator, 3),
              (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.1.2"}));
  }
}

TEST(AllocatorTest, ExhaustionFailsThenFailsFastUntilARelease) {
  const RangeSet set({make_range("10.0.0.0/30")});  // only 10.0.0.2: .1 is the gateway
  FakeStore store;
  Allocator allocator(set, store, 2);
  EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.2/30");
  EXPECT_EQ(store.reserve_calls, 1);

  auto e = error_of([&] { (void)allocator.allocate(owner("c2"), std::nullopt); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "no IP addresses available in range set: 10.0.0.1-10.0.0.2");
  EXPECT_EQ(store.reserve_calls, 2);  // the one candidate, tried once
  ASSERT_EQ(store.marks.size(), 1u);
  EXPECT_EQ(store.marks[0],
            (std::pair<std::size_t, std::string>{2, "10.0.0.1-10.0.0.2 gateway 10.0.0.1"}));

  // The hint says exhausted: no address is tried again.
  e = error_of([&] { (void)allocator.allocate(owner("c3"), std::nullopt); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "no IP addresses available in range set: 10.0.0.1-10.0.0.2");
  EXPECT_EQ(store.reserve_calls, 2);
  EXPECT_EQ(store.marks.size(), 1u);

  store.release(ip("10.0.0.2"));
  EXPECT_EQ(allocator.allocate(owner("c3"), std::nullopt).address.to_string(), "10.0.0.2/30");
  EXPECT_EQ(store.reserve_calls, 3);
}

TEST(AllocatorTest, ExhaustionHintIsKeyedBySetConfiguration) {
  const RangeSet small({make_range("10.0.0.0/30")});
  FakeStore store;
  Allocator before(small, store, 0);
  EXPECT_EQ(before.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.2/30");
  EXPECT_THROW((void)before.allocate(owner("c2"), std::nullopt), Error);
  ASSERT_EQ(store.marks.size(), 1u);

  // The set grew: the hint no longer applies.
  const RangeSet wider({make_range("10.0.0.0/29")});
  Allocator grown(wider, store, 0);
  EXPECT_EQ(grown.allocate(owner("c2"), std::nullopt).address.to_string(), "10.0.0.3/29");
}

TEST(AllocatorTest, MovingTheGatewayInvalidatesTheExhaustionHint) {
  const RangeSet set({make_range("10.0.0.0/30")});  // .1-.2, gateway .1
  FakeStore store;
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.2/30");
  EXPECT_THROW((void)allocator.allocate(owner("c2"), std::nullopt), Error);
  const int calls = store.reserve_calls;

  // Same start and end, but the gateway moved off 10.0.0.1: that address is free now.
  const RangeSet moved({make_range("10.0.0.0/30", "", "", "10.0.0.2")});
  ASSERT_EQ(moved.to_string(), set.to_string());
  Allocator after(moved, store, 0);
  const auto a = after.allocate(owner("c2"), std::nullopt);
  EXPECT_EQ(a.address.to_string(), "10.0.0.1/30");
  EXPECT_EQ(a.gateway.to_string(), "10.0.0.2");
  EXPECT_GT(store.reserve_calls, calls);
}

TEST(AllocatorTest, ExhaustionAcrossSeveralRangesNamesTheWholeSet) {
  const RangeSet set({make_range("10.0.0.0/30"), make_range("10.0.1.0/30")});
  FakeStore store;
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocate_n(allocator, 2), (std::vector<std::string>{"10.0.0.2", "10.0.1.2"}));
  const auto e = error_of([&] { (void)allocator.allocate(owner("late"), std::nullopt); });
  EXPECT_EQ(e.msg(), "no IP addresses available in range set: 10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2");
  EXPECT_EQ(store.reserve_calls, 4);
}

TEST(AllocatorTest, RequestedAddress) {
  const RangeSet set({make_range("10.0.0.0/24"), make_range("10.0.1.0/24")});
  FakeStore store;
  store.last[0] = ip("10.0.0.9");
  Allocator allocator(set, store, 0);

  const auto a = allocator.allocate(owner("c1"), ip("10.0.1.77"));
  EXPECT_EQ(a.address.to_string(), "10.0.1.77/24");
  EXPECT_EQ(a.gateway.to_string(), "10.0.1.1");
  EXPECT_EQ(store.reserved.at(ip("10.0.1.77")), owner("c1"));
  EXPECT_EQ(store.last.at(0).to_string(), "10.0.1.77");
  EXPECT_EQ(store.reserve_calls, 1);

  auto e = error_of([&] { (void)allocator.allocate(owner("c2"), ip("10.0.1.77")); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(),
            "requested IP address 10.0.1.77 is not available in range set "
            "10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254");

  e = error_of([&] { (void)allocator.allocate(owner("c2"), ip("10.0.1.1")); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "requested ip 10.0.1.1 is subnet's gateway");

  e = error_of([&] { (void)allocator.allocate(owner("c2"), ip("10.0.2.5")); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(),
            "requested IP address 10.0.2.5 is not in range set "
            "10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254");

  e = error_of([&] { (void)allocator.allocate(owner("c2"), ip("fd00::5")); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);

  EXPECT_EQ(store.reserve_calls, 2);  // only the taken address reached the store
  EXPECT_EQ(store.reserved.size(), 1u);
}

TEST(AllocatorTest, RequestedAddressBypassesTheExhaustionHint) {
  const RangeSet set({make_range("10.0.0.0/29")});
  FakeStore store;
  store.exhausted[0] = "10.0.0.1-10.0.0.6 gateway 10.0.0.1";
  Allocator allocator(set, store, 0);
  EXPECT_THROW((void)allocator.allocate(owner("c0"), std::nullopt), Error);  // the hint applies
  EXPECT_EQ(store.reserve_calls, 0);
  EXPECT_EQ(allocator.allocate(owner("c1"), ip("10.0.0.4")).address.to_string(), "10.0.0.4/29");
}

TEST(AllocatorTest, DuplicateAllocationIsNotAllowed) {
  const RangeSet set({make_range("10.0.0.0/24")});
  FakeStore store;
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.2/24");

  const auto e = error_of([&] { (void)allocator.allocate(owner("c1"), std::nullopt); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "10.0.0.2 has been allocated to c1, duplicate allocation is not allowed");
  EXPECT_EQ(store.reserve_calls, 1);
  EXPECT_EQ(store.reserved.size(), 1u);

  // Another interface of the same container is another owner.
  EXPECT_EQ(allocator.allocate(owner("c1", "net1"), std::nullopt).address.to_string(),
            "10.0.0.3/24");
  // An address the owner holds in another range set does not count.
  const RangeSet v6({make_range("fd00::/120")});
  Allocator other(v6, store, 1);
  EXPECT_EQ(other.allocate(owner("c1"), std::nullopt).address.to_string(), "fd00::2/120");
}

TEST(AllocatorTest, ReleasedAddressIsReusedOnlyAfterWrapAround) {
  const RangeSet set({make_range("10.0.0.0/29")});  // .2-.6 (.1 gateway, .7 broadcast)
  FakeStore store;
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocate_n(allocator, 3, "a"),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4"}));
  store.release(ip("10.0.0.2"));
  EXPECT_EQ(allocate_n(allocator, 3, "b"),
            (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.0.2"}));
  store.release(ip("10.0.0.4"));
  store.release(ip("10.0.0.3"));
  EXPECT_EQ(allocate_n(allocator, 2, "c"), (std::vector<std::string>{"10.0.0.3", "10.0.0.4"}));
}

TEST(AllocatorTest, LastReservedOutsideTheSetRestartsAtTheFirstRange) {
  const RangeSet set({make_range("10.0.0.0/29", "10.0.0.3"), make_range("10.0.1.0/29")});
  for (const char* stale : {"192.168.0.9", "10.0.0.2", "10.0.1.7", "fd00::1"}) {
    FakeStore store;
    store.last[0] = ip(stale);
    Allocator allocator(set, store, 0);
    EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.3/29")
        << stale;
  }
}

TEST(AllocatorTest, SingleAddressSetWhoseOnlyAddressIsTheLastReserved) {
  const RangeSet set({make_range("10.0.0.0/24", "10.0.0.9", "10.0.0.9")});
  FakeStore store;
  store.last[0] = ip("10.0.0.9");
  Allocator allocator(set, store, 0);
  EXPECT_EQ(allocator.allocate(owner("c1"), std::nullopt).address.to_string(), "10.0.0.9/24");
  EXPECT_THROW((void)allocator.allocate(owner("c2"), std::nullopt), Error);
  EXPECT_EQ(store.reserve_calls, 2);
}

TEST(AllocatorTest, RangeOfOnlyTheGatewayOffersNothing) {
  const RangeSet set({make_range("10.0.0.0/24", "10.0.0.1", "10.0.0.1")});
  FakeStore store;
  Allocator allocator(set, store, 0);
  const auto e = error_of([&] { (void)allocator.allocate(owner("c1"), std::nullopt); });
  EXPECT_EQ(e.msg(), "no IP addresses available in range set: 10.0.0.1-10.0.0.1");
  EXPECT_EQ(store.reserve_calls, 0);
}

}  // namespace
}  // namespace netcore::ipam
