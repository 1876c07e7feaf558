#pragma once

// A fixture for the plugins that hand the container one ready-made link (macvlan, host-device,
// tap): the sandbox's container netns persisted under /run/netns, plugin calls from the "host"
// netns, host-local IPAM in the test's temp dir, and a TCP probe between namespaces.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "netcore/base/unique_fd.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "support/ipam_files.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace nsnet::testing {

class L2PluginTest : public SandboxTest {
 protected:
  explicit L2PluginTest(std::string type) : type_(std::move(type)) {}

  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    netns_name_ = unique_name("l2");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
  }
  void TearDown() override {
    if (!netns_name_.empty()) netcore::net::Netns::delete_persisted_if_exists(netns_name_);
    SandboxTest::TearDown();
  }

  // host-local on 10.62.0.0/24 with a default route, in the test's temp dir.
  nlohmann::json ipam() {
    return {{"type", "host-local"},
            {"dataDir", (temp_dir() / "ipam").string()},
            {"ranges", {{{{"subnet", "10.62.0.0/24"}}}}},
            {"routes", {{{"dst", "0.0.0.0/0"}}}}};
  }
  // The plugin's config: cniVersion, name and type, merged with `extra`.
  nlohmann::json plugin_config(const std::string& version, const nlohmann::json& extra) {
    nlohmann::json conf = {{"cniVersion", version}, {"name", "l2net"}, {"type", type_}};
    conf.merge_patch(extra);
    return conf;
  }

  // Runs the plugin (this project's, or the reference's with dir = kReferencePluginDir) from the
  // "host" netns, as a runtime would.
  PluginRun call(const std::string& command, const nlohmann::json& conf,
                 std::map<std::string, std::string> env = {},
                 const std::filesystem::path& dir = plugin_dir()) {
    env.emplace("CNI_CONTAINERID", "ctr1");
    env.emplace("CNI_NETNS", netns_path_);
    env.emplace("CNI_IFNAME", "eth0");
    // The reference delegates IPAM to its own host-local.
    env.emplace("CNI_PATH", dir.string());
    return host_->run([&] { return exec_plugin(dir, type_, command, env, conf.dump()); });
  }
  // A CHECK/DEL config: `conf` with `add`'s result as prevResult.
  static nlohmann::json with_prev(nlohmann::json conf, const PluginRun& add) {
    conf["prevResult"] = add.json();
    return conf;
  }

  netcore::net::Netlink host_nl() {
    return host_->run([] { return netcore::net::Netlink::connect(); });
  }
  netcore::net::Netlink ctr_nl() {
    return container_->run([] { return netcore::net::Netlink::connect(); });
  }
  static size_t link_count(const netcore::net::Netlink& nl) {
    size_t n = 0;
    for (const auto& l : netcore::net::list_links(nl))
      if (l.name != "lo") ++n;
    return n;
  }
  size_t reservations() { return reserved_addresses(temp_dir() / "ipam" / "l2net").size(); }

  std::string type_;
  std::string netns_name_;
  std::string netns_path_;
};

// A TCP connection from `from` to addr:port, accepted by a listener in `to`; returns the peer
// address the listener saw, or "" when the connection failed within 3 s.
inline std::string tcp_source(const netcore::net::Netns& from, const netcore::net::Netns& to,
                              const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  netcore::UniqueFd listener = to.run([&] {
    netcore::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << addr;
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
  });
  const bool connected = from.run([&] {
    netcore::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      return false;
    pollfd pfd{.fd = fd.get(), .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t len = sizeof error;
    return ::poll(&pfd, 1, 3000) == 1 &&
           ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  });
  if (!connected) return "";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  netcore::UniqueFd conn(
      ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!conn) return "";
  char text[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
}

}  // namespace nsnet::testing
