// netcore::usernet without a kernel: podman-style slirp4netns/pasta option strings, the
// addresses a slirp4netns CIDR gives, and the command lines built for both daemons.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "netcore/usernet/pasta.hpp"
#include "netcore/usernet/slirp4netns.hpp"

namespace usernet_test {
namespace {

namespace usernet = netcore::usernet;
using Args = std::vector<std::string>;

bool has(const Args& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

TEST(UsernetSlirpOptionsTest, DefaultsAndEveryOption) {
  EXPECT_EQ(usernet::parse_slirp_options(""), usernet::SlirpOptions{});
  const auto o = usernet::parse_slirp_options(
      "mtu=1500,cidr=10.5.0.0/16,allow_host_loopback=true,enable_ipv6=true,"
      "outbound_addr=192.0.2.1,outbound_addr6=eth0,enable_sandbox=false,enable_seccomp=false,"
      "port_handler=slirp4netns");
  EXPECT_EQ(o.mtu, 1500u);
  EXPECT_EQ(o.cidr, "10.5.0.0/16");
  EXPECT_TRUE(o.allow_host_loopback);
  EXPECT_TRUE(o.enable_ipv6);
  EXPECT_EQ(o.outbound_addr, "192.0.2.1");
  EXPECT_EQ(o.outbound_addr6, "eth0");
  EXPECT_FALSE(o.enable_sandbox);
  EXPECT_FALSE(o.enable_seccomp);
  // A bare boolean key means true; empty items are skipped.
  EXPECT_TRUE(usernet::parse_slirp_options("enable_ipv6,,").enable_ipv6);
}

TEST(UsernetSlirpOptionsTest, BadOptionsAreRefused) {
  for (const char* text : {"mtu=67", "mtu=65522", "mtu=abc", "mtu=", "cidr=10.0.2.0/26",
                           "cidr=fd00::/64", "cidr=10.0.2.1/24", "cidr=x", "enable_ipv6=yes",
                           "port_handler=rootlesskit", "no_such_option=1"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW((void)usernet::parse_slirp_options(text), std::invalid_argument);
  }
  usernet::SlirpOptions o;
  EXPECT_NO_THROW(usernet::validate(o));
  o.mtu = 65521;
  EXPECT_NO_THROW(usernet::validate(o));
  o.cidr = "10.0.2.0/25";
  EXPECT_NO_THROW(usernet::validate(o));
  o.mtu = 10;
  EXPECT_THROW(usernet::validate(o), std::invalid_argument);
}

TEST(UsernetSlirpAddressesTest, HostsOfTheCidr) {
  const auto a = usernet::slirp_addresses({});
  EXPECT_EQ(a.container.to_string(), "10.0.2.100/24");
  EXPECT_EQ(a.gateway.to_string(), "10.0.2.2");
  EXPECT_EQ(a.dns.to_string(), "10.0.2.3");
  usernet::SlirpOptions o;
  o.cidr = "172.16.8.0/22";
  const auto b = usernet::slirp_addresses(o);
  EXPECT_EQ(b.container.to_string(), "172.16.8.100/22");
  EXPECT_EQ(b.gateway.to_string(), "172.16.8.2");
  EXPECT_EQ(b.dns.to_string(), "172.16.8.3");
}

TEST(UsernetSlirpArgumentsTest, PathTargetDefaults) {
  const auto args = usernet::slirp_arguments({}, {.netns_path = "/run/netns/c1"}, "tap0", 5, -1,
                                             "/run/s/api.sock");
  const Args expected = {"--mtu=65520",
                         "--cidr=10.0.2.0/24",
                         "--ready-fd=5",
                         "--api-socket=/run/s/api.sock",
                         "--disable-host-loopback",
                         "--enable-sandbox",
                         "--enable-seccomp",
                         "--netns-type=path",
                         "/run/netns/c1",
                         "tap0"};
  EXPECT_EQ(args, expected);
  EXPECT_FALSE(has(args, "--configure"));  // the caller configures the tap itself
}

TEST(UsernetSlirpArgumentsTest, PidTargetAndEveryOption) {
  usernet::SlirpOptions o;
  o.mtu = 1500;
  o.allow_host_loopback = true;
  o.enable_ipv6 = true;
  o.enable_sandbox = false;
  o.enable_seccomp = false;
  o.disable_dns = true;
  o.outbound_addr = "192.0.2.1";
  o.outbound_addr6 = "2001:db8::1";
  const auto args = usernet::slirp_arguments(o, {.pid = 1234}, "eth9", 3, 4, "");
  EXPECT_TRUE(has(args, "--mtu=1500"));
  EXPECT_TRUE(has(args, "--exit-fd=4"));
  EXPECT_TRUE(has(args, "--enable-ipv6"));
  EXPECT_TRUE(has(args, "--disable-dns"));
  EXPECT_TRUE(has(args, "--outbound-addr=192.0.2.1"));
  EXPECT_TRUE(has(args, "--outbound-addr6=2001:db8::1"));
  EXPECT_FALSE(has(args, "--disable-host-loopback"));
  EXPECT_FALSE(has(args, "--enable-sandbox"));
  EXPECT_FALSE(has(args, "--enable-seccomp"));
  EXPECT_FALSE(has(args, "--netns-type=path"));
  EXPECT_FALSE(std::any_of(args.begin(), args.end(),
                           [](const std::string& a) { return a.starts_with("--api-socket"); }));
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[args.size() - 2], "1234");
  EXPECT_EQ(args.back(), "eth9");
  // A user namespace to join with a path target.
  const auto userns = usernet::slirp_arguments(
      {}, {.netns_path = "/n", .userns_path = "/proc/7/ns/user"}, "tap0", 3, -1, "");
  EXPECT_TRUE(has(userns, "--userns-path=/proc/7/ns/user"));
}

TEST(UsernetPastaOptionsTest, DefaultsAndEveryOption) {
  EXPECT_EQ(usernet::parse_pasta_options(""), usernet::PastaOptions{});
  const auto o = usernet::parse_pasta_options(
      "mtu=1500,map_gw=true,dns_forward=10.0.0.53,"
      "--ipv4-only,-a=10.1.0.2");
  EXPECT_EQ(o.mtu, 1500u);
  EXPECT_TRUE(o.map_gateway);
  EXPECT_EQ(o.dns_forward, "10.0.0.53");
  EXPECT_EQ(o.extra, (Args{"--ipv4-only", "-a10.1.0.2"}));
  EXPECT_TRUE(usernet::parse_pasta_options("allow_host_loopback=true").map_gateway);
  for (const char* text : {"mtu=0", "map_gw=maybe", "unknown=1"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW((void)usernet::parse_pasta_options(text), std::invalid_argument);
  }
}

TEST(UsernetPastaArgumentsTest, PortsNamespacesAndDefaults) {
  const auto args = usernet::pasta_arguments(
      {}, "/proc/5/ns/user", "/proc/5/ns/net", "/run/p.pid",
      {{.proto = "tcp", .host_addr = "", .host_port = 8080, .container_port = 80},
       {.proto = "tcp", .host_addr = "127.0.0.1", .host_port = 8443, .container_port = 443},
       {.proto = "udp", .host_addr = "", .host_port = 53, .container_port = 5353}});
  const Args expected = {"--foreground",
                         "--quiet",
                         "--config-net",
                         "--mtu",
                         "65520",
                         "--pid",
                         "/run/p.pid",
                         "--no-map-gw",
                         "--dns-forward",
                         "169.254.1.1",
                         "-t",
                         "8080:80,127.0.0.1/8443:443",
                         "-u",
                         "53:5353",
                         "-T",
                         "none",
                         "-U",
                         "none",
                         "--userns",
                         "/proc/5/ns/user",
                         "--netns",
                         "/proc/5/ns/net"};
  EXPECT_EQ(args, expected);

  usernet::PastaOptions o;
  o.map_gateway = true;
  o.dns_forward = "";
  o.extra = {"--ipv4-only"};
  const auto plain = usernet::pasta_arguments(o, "", "/run/netns/c", "/p", {});
  EXPECT_FALSE(has(plain, "--no-map-gw"));
  EXPECT_FALSE(has(plain, "--dns-forward"));
  EXPECT_FALSE(has(plain, "--userns"));
  EXPECT_TRUE(has(plain, "--ipv4-only"));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "none"), 4);  // -t -u -T -U none
  EXPECT_EQ(plain.back(), "/run/netns/c");

  // A forwarding flag of the user's replaces nsnet's "none" for it (pasta refuses both).
  o.extra = usernet::parse_pasta_options("-T=5201,--udp-ns=53").extra;
  const auto own = usernet::pasta_arguments(o, "", "/run/netns/c", "/p", {});
  EXPECT_TRUE(has(own, "-T5201"));
  EXPECT_TRUE(has(own, "--udp-ns=53"));
  EXPECT_EQ(std::count(own.begin(), own.end(), "none"), 2);  // -t -u none only
}

}  // namespace
}  // namespace usernet_test
