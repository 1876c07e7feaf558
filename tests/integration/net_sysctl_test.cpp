#include "netcore/net/sysctl.hpp"

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using SysctlTest = nsnet::testing::SandboxTest;

TEST_F(SysctlTest, WriteInOneNamespaceLeavesTheOtherAlone) {
  const std::string key = "net/ipv4/ip_forward";
  EXPECT_EQ(host_->run([&] { return read_sysctl(key); }), "0");
  host_->run([&] { write_sysctl(key, "1"); });
  EXPECT_EQ(host_->run([&] { return read_sysctl(key); }), "1");
  EXPECT_EQ(container_->run([&] { return read_sysctl(key); }), "0");
  // Seen the same way by sysctl(8) inside the namespace.
  EXPECT_EQ(nsnet::testing::run_in_netns(*host_, "cat /proc/sys/net/ipv4/ip_forward"), "1\n");
  EXPECT_EQ(nsnet::testing::run_in_netns(*container_, "cat /proc/sys/net/ipv4/ip_forward"), "0\n");
}

TEST_F(SysctlTest, PerInterfaceKeyWithADottedName) {
  const auto nl = host_->run([] { return Netlink::connect(); });
  const std::string name = "v." + unique_name("s").substr(0, 8);  // a dot in the ifname
  (void)create_veth(nl, {.name = name, .peer_name = unique_name("sp")});
  const std::string key =
      sysctl_key_from_dotted("net.ipv4.conf." + std::string("v/") + name.substr(2) + ".forwarding");
  EXPECT_EQ(key, "net/ipv4/conf/" + name + "/forwarding");
  host_->run([&] { write_sysctl(key, "1"); });
  EXPECT_EQ(host_->run([&] { return read_sysctl(key); }), "1");
  EXPECT_EQ(host_->run([&] { return read_sysctl("net/ipv4/conf/lo/forwarding"); }), "0");
}

TEST_F(SysctlTest, DottedKeyConversion) {
  EXPECT_EQ(sysctl_key_from_dotted("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
  EXPECT_EQ(sysctl_key_from_dotted("net.ipv6.conf.eth0/100.disable_ipv6"),
            "net/ipv6/conf/eth0.100/disable_ipv6");
  EXPECT_EQ(sysctl_path("net/ipv4/ip_forward"), "/proc/sys/net/ipv4/ip_forward");
}

TEST_F(SysctlTest, RejectsBadKeys) {
  const std::string bad_keys[] = {"",
                                  "/proc/sys/net/ipv4/ip_forward",
                                  "/net/ipv4/ip_forward",
                                  "kernel/hostname",
                                  "net",
                                  "net/",
                                  "net/../kernel/hostname",
                                  "net/ipv4/../../kernel/hostname",
                                  "net/./ipv4/ip_forward",
                                  "net//ipv4/ip_forward",
                                  "net/ipv4/ip_forward/",
                                  std::string("net/ipv4/ip_forward\0x", 21)};
  for (const auto& key : bad_keys) {
    for (int write = 0; write < 2; ++write) {
      try {
        if (write) {
          write_sysctl(key, "1");
        } else {
          (void)read_sysctl(key);
        }
        ADD_FAILURE() << key;
      } catch (const SysError& e) {
        ADD_FAILURE() << key << ": reached the file system: " << e.what();
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << key;
        EXPECT_NE(e.msg().find("invalid sysctl key"), std::string::npos) << e.msg();
      }
    }
  }
}

TEST_F(SysctlTest, MissingKeyAndBadValueAreSysErrors) {
  try {
    (void)host_->run([] { return read_sysctl("net/ipv4/no_such_key"); });
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.error_number(), ENOENT);
    EXPECT_NE(e.msg().find("read sysctl net/ipv4/no_such_key"), std::string::npos) << e.msg();
  }
  EXPECT_THROW(host_->run([] { write_sysctl("net/ipv4/ip_forward", "banana"); }), SysError);
}

}  // namespace
}  // namespace netcore::net
