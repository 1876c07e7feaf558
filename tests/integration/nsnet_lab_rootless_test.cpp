// nsnet lab without root: the lab lives in a user namespace held by a keeper process; up, check,
// exec and down work as for root, and nothing of the user's is left once it is down.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/nsnet_lab_fixture.hpp"
#include "integration/nsnet_rootless_fixture.hpp"

namespace nsnet::testing {
namespace {

// The live processes of `uid` that this test started: other rootless tests run as the same user
// at the same time, so only those whose environment names this test's XDG_RUNTIME_DIR count.
std::vector<pid_t> processes_of_uid(uid_t uid, const std::filesystem::path& runtime_dir) {
  const std::string marker = "XDG_RUNTIME_DIR=" + runtime_dir.string() + '\0';
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    struct stat st {};
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto stat_text = file_text(entry.path() / "stat");
    if (::stat(entry.path().c_str(), &st) == 0 && st.st_uid == uid &&
        stat_text.find(") Z") == std::string::npos &&
        file_text(entry.path() / "environ").find(marker) != std::string::npos)
      pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

TEST_F(NsnetRootlessTest, LabUpCheckExecDownWithoutRoot) {
  const auto lab_root = temp_dir() / "runtime" / "nsnet-lab";
  const auto host_before = snapshot();
  const auto up = nsnet_as_user({"lab", "up", (kLabExamples / "rootless.json").string()});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_NE(up.out.find("rootless"), std::string::npos) << up.out;

  const auto check = nsnet_as_user({"lab", "check", "rootless"});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  const auto hostname = nsnet_as_user({"lab", "exec", "rootless", "n1/a1", "--", "hostname"});
  EXPECT_EQ(hostname.out, "rootless-lab\n") << hostname.err;
  // Root inside the lab's user namespace, the user outside.
  const auto id = nsnet_as_user({"lab", "exec", "rootless", "n1", "--", "id", "-u"});
  EXPECT_EQ(id.out, "0\n") << id.err;
  EXPECT_FALSE(processes_of_uid(kUid, temp_dir() / "runtime").empty());  // the keeper

  const auto down = nsnet_as_user({"lab", "down", "rootless"});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(lab_leftovers(lab_root), "");
  EXPECT_TRUE(processes_of_uid(kUid, temp_dir() / "runtime").empty());
  EXPECT_EQ(snapshot(), host_before);
}

}  // namespace
}  // namespace nsnet::testing
