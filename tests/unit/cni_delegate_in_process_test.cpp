// The delegation fast path: a delegate found on CNI_PATH that is this very executable runs
// in-process, through the same protocol as an exec.

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "netcore/cni/delegate.hpp"
#include "netcore/cni/skel.hpp"
#include "support/expect_error.hpp"

namespace netcore::cni {
namespace {

namespace fs = std::filesystem;
using nsnet::testing::error_of;

class DelegateInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "nsnet-inproc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    // "fake-ipam" on CNI_PATH is a link to the running test binary, as the plugin names are
    // links to nsnet-cni.
    fs::create_symlink(fs::read_symlink("/proc/self/exe"), dir_ / "fake-ipam");
    fs::create_symlink("/bin/true", dir_ / "other");

    ipam_.name = "fake-ipam";
    ipam_.add = [this](const CmdArgs& args) {
      ++calls_;
      seen_command_ = args.env.at("CNI_COMMAND");
      Result r;
      r.ips.push_back({.address = net::Prefix::parse("10.5.0.9/24")});
      return r;
    };
    ipam_.del = [this](const CmdArgs&) {
      ++calls_;
      throw Error(ErrorCode::kInvalidNetworkConfig, "fake-ipam: bad range", "details here");
    };

    const std::map<std::string, std::string> env = {
        {"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c1"}, {"CNI_NETNS", "/run/netns/c1"},
        {"CNI_IFNAME", "eth0"}, {"CNI_PATH", dir_.string()}};
    std::istringstream in(R"({"cniVersion":"1.0.0","name":"n","type":"bridge","ipam":{"type":"fake-ipam"}})");
    args_ = CmdArgs::parse(env, in);
    args_.builtins = [this](std::string_view name) -> const PluginSpec* {
      return name == "fake-ipam" ? &ipam_ : nullptr;
    };
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  PluginSpec ipam_;
  CmdArgs args_;
  int calls_ = 0;
  std::string seen_command_;
};

TEST_F(DelegateInProcessTest, RunsABuiltinDelegateWithoutExec) {
  const Result result = delegate_add("fake-ipam", args_);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(seen_command_, "ADD");
  ASSERT_EQ(result.ips.size(), 1u);
  EXPECT_EQ(result.ips[0].address.to_string(), "10.5.0.9/24");
}

TEST_F(DelegateInProcessTest, ABuiltinsErrorKeepsItsCodeAndDetails) {
  const auto e = error_of([&] { delegate_del("fake-ipam", args_); });
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "fake-ipam: bad range");
  EXPECT_EQ(e.details(), "details here");
}

TEST_F(DelegateInProcessTest, AnotherBinaryIsExecutedEvenIfItsNameIsBuiltin) {
  args_.builtins = [this](std::string_view) -> const PluginSpec* { return &ipam_; };
  delegate_check("other", args_);  // /bin/true: succeeds by exec, the builtin is not called
  EXPECT_EQ(calls_, 0);
  args_.builtins = nullptr;
  delegate_check("other", args_);
  EXPECT_EQ(calls_, 0);
}

}  // namespace
}  // namespace netcore::cni
