#include "netcore/net/netns.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using NetnsTest = nsnet::testing::SandboxTest;

TEST_F(NetnsTest, CreateMakesADistinctNamespace) {
  EXPECT_FALSE(host_->same_as(*container_));
  EXPECT_FALSE(host_->same_as(Netns::current()));
}

TEST_F(NetnsTest, RunExecutesInsideAndReturnsValue) {
  const bool inside = container_->run([&] { return Netns::current().same_as(*container_); });
  EXPECT_TRUE(inside);
  // The calling thread never moved.
  EXPECT_FALSE(Netns::current().same_as(*container_));
}

TEST_F(NetnsTest, RunPropagatesExceptions) {
  EXPECT_THROW(container_->run([]() -> int { throw Error(ErrorCode::kInternal, "boom"); }), Error);
}

TEST_F(NetnsTest, OpenRejectsWhatIsNotANetworkNamespace) {
  for (const char* path : {"/", "/proc/self/ns/mnt", "/etc/hostname", "/nonexistent"}) {
    try {
      (void)Netns::open(path);
      ADD_FAILURE() << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidNetns) << path;
      EXPECT_NE(e.msg().find(path), std::string::npos) << e.msg();
    }
  }
}

TEST_F(NetnsTest, PersistBindMountsAndDeleteRemoves) {
  const auto dir = temp_dir() / "netns";
  const auto name = unique_name("ns");
  container_->persist(name, dir);
  EXPECT_TRUE(Netns::open(dir / name).same_as(*container_));
  // Visible to iproute2 as well.
  EXPECT_NO_THROW(container_->persist(name + "b", dir));
  Netns::delete_persisted_if_exists(name + "b", dir);
  Netns::delete_persisted_if_exists(name, dir);
  EXPECT_FALSE(std::filesystem::exists(dir / name));
  EXPECT_NO_THROW(Netns::delete_persisted_if_exists(name, dir));  // already gone
}

TEST_F(NetnsTest, PersistedNamespaceIsSeenByIproute2) {
  const auto name = unique_name("ip");
  container_->persist(name);
  const auto listing = nsnet::testing::run_in_netns(*host_, "ip netns list");
  EXPECT_NE(listing.find(name), std::string::npos) << listing;
  Netns::delete_persisted_if_exists(name);
}

TEST_F(NetnsTest, PersistRejectsBadNames) {
  for (const std::string bad : {"", "a/b", "..", "."})
    EXPECT_THROW(container_->persist(bad, temp_dir()), Error) << bad;
}

}  // namespace
}  // namespace netcore::net
