#pragma once

// The sandbox of the bandwidth tests: a veth pair between the test's "host" and "container"
// namespaces, addressed 10.62.0.1/24 (host) and 10.62.0.2/24 (container), as a main plugin
// would leave it, and the prevResult that plugin would have returned. Shared by
// bandwidth_test.cpp and differential_bandwidth_test.cpp.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/tc.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace nsnet::testing {

class BandwidthFixture : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    netns_name_ = unique_name("bw");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
    host_veth_ = add_veth("eth0", "10.62.0");
  }
  void TearDown() override {
    if (!netns_name_.empty()) netcore::net::Netns::delete_persisted_if_exists(netns_name_);
    SandboxTest::TearDown();
  }

  netcore::net::Netlink host_nl() {
    return host_->run([] { return netcore::net::Netlink::connect(); });
  }
  netcore::net::Netlink ctr_nl() {
    return container_->run([] { return netcore::net::Netlink::connect(); });
  }

  // A veth pair, up: a uniquely named host end with SUBNET.1/24, `ifname` in the container with
  // SUBNET.2/24. Returns the host end's name.
  std::string add_veth(const std::string& ifname, const std::string& subnet) {
    namespace net = netcore::net;
    const auto hnl = host_nl();
    const auto cnl = ctr_nl();
    const std::string name = unique_name("bh" + ifname.substr(ifname.size() - 1));
    const auto host =
        net::create_veth(hnl, {.name = name, .peer_name = ifname, .peer_netns = &*container_});
    const auto ctr = net::get_link(cnl, ifname);
    net::add_address(hnl, host.index, net::Prefix::parse(subnet + ".1/24"));
    net::add_address(cnl, ctr.index, net::Prefix::parse(subnet + ".2/24"));
    net::set_up(hnl, host.index);
    net::set_up(cnl, ctr.index);
    return name;
  }

  // The prevResult of the plugin that made the veth (spec 1.0.0 shape).
  nlohmann::json prev_result(const std::string& host_veth, const std::string& ifname = "eth0") {
    return {{"cniVersion", "1.0.0"},
            {"interfaces",
             {{{"name", host_veth}, {"mac", "02:00:00:00:00:01"}},
              {{"name", ifname}, {"mac", "02:00:00:00:00:02"}, {"sandbox", netns_path_}}}},
            {"ips", {{{"address", "10.62.0.2/24"}, {"interface", 1}}}}};
  }

  nlohmann::json config(const nlohmann::json& shaping, const std::string& version = "1.0.0") {
    nlohmann::json conf = {{"cniVersion", version},
                           {"name", "bwnet"},
                           {"type", "bandwidth"},
                           {"prevResult", prev_result(host_veth_)}};
    conf.merge_patch(shaping);
    return conf;
  }

  // Runs a plugin (ours by default) from the "host" namespace, as a runtime there would.
  PluginRun call(const std::string& command, const nlohmann::json& conf,
                 std::map<std::string, std::string> env = {},
                 const std::filesystem::path& dir = plugin_dir()) {
    env.emplace("CNI_CONTAINERID", "ctr1");
    env.emplace("CNI_NETNS", netns_path_);
    env.emplace("CNI_IFNAME", "eth0");
    return host_->run([&] { return exec_plugin(dir, "bandwidth", command, env, conf.dump()); });
  }

  // Links of the host namespace of kind "ifb".
  std::vector<netcore::net::LinkInfo> ifbs() {
    std::vector<netcore::net::LinkInfo> result;
    for (auto& l : netcore::net::list_links(host_nl()))
      if (l.kind == "ifb") result.push_back(l);
    return result;
  }
  // Qdiscs of the host namespace other than the kernel's defaults (handle 0).
  std::vector<netcore::net::QdiscInfo> configured_qdiscs() {
    std::vector<netcore::net::QdiscInfo> result;
    for (auto& q : netcore::net::list_qdiscs(host_nl()))
      if (q.handle != 0) result.push_back(q);
    return result;
  }

  std::string netns_name_;
  std::string netns_path_;
  std::string host_veth_;
};

}  // namespace nsnet::testing
