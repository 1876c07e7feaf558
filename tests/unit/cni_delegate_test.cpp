#include "netcore/cni/delegate.hpp"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"
#include "support/expect_error.hpp"

namespace netcore::cni {
namespace {

using nsnet::testing::error_of;

namespace fs = std::filesystem;

const std::string kDelegateConfig =
    "{\"cniVersion\":\"0.4.0\",  \"name\":\"net1\",\n \"ipam\": {\"type\": \"ipam-ok\"}}\n";

class DelegateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "nsnet-cni-delegate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    empty_dir_ = dir_ / "empty";
    bin_dir_ = dir_ / "bin";
    fs::create_directories(empty_dir_ / "ipam-ok");  // a directory is no plugin
    fs::create_directories(bin_dir_);
    write_plugin("ipam-ok", R"(d=$(dirname "$0")
cat > "$d/stdin.$CNI_COMMAND"
env > "$d/env.$CNI_COMMAND"
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.9.0.2/24","gateway":"10.9.0.1"}],"dns":{"nameservers":["10.9.0.1"]}}'
fi
echo "some debug output" >&2
)");
    write_plugin("ipam-error", R"(cat > /dev/null
echo '{"cniVersion":"1.0.0","code":11,"msg":"busy","details":"try later"}'
exit 1
)");
    write_plugin("ipam-silent", R"(cat > /dev/null
echo "it broke" >&2
exit 3
)");
    write_plugin("ipam-garbage", R"(cat > /dev/null
echo 'not json'
exit 1
)");
    write_plugin("ipam-bad-result", R"(cat > /dev/null
echo '{"cniVersion":"0.4.0","ips":[{"address":"nope"}]}'
)");
    write_plugin("ipam-slow", "exec sleep 5\n");

    const Environment env = {{"CNI_COMMAND", "ADD"},
                             {"CNI_CONTAINERID", "ctr1"},
                             {"CNI_NETNS", "/run/netns/x"},
                             {"CNI_IFNAME", "eth0"},
                             {"CNI_PATH", empty_dir_.string() + ":" + bin_dir_.string()},
                             {"PATH", "/usr/bin:/bin"},
                             {"EXTRA", "kept"}};
    std::istringstream in(kDelegateConfig);
    args_ = CmdArgs::parse(env, in);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void write_plugin(const std::string& name, const std::string& body) {
    const fs::path path = bin_dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  }

  std::string read(const std::string& name) {
    std::ifstream file(bin_dir_ / name);
    std::stringstream s;
    s << file.rdbuf();
    return s.str();
  }

  fs::path dir_, empty_dir_, bin_dir_;
  CmdArgs args_;
};

TEST_F(DelegateTest, FindPluginSearchesTheDirsInOrder) {
  EXPECT_EQ(find_plugin("ipam-ok", args_.path), bin_dir_ / "ipam-ok");
  const auto e = error_of([&] { (void)find_plugin("nope", {"/a", "/b"}); });
  EXPECT_EQ(e.msg(), "failed to find plugin \"nope\" in path [/a /b]");
  for (const std::string bad : {"", "../bin/ipam-ok", "/bin/sh", "a/b"}) {
    const auto invalid = error_of([&] { (void)find_plugin(bad, args_.path); });
    EXPECT_EQ(invalid.code(), ErrorCode::kInvalidNetworkConfig) << bad;
    if (!bad.empty()) {
      EXPECT_NE(invalid.msg().find(bad), std::string::npos) << invalid.msg();
    }
  }
}

TEST_F(DelegateTest, AddReturnsTheDelegatesResult) {
  const Result result = delegate_add("ipam-ok", args_);
  ASSERT_EQ(result.ips.size(), 1u);
  EXPECT_EQ(result.ips[0].address.to_string(), "10.9.0.2/24");
  EXPECT_EQ(result.ips[0].gateway->to_string(), "10.9.0.1");
  EXPECT_EQ(result.dns.nameservers, std::vector<std::string>{"10.9.0.1"});
  // The delegate saw the config byte for byte, and the same environment.
  EXPECT_EQ(read("stdin.ADD"), kDelegateConfig);
  const std::string env = read("env.ADD");
  for (const char* line : {"CNI_COMMAND=ADD\n", "CNI_CONTAINERID=ctr1\n", "CNI_IFNAME=eth0\n",
                           "CNI_NETNS=/run/netns/x\n", "EXTRA=kept\n"})
    EXPECT_NE(env.find(line), std::string::npos) << line << " in " << env;
}

TEST_F(DelegateTest, OtherCommandsSetCniCommand) {
  delegate_del("ipam-ok", args_);  // an ADD rolling back
  EXPECT_NE(read("env.DEL").find("CNI_COMMAND=DEL\n"), std::string::npos);
  EXPECT_EQ(read("stdin.DEL"), kDelegateConfig);
  delegate_check("ipam-ok", args_);
  EXPECT_NE(read("env.CHECK").find("CNI_COMMAND=CHECK\n"), std::string::npos);
  delegate_status("ipam-ok", args_);
  EXPECT_NE(read("env.STATUS").find("CNI_COMMAND=STATUS\n"), std::string::npos);
  delegate_gc("ipam-ok", args_);
  EXPECT_NE(read("env.GC").find("CNI_COMMAND=GC\n"), std::string::npos);
}

TEST_F(DelegateTest, ADelegatesErrorKeepsItsCodeMessageAndDetails) {
  for (const auto& call : {std::function<void()>([&] { (void)delegate_add("ipam-error", args_); }),
                           std::function<void()>([&] { delegate_del("ipam-error", args_); })}) {
    const auto e = error_of(call);
    EXPECT_EQ(e.code(), ErrorCode::kTryAgainLater);
    EXPECT_EQ(e.msg(), "busy");
    EXPECT_EQ(e.details(), "try later");
  }
}

TEST_F(DelegateTest, SilentFailureCarriesStderr) {
  const auto e = error_of([&] { delegate_del("ipam-silent", args_); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "netplugin failed with no error message");
  EXPECT_NE(e.details().find("exit status 3"), std::string::npos) << e.details();
  EXPECT_NE(e.details().find("it broke"), std::string::npos) << e.details();
}

TEST_F(DelegateTest, UnparsableErrorIsReported) {
  const auto e = error_of([&] { delegate_del("ipam-garbage", args_); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_NE(e.msg().find("error parsing its diagnostic message \"not json\""), std::string::npos)
      << e.msg();
}

TEST_F(DelegateTest, BadResultIsADecodingError) {
  const auto e = error_of([&] { (void)delegate_add("ipam-bad-result", args_); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_TRUE(e.msg().starts_with("delegate ipam-bad-result: decode result: ips[0]")) << e.msg();
}

TEST_F(DelegateTest, TimeoutKillsTheDelegate) {
  const auto start = std::chrono::steady_clock::now();
  const auto e = error_of(
      [&] { delegate_del("ipam-slow", args_, {.timeout = std::chrono::milliseconds(200)}); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_NE(e.msg().find("timed out after 200 ms"), std::string::npos) << e.msg();
}

TEST_F(DelegateTest, MissingPluginFailsBeforeRunning) {
  const auto e = error_of([&] { (void)delegate_add("dhcp", args_); });
  EXPECT_TRUE(e.msg().starts_with("failed to find plugin \"dhcp\" in path [")) << e.msg();
}

}  // namespace
}  // namespace netcore::cni
