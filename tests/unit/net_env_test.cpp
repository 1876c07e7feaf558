// `nsnet net`'s environment, read as cnitool reads it (launcher/src/net/net_env.hpp).

#include "net/net_env.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "support/expect_error.hpp"

namespace nsnet::net {
namespace {

using netcore::ErrorCode;
using nsnet::testing::error_of;

TEST(NetEnvTest, DerivesCnitoolsContainerIdFromTheNetnsPath) {
  // python3: "cnitool-" + hashlib.sha512(b"/run/netns/blue").digest()[:10].hex()
  EXPECT_EQ(cnitool_container_id("/run/netns/blue"), "cnitool-df26705e2e4ffd095eb1");
  const auto rt = runtime_conf({}, "/run/netns/blue");
  EXPECT_EQ(rt.container_id, "cnitool-df26705e2e4ffd095eb1");
  EXPECT_EQ(rt.netns, "/run/netns/blue");
  EXPECT_EQ(rt.ifname, "eth0");
  EXPECT_TRUE(rt.args.empty());
  EXPECT_EQ(rt.capability_args, nlohmann::json::object());
  // filepath.Abs cleans the path first, so these name the same container.
  EXPECT_EQ(runtime_conf({}, "/run//netns/./x/../blue/").container_id, rt.container_id);
}

TEST(NetEnvTest, TakesTheEnvironmentsValues) {
  const NetEnv env{.container_id = "ctr-1",
                   .ifname = "net1",
                   .cni_args = "IgnoreUnknown=1;IP=10.1.0.5",
                   .cap_args = R"({"portMappings": [{"hostPort": 80}]})"};
  const auto rt = runtime_conf(env, "/run/netns/blue");
  EXPECT_EQ(rt.container_id, "ctr-1");
  EXPECT_EQ(rt.ifname, "net1");
  EXPECT_EQ(rt.args, (std::vector<std::pair<std::string, std::string>>{{"IgnoreUnknown", "1"},
                                                                      {"IP", "10.1.0.5"}}));
  EXPECT_EQ(rt.capability_args["portMappings"][0]["hostPort"], 80);
  EXPECT_EQ(runtime_conf({.ifname = ""}, "/x").ifname, "eth0");  // empty is unset, as cnitool
}

TEST(NetEnvTest, MakesRelativeNetnsPathsAbsolute) {
  const std::string abs = absolute_netns_path("ns/x");
  EXPECT_EQ(abs.front(), '/');
  EXPECT_TRUE(abs.ends_with("/ns/x"));
  EXPECT_EQ(absolute_netns_path("/"), "/");
  EXPECT_EQ(absolute_netns_path(""), "");
}

TEST(NetEnvTest, RejectsWhatCnitoolRejects) {
  for (const char* bad : {"a", "=1", "a=", "a=1;", "a=1=2", ";a=1"}) {
    EXPECT_EQ(error_of([&] { (void)parse_cni_args(bad); }).code(), ErrorCode::kInvalidEnvironment)
        << bad;
  }
  EXPECT_EQ(error_of([&] { (void)parse_capability_args("{"); }).code(),
            ErrorCode::kDecodingFailure);
  EXPECT_EQ(error_of([&] { (void)parse_capability_args("[1]"); }).code(),
            ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(parse_capability_args("null"), nlohmann::json::object());
  EXPECT_EQ(error_of([&] { (void)runtime_conf({.container_id = "../x"}, "/x"); }).code(),
            ErrorCode::kInvalidEnvironment);
  // DEL after the netns is gone: no path to derive an ID from.
  EXPECT_EQ(error_of([&] { (void)runtime_conf({}, ""); }).code(), ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(runtime_conf({.container_id = "c1"}, "").netns, "");
}

}  // namespace
}  // namespace nsnet::net
