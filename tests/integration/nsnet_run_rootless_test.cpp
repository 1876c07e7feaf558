// nsnet run as an unprivileged user (see nsnet_rootless_fixture.hpp): id maps, file ownership,
// detached containers.

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "integration/nsnet_rootless_fixture.hpp"

namespace nsnet::testing {
namespace {

TEST_F(NsnetRootlessTest, DefaultRunMapsTheUserToRoot) {
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0\n0 54321 1");
  // The state lived under $XDG_RUNTIME_DIR/nsnet, and is gone.
  EXPECT_TRUE(std::filesystem::exists(temp_dir() / "runtime" / "nsnet"));
  EXPECT_TRUE(std::filesystem::is_empty(temp_dir() / "runtime" / "nsnet"));
}

TEST_F(NsnetRootlessTest, MapCurrentUserKeepsTheUid) {
  const auto r = nsnet_as_user({"run", "--map-current-user", "--", "id", "-u"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "54321\n");
}

TEST_F(NsnetRootlessTest, MapAutoMapsTheSubordinateRanges) {
  const auto r =
      nsnet_as_user({"run", "--map-auto", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 200000 65536\n0 200000 65536");
}

TEST_F(NsnetRootlessTest, MapAutoWithMapRootUserPutsTheUserAtZero) {
  const auto r = nsnet_as_user({"run", "--map-auto", "--map-root-user", "--", "cat",
                                "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 54321 1\n1 200000 65535\n0 54321 1\n1 200000 65535");
}

TEST_F(NsnetRootlessTest, FileCreatedAsRootInsideBelongsToTheUserOutside) {
  const auto file = temp_dir() / "shared" / "made-inside";
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", "id -u; touch " + file.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_uid, kUid);
  EXPECT_EQ(st.st_gid, kGid);
}

TEST_F(NsnetRootlessTest, CniNetworkAsUserIs125) {
  const auto r = nsnet_as_user({"run", "--network", "nsnet", "--", "true"});
  EXPECT_EQ(r.status, 125);
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find("root"), std::string::npos) << r.err;
}

TEST_F(NsnetRootlessTest, DetachedContainerCanBeListedJoinedAndStopped) {
  const std::string id = unique_name("rl");
  const auto run = nsnet_as_user({"run", "-d", "--name", id, "--", "sleep", "100"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, id + "\n");
  const auto state_dir = temp_dir() / "runtime" / "nsnet" / id;
  EXPECT_TRUE(std::filesystem::exists(state_dir / "state.json"));

  const auto ps = nsnet_as_user({"ps"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  EXPECT_NE(ps.out.find(id + " "), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find(" running "), std::string::npos) << ps.out;

  const auto exec = nsnet_as_user({"exec", id, "--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  EXPECT_EQ(exec.status, 0) << exec.err;
  EXPECT_EQ(squeeze(exec.out), "0\n0 54321 1");

  const auto stop = nsnet_as_user({"stop", "-t", "5", id});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

}  // namespace
}  // namespace nsnet::testing
