#include "lab/lab_builder.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/throwaway_thread.hpp>
#include <netcore/cni/runtime.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/neighbour.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/route.hpp>
#include <netcore/net/sysctl.hpp>
#include <netcore/net/tc.hpp>

#include "lab/lab_processes.hpp"

namespace nsnet::lab {

namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using netcore::net::IpAddress;
using netcore::net::LinkInfo;
using netcore::net::Netlink;
using netcore::net::Netns;
using netcore::net::Prefix;
using nlohmann::json;

namespace {

// host-local keeps its reservations in the lab, one directory per node (each node is a machine
// of its own), unless the network names a dataDir itself.
netcore::cni::NetworkList with_lab_ipam(const netcore::cni::NetworkList& list,
                                        const fs::path& ipam_dir) {
  json document = json::parse(list.bytes);
  bool changed = false;
  if (document.contains("plugins") && document["plugins"].is_array()) {
    for (auto& plugin : document["plugins"]) {
      if (!plugin.contains("ipam") || !plugin["ipam"].is_object()) continue;
      auto& ipam = plugin["ipam"];
      if (ipam.value("type", "") == "host-local" && !ipam.contains("dataDir")) {
        ipam["dataDir"] = ipam_dir.string();
        changed = true;
      }
    }
  }
  return changed ? netcore::cni::NetworkList::parse(document.dump()) : list;
}

// A node: its namespaces and a netlink socket in its network namespace.
struct NodeHandle {
  const Node* node = nullptr;
  Netns net;
  Netlink nl;
};

Netlink connect_in(const Netns& ns) {
  return ns.run([] { return Netlink::connect(); });
}

// Readies a new node or pod namespace and returns a netlink socket in it. IPv6 duplicate address
// detection is off for every interface to come: the lab is a closed world, and link-local
// addresses that stay tentative for a second would fail the first checks (neighbour discovery
// needs them).
Netlink prepare_namespace(const Netns& ns) {
  return ns.run([] {
    for (const char* key : {"net/ipv6/conf/default/accept_dad", "net/ipv6/conf/all/accept_dad"})
      (void)netcore::net::write_sysctl_if_exists(key, "0");
    Netlink nl = Netlink::connect();
    netcore::net::set_up(nl, netcore::net::get_link(nl, "lo").index);
    return nl;
  });
}

// A UTS namespace holding `hostname`, bind-mounted at `file`. unshare(CLONE_NEWUTS) moves only
// the calling thread, so it runs on a thread of its own that is discarded afterwards (like a
// thread that entered a network namespace).
void create_uts_namespace(const std::string& hostname, const fs::path& file) {
  netcore::on_throwaway_thread([&] {
    if (::unshare(CLONE_NEWUTS) != 0) netcore::throw_errno("unshare UTS namespace");
    if (::sethostname(hostname.data(), hostname.size()) != 0)
      netcore::throw_errno("set host name " + hostname);
    netcore::UniqueFd placeholder(
        ::open(file.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!placeholder) netcore::throw_errno("create " + file.string());
    if (::mount("/proc/thread-self/ns/uts", file.c_str(), "none", MS_BIND, nullptr) != 0) {
      const int err = errno;
      ::unlink(file.c_str());
      throw netcore::SysError("bind mount UTS namespace at " + file.string(), err);
    }
  });
}

void add_addresses(const Netlink& nl, int ifindex, const std::vector<Prefix>& addresses) {
  // No duplicate address detection: the lab is a closed world, and checks run at once.
  for (const auto& address : addresses)
    netcore::net::add_address(nl, ifindex, address, {.nodad = true});
}

void add_rate_limit(const Netlink& nl, int ifindex, std::uint64_t bits_per_second, unsigned mtu) {
  const std::uint64_t rate = std::max<std::uint64_t>(bits_per_second / 8, 1);
  // A bucket of 10 ms at the rate (at least two frames) and 25 ms of queue, like the bandwidth
  // plugin's latency.
  const std::uint64_t burst = std::max<std::uint64_t>(rate / 100, 2ull * (mtu + 14));
  netcore::net::add_root_tbf(nl, ifindex, netcore::net::tbf_with_latency(rate, burst, 25'000));
}

class Builder {
 public:
  Builder(const Topology& topology, const NodeNetworks& networks, const LabDir& dir,
          LabRecord& record, const netcore::cni::PluginRunner& runner, unsigned parallelism)
      : t_(topology), networks_(networks), dir_(dir), record_(record), runner_(runner),
        parallelism_(std::max(parallelism, 1u)) {}

  void build() {
    create_nodes();
    create_links();
    create_switches();
    for (auto& handle : nodes_) apply_sysctls(handle);
    for (auto& handle : nodes_) add_routes(handle);
    if (t_.cluster) wire_cluster();
    attach_pods();
    start_commands();
  }

 private:
  NodeHandle& node(const std::string& name) {
    for (auto& handle : nodes_)
      if (handle.node->name == name) return handle;
    throw Error(ErrorCode::kInternal, "no node " + name);  // the parser makes this unreachable
  }

  void create_nodes() {
    fs::create_directories(dir_.ns_dir());
    for (const auto& n : t_.nodes) {
      try {
        Netns net = Netns::create();
        net.persist(node_ns_name(n.name), dir_.ns_dir());
        create_uts_namespace(n.hostname, dir_.ns_dir() / node_uts_name(n.name));
        Netlink nl = prepare_namespace(net);
        nodes_.push_back({&n, std::move(net), std::move(nl)});
      } catch (Error& e) {
        e.prefix("node " + n.name);
        throw;
      }
    }
  }

  void create_links() {
    for (const auto& l : t_.links) {
      try {
        auto& a = node(l.a.node);
        auto& b = node(l.b.node);
        const LinkInfo end_a = netcore::net::create_veth(
            a.nl, {.name = l.a.ifname, .peer_name = l.b.ifname, .peer_netns = &b.net, .mtu = l.mtu});
        const LinkInfo end_b = netcore::net::get_link(b.nl, l.b.ifname);
        configure_end(a.nl, end_a.index, l.a_addresses, l.rate, l.mtu);
        configure_end(b.nl, end_b.index, l.b_addresses, l.rate, l.mtu);
      } catch (Error& e) {
        e.prefix("link " + l.a.to_string() + " - " + l.b.to_string());
        throw;
      }
    }
  }

  static void configure_end(const Netlink& nl, int ifindex, const std::vector<Prefix>& addresses,
                            const std::optional<std::uint64_t>& rate, unsigned mtu) {
    if (rate) add_rate_limit(nl, ifindex, *rate, mtu);
    netcore::net::set_up(nl, ifindex);
    add_addresses(nl, ifindex, addresses);
  }

  void create_switches() {
    if (t_.switches.empty()) return;
    Netns net = Netns::create();
    net.persist(kSwitchesNsName, dir_.ns_dir());
    Netlink nl = connect_in(net);
    for (std::size_t s = 0; s < t_.switches.size(); ++s) {
      const auto& sw = t_.switches[s];
      try {
        const LinkInfo bridge =
            netcore::net::ensure_bridge(nl, {.name = sw.name, .mtu = sw.mtu, .fixed_mac = true});
        for (std::size_t m = 0; m < sw.members.size(); ++m) {
          const auto& member = sw.members[m];
          auto& peer = node(member.endpoint.node);
          // Ports are named by position: "p<switch>.<member>" always fits IFNAMSIZ.
          const std::string port_name = "p" + std::to_string(s) + "." + std::to_string(m);
          const LinkInfo port = netcore::net::create_veth(
              nl, {.name = port_name, .peer_name = member.endpoint.ifname, .peer_netns = &peer.net,
                   .mtu = sw.mtu});
          netcore::net::set_alias(nl, port.index, member.endpoint.to_string());
          netcore::net::set_master(nl, port.index, bridge.index);
          netcore::net::set_up(nl, port.index);
          const LinkInfo end = netcore::net::get_link(peer.nl, member.endpoint.ifname);
          netcore::net::set_up(peer.nl, end.index);
          add_addresses(peer.nl, end.index, member.addresses);
        }
      } catch (Error& e) {
        e.prefix("switch " + sw.name);
        throw;
      }
    }
  }

  static void apply_sysctls(NodeHandle& handle) {
    if (handle.node->sysctls.empty()) return;
    try {
      handle.net.run([&] {
        for (const auto& [key, value] : handle.node->sysctls)
          netcore::net::write_sysctl(netcore::net::sysctl_key_from_dotted(key), value);
      });
    } catch (Error& e) {
      e.prefix("node " + handle.node->name);
      throw;
    }
  }

  static void add_routes(NodeHandle& handle) {
    for (const auto& route : handle.node->routes) {
      try {
        netcore::net::add_route(handle.nl, {.dst = route.dst, .gateway = route.via});
      } catch (Error& e) {
        e.prefix("node " + handle.node->name + ": route " + route.dst.to_string());
        throw;
      }
    }
  }

  // The VXLAN device's MAC on the k-th cluster node: locally administered, fixed, so that every
  // node's FDB can name every other node's before they exist.
  static netcore::net::MacAddress vtep_mac(std::size_t k) {
    return netcore::net::MacAddress({0x02, 0x6e, 0x73, 0x00, static_cast<std::uint8_t>(k >> 8),
                                     static_cast<std::uint8_t>(k & 0xff)});
  }

  static Prefix host_prefix(const IpAddress& ip) { return Prefix::host(ip); }

  void wire_cluster() {
    const ClusterPlan plan = plan_cluster(t_);
    std::vector<int> vteps(plan.nodes.size(), 0);
    for (std::size_t k = 0; k < plan.nodes.size(); ++k) {
      const auto& local = plan.nodes[k];
      auto& handle = node(local.node);
      try {
        if (plan.mode == ClusterMode::kVxlan) {
          const LinkInfo underlay = netcore::net::get_link(handle.nl, local.underlay);
          const LinkInfo vxlan = netcore::net::create_vxlan(
              handle.nl, {.name = std::string(kClusterVxlanDevice),
                          .vni = *plan.vni,
                          .local = local.underlay_address.address(),
                          .port = kVxlanPort,
                          .underlay_index = underlay.index,
                          .learning = false,
                          .mtu = local.pod_mtu,
                          .mac = vtep_mac(k)});
          // The pod CIDR's network address on the VXLAN device, as flannel does: the next hop
          // other nodes route this node's pods to, and this node's source toward theirs.
          netcore::net::add_address(handle.nl, vxlan.index,
                                    host_prefix(local.pod_cidr.network().address()), {.nodad = true});
          netcore::net::set_up(handle.nl, vxlan.index);
          vteps[k] = vxlan.index;
        }
        for (std::size_t r = 0; r < plan.nodes.size(); ++r) {
          if (r == k) continue;
          const auto& remote = plan.nodes[r];
          if (plan.mode == ClusterMode::kHostGw) {
            netcore::net::add_route(handle.nl, {.dst = remote.pod_cidr.network(),
                                                .gateway = remote.underlay_address.address()});
            continue;
          }
          const IpAddress next_hop = remote.pod_cidr.network().address();
          netcore::net::add_neighbour(handle.nl, netcore::net::FdbEntry{
                                                     .ifindex = vteps[k],
                                                     .mac = vtep_mac(r),
                                                     .dst = remote.underlay_address.address()});
          netcore::net::add_neighbour(handle.nl, netcore::net::Neighbour{
                                                     .ifindex = vteps[k], .ip = next_hop,
                                                     .mac = vtep_mac(r)});
          netcore::net::add_route(handle.nl, {.dst = remote.pod_cidr.network(),
                                              .gateway = next_hop,
                                              .ifindex = vteps[k],
                                              .onlink = true});
        }
      } catch (Error& e) {
        e.prefix("cluster node " + local.node);
        throw;
      }
    }
  }

  // Pods of one node attach one after another (they share its bridge and IPAM lock); nodes go
  // in parallel.
  void attach_pods() {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr failure;
    std::mutex mutex;
    std::vector<std::vector<PodRecord>> attached(nodes_.size());
    auto work = [&] {
      for (std::size_t i = next++; i < nodes_.size() && !failed; i = next++) {
        try {
          attach_pods_of(nodes_[i], attached[i], failed);
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          failed = true;
        }
      }
    };
    std::vector<std::thread> workers;
    const std::size_t count = std::min<std::size_t>(parallelism_, nodes_.size());
    for (std::size_t w = 0; w < count; ++w) workers.emplace_back(work);
    for (auto& worker : workers) worker.join();
    for (auto& pods : attached)
      for (auto& pod : pods) record_.pods.push_back(std::move(pod));
    dir_.save(record_);
    if (failure) std::rethrow_exception(failure);
  }

  void attach_pods_of(NodeHandle& handle, std::vector<PodRecord>& out,
                      const std::atomic<bool>& failed) {
    const Node& n = *handle.node;
    if (n.pods.empty()) return;
    const netcore::cni::Runtime runtime(runner_, netcore::cni::ResultCache(dir_.cache_dir(n.name)));
    const auto& node_networks = networks_.at(n.name);
    std::vector<Netns> pod_namespaces;
    std::set<IpAddress> cluster_gateways;
    for (const auto& pod : n.pods) {
      if (failed) return;
      try {
        Netns net = Netns::create();
        net.persist(pod_ns_name(n.name, pod.name), dir_.ns_dir());
        (void)prepare_namespace(net);
        PodRecord record{n.name, pod.name, {}};
        for (std::size_t i = 0; i < pod.networks.size(); ++i) {
          const auto& list = node_networks.at(pod.networks[i]);
          const netcore::cni::RuntimeConf rt{
              .container_id = record_.name + "-" + n.name + "-" + pod.name,
              .netns = (dir_.ns_dir() / pod_ns_name(n.name, pod.name)).string(),
              .ifname = pod_ifname(i)};
          // Plugins are run from a thread inside the node: they see the node as their host.
          const auto result = handle.net.run([&] { return runtime.add(list, rt); });
          PodAttachment attachment{list.name, rt.ifname, {}, {}};
          for (const auto& ip : result.ips) {
            attachment.addresses.push_back(ip.address.to_string());
            if (ip.interface && *ip.interface >= 0 &&
                static_cast<std::size_t>(*ip.interface) < result.interfaces.size())
              attachment.mac = result.interfaces[static_cast<std::size_t>(*ip.interface)].mac;
            if (list.name == kClusterNetwork && ip.gateway) cluster_gateways.insert(*ip.gateway);
          }
          record.attachments.push_back(std::move(attachment));
        }
        out.push_back(std::move(record));
        pod_namespaces.push_back(std::move(net));
      } catch (Error& e) {
        e.prefix("pod " + n.name + "/" + pod.name);
        throw;
      }
    }
    if (t_.cluster && t_.cluster->static_neighbours) {
      try {
        add_static_neighbours(handle, out, pod_namespaces, cluster_gateways);
      } catch (Error& e) {
        e.prefix("node " + n.name + ": static neighbours");
        throw;
      }
    }
  }

  // Permanent entries, both ways, between the node's bridge and its pods on the cluster network,
  // and among those pods.
  static void add_static_neighbours(const NodeHandle& handle, const std::vector<PodRecord>& pods,
                                    const std::vector<Netns>& namespaces,
                                    const std::set<IpAddress>& gateways) {
    struct Member {
      std::size_t pod = 0;
      const PodAttachment* attachment = nullptr;
      netcore::net::MacAddress mac;
    };
    std::vector<Member> members;
    for (std::size_t k = 0; k < pods.size(); ++k)
      for (const auto& a : pods[k].attachments)
        if (a.network == kClusterNetwork && !a.mac.empty())
          members.push_back({k, &a, netcore::net::MacAddress::parse(a.mac)});
    if (members.empty()) return;
    const LinkInfo bridge = netcore::net::get_link(handle.nl, std::string(kClusterBridge));
    for (const auto& m : members)
      for (const auto& address : m.attachment->addresses)
        netcore::net::replace_neighbour(
            handle.nl, {.ifindex = bridge.index, .ip = Prefix::parse(address).address(), .mac = m.mac});
    for (const auto& m : members) {
      const Netlink nl = connect_in(namespaces[m.pod]);
      const int ifindex = netcore::net::get_link(nl, m.attachment->ifname).index;
      for (const auto& gateway : gateways)
        netcore::net::replace_neighbour(nl, {.ifindex = ifindex, .ip = gateway, .mac = bridge.mac});
      for (const auto& other : members) {
        if (other.pod == m.pod) continue;
        for (const auto& address : other.attachment->addresses)
          netcore::net::replace_neighbour(
              nl, {.ifindex = ifindex, .ip = Prefix::parse(address).address(), .mac = other.mac});
      }
    }
  }

  void start_commands() {
    for (const auto& handle : nodes_) {
      for (std::size_t i = 0; i < handle.node->commands.size(); ++i) {
        const auto& argv = handle.node->commands[i];
        const fs::path log = dir_.log_dir() / (handle.node->name + "." + std::to_string(i) + ".log");
        record_.processes.push_back(start_node_process(
            dir_, handle.node->name, argv, log));
        dir_.save(record_);
      }
    }
  }

  const Topology& t_;
  const NodeNetworks& networks_;
  const LabDir& dir_;
  LabRecord& record_;
  const netcore::cni::PluginRunner& runner_;
  unsigned parallelism_;
  std::vector<NodeHandle> nodes_;
};

}  // namespace

std::string cluster_conflist(const ClusterPlan& plan, const ClusterNodePlan& node,
                             const fs::path& ipam_dir) {
  const json range = {{"subnet", node.pod_cidr.to_string()},
                      {"gateway", node.gateway.to_string()}};
  const json bridge = {
      {"type", "bridge"},
      {"bridge", std::string(kClusterBridge)},
      {"isGateway", true},
      {"isDefaultGateway", true},
      {"ipMasq", true},
      {"ipMasqExclude", json::array({plan.cidr.to_string()})},
      {"mtu", node.pod_mtu},
      {"ipam", {{"type", "host-local"},
                {"ranges", json::array({json::array({range})})},
                {"dataDir", ipam_dir.string()}}}};
  const json list = {{"cniVersion", "1.1.0"},
                     {"name", std::string(kClusterNetwork)},
                     {"plugins", json::array({bridge})}};
  return list.dump();
}

NodeNetworks resolve_networks(const Topology& topology, const fs::path& lab_path,
                              const fs::path& conf_dir) {
  NodeNetworks resolved;
  std::optional<ClusterPlan> plan;
  if (topology.cluster) plan = plan_cluster(topology);
  for (const auto& n : topology.nodes) {
    auto& lists = resolved[n.name];
    const fs::path ipam_dir = lab_ipam_dir(lab_path, n.name);
    for (const auto& network : n.networks) {
      if (network.conflist) {
        lists.emplace(network.name, with_lab_ipam(*network.conflist, ipam_dir));
        continue;
      }
      auto found = netcore::cni::find_network(conf_dir, network.name);
      if (!found)
        throw Error(ErrorCode::kInvalidNetworkConfig,
                    "node " + n.name + ": network " + network.name + " not found in " +
                        conf_dir.string());
      lists.emplace(network.name, with_lab_ipam(*found, ipam_dir));
    }
    if (plan) {
      for (const auto& cn : plan->nodes)
        if (cn.node == n.name)
          lists.emplace(std::string(kClusterNetwork),
                        netcore::cni::NetworkList::parse(cluster_conflist(*plan, cn, ipam_dir)));
    }
  }
  return resolved;
}

void build_lab(const Topology& topology, const NodeNetworks& networks, const LabDir& dir,
               LabRecord& record, const netcore::cni::PluginRunner& runner, unsigned parallelism) {
  Builder(topology, networks, dir, record, runner, parallelism).build();
}

}  // namespace nsnet::lab
