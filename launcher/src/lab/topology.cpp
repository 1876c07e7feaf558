#include "lab/topology.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/net/tc.hpp"

namespace nsnet::lab {
namespace {

using Json = nlohmann::ordered_json;  // keeps the file's order: nodes are numbered in it
using netcore::Error;
using netcore::ErrorCode;
using netcore::net::IpAddress;
using netcore::net::Prefix;

// A JSON path as messages show it: `nodes.n1.sysctls["net.ipv4.ip_forward"]`, `links[2].a`.
class JsonPath {
 public:
  JsonPath() = default;
  [[nodiscard]] JsonPath key(std::string_view k) const {
    const bool plain = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (plain) return JsonPath(text_.empty() ? std::string(k) : text_ + "." + std::string(k));
    return JsonPath(text_ + "[" +
                    Json(std::string(k)).dump(-1, ' ', false, Json::error_handler_t::replace) +
                    "]");
  }
  [[nodiscard]] JsonPath index(std::size_t i) const {
    return JsonPath(text_ + "[" + std::to_string(i) + "]");
  }
  [[nodiscard]] std::string str() const { return text_.empty() ? "topology" : text_; }

 private:
  explicit JsonPath(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

[[noreturn]] void fail(const JsonPath& path, const std::string& message) {
  throw Error(ErrorCode::kInvalidNetworkConfig, path.str() + ": " + message);
}

// Runs fn; a netcore::Error it throws (a value that does not parse) gets `path` in front.
template <class Fn>
auto at(const JsonPath& path, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    fail(path, e.msg());
  }
}

std::string type_of(const Json& j) { return j.type_name(); }

[[noreturn]] void wrong_type(const JsonPath& path, std::string_view expected, const Json& j) {
  fail(path, "expected " + std::string(expected) + ", got " + type_of(j));
}

// An object whose keys must all be known; reads fields by name.
class Fields {
 public:
  Fields(const Json& j, JsonPath path, std::initializer_list<std::string_view> known)
      : j_(j), path_(std::move(path)) {
    if (!j.is_object()) wrong_type(path_, "an object", j);
    for (const auto& [k, v] : j.items()) {
      if (std::find(known.begin(), known.end(), k) == known.end())
        fail(path_.key(k), "unknown field");
    }
  }
  // nullptr when absent or null.
  [[nodiscard]] const Json* find(std::string_view key) const {
    const auto it = j_.find(std::string(key));
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  [[nodiscard]] const Json& require(std::string_view key) const {
    const Json* v = find(key);
    if (v == nullptr) fail(path_.key(key), "required field is missing");
    return *v;
  }
  [[nodiscard]] JsonPath path(std::string_view key) const { return path_.key(key); }
  [[nodiscard]] const JsonPath& path() const { return path_; }

 private:
  const Json& j_;
  JsonPath path_;
};

std::string get_string(const Json& j, const JsonPath& path) {
  if (!j.is_string()) wrong_type(path, "a string", j);
  std::string s = j.get<std::string>();
  if (s.find('\0') != std::string::npos) fail(path, "contains a NUL character");
  return s;
}

bool get_bool(const Json& j, const JsonPath& path) {
  if (!j.is_boolean()) wrong_type(path, "a boolean", j);
  return j.get<bool>();
}

std::uint64_t get_uint(const Json& j, const JsonPath& path, std::uint64_t min, std::uint64_t max) {
  if (!j.is_number_integer()) wrong_type(path, "an integer", j);
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v >= min && v <= max) return v;
  } else if (const auto v = j.get<std::int64_t>(); v >= 0 && static_cast<std::uint64_t>(v) >= min &&
                                                   static_cast<std::uint64_t>(v) <= max) {
    return static_cast<std::uint64_t>(v);
  }
  fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                 j.dump());
}

// j itself, checked: an array of at most max entries. Only for a j that outlives the call (a
// temporary's reference would dangle: those overloads are deleted).
const Json& get_array(Json&& j, const JsonPath& path, std::size_t max) = delete;
const Json& get_object(Json&& j, const JsonPath& path, std::size_t max) = delete;

const Json& get_array(const Json& j, const JsonPath& path, std::size_t max) {
  if (!j.is_array()) wrong_type(path, "an array", j);
  if (j.size() > max)
    fail(path, "too many entries: " + std::to_string(j.size()) + " (at most " +
                   std::to_string(max) + ")");
  return j;
}

// j itself, checked: an object of at most max members.
const Json& get_object(const Json& j, const JsonPath& path, std::size_t max) {
  if (!j.is_object()) wrong_type(path, "an object", j);
  if (j.size() > max)
    fail(path, "too many entries: " + std::to_string(j.size()) + " (at most " +
                   std::to_string(max) + ")");
  return j;
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9][a-z0-9-]*, at most max bytes: safe in netns names, link names and paths.
void check_name(std::string_view name, std::size_t max, const JsonPath& path) {
  if (name.empty()) fail(path, "must not be empty");
  if (name.size() > max)
    fail(path, "\"" + std::string(name) + "\" is longer than " + std::to_string(max) + " bytes");
  if (!is_lower_alnum(name.front()) ||
      !std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-'; }))
    fail(path, "\"" + std::string(name) + "\" must match [a-z0-9][a-z0-9-]*");
}

// The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
void check_ifname(std::string_view name, const JsonPath& path) {
  const std::string quoted = "interface name \"" + std::string(name) + "\"";
  if (name.empty()) fail(path, "empty interface name");
  if (name.size() > kMaxIfnameLength)
    fail(path, quoted + " is longer than " + std::to_string(kMaxIfnameLength) + " bytes");
  if (name == "." || name == ".." || std::any_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') || c == '\0';
      }))
    fail(path, quoted + " is not valid (no '/', ':' or whitespace, not \".\" or \"..\")");
  if (name == "lo") fail(path, "interface name \"lo\" is the loopback device");
}

// RFC 1123: dot-separated labels of [A-Za-z0-9-], 1..63 bytes, not starting or ending with '-'.
void check_hostname(std::string_view name, const JsonPath& path) {
  const std::string quoted = "\"" + std::string(name) + "\"";
  if (name.empty() || name.size() > 64) fail(path, "hostname " + quoted + " must be 1..64 bytes");
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, end - start);
    const bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' &&
                    label.back() != '-' && std::all_of(label.begin(), label.end(), [](char c) {
                      return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-';
                    });
    if (!ok) fail(path, "hostname " + quoted + " is not a valid RFC 1123 host name");
    start = end + 1;
  }
}

// "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/forwarding": only net.* is per netns.
void check_sysctl_key(std::string_view key, const JsonPath& path) {
  if (key.empty() || key.size() > 255) fail(path, "sysctl name must be 1..255 bytes");
  const char sep = key.find('/') != std::string_view::npos ? '/' : '.';
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = key.find(sep, start);
    parts.push_back(key.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  for (const auto part : parts) {
    if (part.empty() || part == "." || part == ".." ||
        std::any_of(part.begin(), part.end(),
                    [](char c) { return c == '\0' || c == ' ' || (c >= '\t' && c <= '\r'); }))
      fail(path, "not a sysctl name");
  }
  if (parts.front() != "net" || parts.size() < 2)
    fail(path, "only net.* sysctls belong to a network namespace");
}

Prefix parse_interface_address(const Json& j, const JsonPath& path) {
  const std::string text = get_string(j, path);
  if (text.find('/') == std::string::npos)
    fail(path, "\"" + text + "\" needs a prefix length (ADDRESS/LENGTH)");
  Prefix p = at(path, [&] { return Prefix::parse(text); });
  if (p.is_v4() && p.length() <= 30 &&
      (p.address() == p.network().address() || p.address() == p.last_address()))
    fail(path, "\"" + text + "\" is the subnet's network or broadcast address, not a host's");
  return p;
}

std::vector<Prefix> parse_addresses(const Json& j, const JsonPath& path) {
  std::vector<Prefix> out;
  const Json& list = get_array(j, path, kMaxAddressesPerEndpoint);
  for (std::size_t i = 0; i < list.size(); ++i)
    out.push_back(parse_interface_address(list[i], path.index(i)));
  return out;
}

// A network prefix (host bits clear), e.g. a route destination or a CIDR.
Prefix parse_network(const Json& j, const JsonPath& path) {
  const std::string text = get_string(j, path);
  if (text.find('/') == std::string::npos)
    fail(path, "\"" + text + "\" needs a prefix length (ADDRESS/LENGTH)");
  Prefix p = at(path, [&] { return Prefix::parse(text); });
  if (p.address() != p.network().address())
    fail(path,
         "\"" + text + "\" has host bits set (did you mean " + p.network().to_string() + "?)");
  return p;
}

IpAddress parse_ip(const Json& j, const JsonPath& path) {
  const std::string text = get_string(j, path);
  return at(path, [&] { return netcore::net::parse_ip_address(text); });
}

Endpoint parse_endpoint(const Json& j, const JsonPath& path, const Topology& t) {
  const std::string text = get_string(j, path);
  const auto colon = text.find(':');
  if (colon == std::string::npos) fail(path, "\"" + text + "\" is not an endpoint (NODE:IFNAME)");
  Endpoint e{text.substr(0, colon), text.substr(colon + 1)};
  if (t.find_node(e.node) == nullptr) fail(path, "unknown node \"" + e.node + "\"");
  check_ifname(e.ifname, path);
  return e;
}

unsigned parse_mtu(const Fields& f) {
  const Json* j = f.find("mtu");
  return j ? static_cast<unsigned>(get_uint(*j, f.path("mtu"), kMinMtu, kMaxMtu)) : kDefaultMtu;
}

std::vector<std::string> parse_argv(const Json& j, const JsonPath& path) {
  const Json& list = get_array(j, path, 4096);
  if (list.empty()) fail(path, "a command needs at least a program");
  std::vector<std::string> argv;
  for (std::size_t i = 0; i < list.size(); ++i) argv.push_back(get_string(list[i], path.index(i)));
  if (argv.front().empty()) fail(path.index(0), "empty program name");
  return argv;
}

NodeNetwork parse_node_network(const Json& j, const JsonPath& path) {
  if (j.is_string()) {
    std::string name = get_string(j, path);
    if (!netcore::cni::is_valid_cni_name(name))
      fail(path, "\"" + name + "\" is not a CNI network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
    return {std::move(name), std::nullopt};
  }
  if (!j.is_object()) wrong_type(path, "a network name or an inline conflist object", j);
  const std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  auto list = at(path, [&] { return netcore::cni::NetworkList::parse(text); });
  std::string name = list.name;
  return {std::move(name), std::move(list)};
}

Node parse_node(const std::string& name, const Json& j, const JsonPath& path) {
  const Fields f(j, path, {"hostname", "sysctls", "commands", "routes", "networks", "pods"});
  Node node;
  node.name = name;
  node.hostname = name;
  if (const Json* v = f.find("hostname")) {
    node.hostname = get_string(*v, f.path("hostname"));
    check_hostname(node.hostname, f.path("hostname"));
  }
  if (const Json* v = f.find("sysctls")) {
    const JsonPath p = f.path("sysctls");
    for (const auto& [key, value] : get_object(*v, p, kMaxSysctlsPerNode).items()) {
      check_sysctl_key(key, p.key(key));
      std::string text = get_string(value, p.key(key));
      if (text.empty() || text.find('\n') != std::string::npos)
        fail(p.key(key), "a sysctl value is one non-empty line");
      node.sysctls.emplace_back(key, std::move(text));
    }
  }
  if (const Json* v = f.find("commands")) {
    const JsonPath p = f.path("commands");
    const Json& list = get_array(*v, p, kMaxCommandsPerNode);
    for (std::size_t i = 0; i < list.size(); ++i)
      node.commands.push_back(parse_argv(list[i], p.index(i)));
  }
  if (const Json* v = f.find("routes")) {
    const JsonPath p = f.path("routes");
    const Json& list = get_array(*v, p, kMaxRoutesPerNode);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Fields r(list[i], p.index(i), {"dst", "via"});
      Route route{parse_network(r.require("dst"), r.path("dst")),
                  parse_ip(r.require("via"), r.path("via"))};
      if (route.dst.is_v4() != route.via.is_v4())
        fail(r.path("via"), "gateway " + route.via.to_string() + " is not of the family of " +
                                route.dst.to_string());
      node.routes.push_back(std::move(route));
    }
  }
  if (const Json* v = f.find("networks")) {
    const JsonPath p = f.path("networks");
    const Json& list = get_array(*v, p, kMaxNetworksPerNode);
    for (std::size_t i = 0; i < list.size(); ++i) {
      NodeNetwork network = parse_node_network(list[i], p.index(i));
      if (network.name == kClusterNetwork)
        fail(p.index(i), "network name \"cluster\" is reserved for the cluster pod network");
      for (const auto& other : node.networks)
        if (other.name == network.name)
          fail(p.index(i), "network \"" + network.name + "\" is listed twice");
      node.networks.push_back(std::move(network));
    }
  }
  if (const Json* v = f.find("pods")) {
    const JsonPath p = f.path("pods");
    for (const auto& [pod_name, value] : get_object(*v, p, kMaxPodsPerNode).items()) {
      check_name(pod_name, kMaxPodNameLength, p.key(pod_name));
      const Fields pf(value, p.key(pod_name), {"networks"});
      Pod pod{pod_name, {}};
      const JsonPath np = pf.path("networks");
      const Json& list = get_array(pf.require("networks"), np, kMaxNetworksPerNode);
      if (list.empty()) fail(np, "a pod needs at least one network");
      for (std::size_t i = 0; i < list.size(); ++i) {
        std::string net = get_string(list[i], np.index(i));
        if (std::find(pod.networks.begin(), pod.networks.end(), net) != pod.networks.end())
          fail(np.index(i), "network \"" + net + "\" is listed twice");
        pod.networks.push_back(std::move(net));
      }
      node.pods.push_back(std::move(pod));
    }
  }
  return node;
}

Link parse_link(const Json& j, const JsonPath& path, const Topology& t) {
  const Fields f(j, path, {"a", "b", "addresses", "mtu", "rate"});
  Link link;
  link.a = parse_endpoint(f.require("a"), f.path("a"), t);
  link.b = parse_endpoint(f.require("b"), f.path("b"), t);
  if (link.a == link.b) fail(f.path("b"), "both ends are " + link.a.to_string());
  if (const Json* v = f.find("addresses")) {
    const Fields a(*v, f.path("addresses"), {"a", "b"});
    if (const Json* x = a.find("a")) link.a_addresses = parse_addresses(*x, a.path("a"));
    if (const Json* x = a.find("b")) link.b_addresses = parse_addresses(*x, a.path("b"));
  }
  link.mtu = parse_mtu(f);
  if (const Json* v = f.find("rate")) {
    const std::string text = get_string(*v, f.path("rate"));
    link.rate = at(f.path("rate"), [&] { return parse_rate(text); });
  }
  return link;
}

Switch parse_switch(const std::string& name, const Json& j, const JsonPath& path,
                    const Topology& t) {
  const Fields f(j, path, {"members", "mtu"});
  Switch sw{name, {}, parse_mtu(f)};
  const JsonPath mp = f.path("members");
  const Json& members = get_object(f.require("members"), mp, kMaxSwitchMembers);
  if (members.size() < 2) fail(mp, "a switch needs at least two members");
  for (const auto& [endpoint, addresses] : members.items()) {
    const JsonPath p = mp.key(endpoint);
    sw.members.push_back({parse_endpoint(Json(endpoint), p, t), parse_addresses(addresses, p)});
  }
  return sw;
}

// Every interface the file gives a node (link ends and switch members), with where it is
// defined, its addresses and its MTU.
struct Interface {
  JsonPath path;
  std::vector<std::pair<Prefix, JsonPath>> addresses;
  unsigned mtu = kDefaultMtu;
};
using InterfaceMap = std::map<std::pair<std::string, std::string>, Interface>;

InterfaceMap collect_interfaces(const Topology& t) {
  InterfaceMap out;
  const auto add = [&](const Endpoint& e, const JsonPath& path,
                       const std::vector<Prefix>& addresses, const JsonPath& addresses_path,
                       unsigned mtu) {
    const auto [it, inserted] = out.try_emplace({e.node, e.ifname}, Interface{path, {}, mtu});
    if (!inserted)
      fail(path, "interface " + e.to_string() + " is already used at " + it->second.path.str());
    for (std::size_t i = 0; i < addresses.size(); ++i)
      it->second.addresses.emplace_back(addresses[i], addresses_path.index(i));
  };
  const JsonPath links = JsonPath().key("links");
  for (std::size_t i = 0; i < t.links.size(); ++i) {
    const Link& l = t.links[i];
    const JsonPath p = links.index(i);
    add(l.a, p.key("a"), l.a_addresses, p.key("addresses").key("a"), l.mtu);
    add(l.b, p.key("b"), l.b_addresses, p.key("addresses").key("b"), l.mtu);
  }
  const JsonPath switches = JsonPath().key("switches");
  for (const Switch& sw : t.switches) {
    for (const SwitchMember& m : sw.members) {
      const JsonPath p = switches.key(sw.name).key("members").key(m.endpoint.to_string());
      add(m.endpoint, p, m.addresses, p, sw.mtu);
    }
  }
  return out;
}

// Lab-wide rules on interfaces: each address once, IPv6 needs an MTU of at least 1280.
void check_interfaces(const InterfaceMap& interfaces) {
  std::map<IpAddress, JsonPath> seen;
  for (const auto& [key, iface] : interfaces) {
    for (const auto& [prefix, path] : iface.addresses) {
      const auto [it, inserted] = seen.emplace(prefix.address(), path);
      if (!inserted)
        fail(path,
             "address " + prefix.address().to_string() + " is already used at " + it->second.str());
      if (!prefix.is_v4() && iface.mtu < kMinIpv6Mtu)
        fail(path,
             "IPv6 needs an MTU of at least 1280, the interface has " + std::to_string(iface.mtu));
    }
  }
}

// Routes must leave through a subnet the node is on.
void check_routes(const Topology& t, const InterfaceMap& interfaces) {
  for (const Node& node : t.nodes) {
    for (std::size_t i = 0; i < node.routes.size(); ++i) {
      const Route& r = node.routes[i];
      bool on_link = false;
      for (auto it = interfaces.lower_bound({node.name, ""});
           it != interfaces.end() && it->first.first == node.name; ++it)
        for (const auto& [prefix, path] : it->second.addresses)
          on_link = on_link || (prefix.is_v4() == r.via.is_v4() && prefix.contains(r.via));
      if (!on_link)
        fail(JsonPath().key("nodes").key(node.name).key("routes").index(i).key("via"),
             "gateway " + r.via.to_string() + " is on none of the node's subnets");
    }
  }
}

Cluster parse_cluster(const Json& j, const Topology& t) {
  const Fields f(j, JsonPath().key("cluster"),
                 {"cidr", "nodePrefix", "mode", "vni", "staticNeighbours", "nodes"});
  Cluster c;
  c.cidr = parse_network(f.require("cidr"), f.path("cidr"));
  c.node_prefix = c.cidr.is_v4() ? kDefaultNodePrefixV4 : kDefaultNodePrefixV6;
  if (const Json* v = f.find("nodePrefix"))
    c.node_prefix = static_cast<unsigned>(
        get_uint(*v, f.path("nodePrefix"), c.cidr.length(), c.cidr.max_length() - 2));
  else if (c.node_prefix < c.cidr.length())
    fail(f.path("cidr"), "is smaller than the default node prefix /" +
                             std::to_string(c.node_prefix) + "; set nodePrefix");
  const std::string mode = get_string(f.require("mode"), f.path("mode"));
  if (mode == "host-gw")
    c.mode = ClusterMode::kHostGw;
  else if (mode == "vxlan")
    c.mode = ClusterMode::kVxlan;
  else
    fail(f.path("mode"), "\"" + mode + "\" is not host-gw or vxlan");
  if (const Json* v = f.find("vni")) {
    if (c.mode != ClusterMode::kVxlan) fail(f.path("vni"), "only for mode vxlan");
    c.vni = static_cast<std::uint32_t>(get_uint(*v, f.path("vni"), 1, kMaxVni));
  }
  if (const Json* v = f.find("staticNeighbours"))
    c.static_neighbours = get_bool(*v, f.path("staticNeighbours"));
  const JsonPath np = f.path("nodes");
  const Json& nodes = get_object(f.require("nodes"), np, kMaxNodes);
  if (nodes.empty()) fail(np, "a cluster needs at least one node");
  for (const auto& [name, value] : nodes.items())
    if (t.find_node(name) == nullptr) fail(np.key(name), "unknown node \"" + name + "\"");
  // In the order of the top-level "nodes": the order pod CIDRs are assigned in.
  for (const Node& node : t.nodes) {
    const auto it = nodes.find(node.name);
    if (it == nodes.end()) continue;
    const Fields nf(*it, np.key(node.name), {"underlay", "address", "podCidr"});
    ClusterNode cn{node.name, get_string(nf.require("underlay"), nf.path("underlay")), std::nullopt,
                   std::nullopt};
    check_ifname(cn.underlay, nf.path("underlay"));
    if (const Json* v = nf.find("address")) cn.address = parse_ip(*v, nf.path("address"));
    if (const Json* v = nf.find("podCidr")) cn.pod_cidr = parse_network(*v, nf.path("podCidr"));
    c.nodes.push_back(std::move(cn));
  }
  return c;
}

// How many pods fit a pod CIDR: all addresses but the gateway (and IPv4's network and
// broadcast addresses). Capped well above any limit.
std::uint64_t pod_capacity(const Prefix& cidr) {
  const unsigned host_bits = cidr.max_length() - cidr.length();
  if (host_bits >= 32) return std::uint64_t{1} << 32;
  const std::uint64_t size = std::uint64_t{1} << host_bits;
  return cidr.is_v4() ? size - 3 : size - 1;
}

// The pods of each node on the cluster network fit its pod CIDR; pods name networks the node has.
void check_pods(const Topology& t, const std::optional<ClusterPlan>& plan) {
  for (const Node& node : t.nodes) {
    const ClusterNodePlan* cluster_node = nullptr;
    if (plan)
      for (const auto& n : plan->nodes)
        if (n.node == node.name) cluster_node = &n;
    std::uint64_t on_cluster = 0;
    const JsonPath pods = JsonPath().key("nodes").key(node.name).key("pods");
    for (const Pod& pod : node.pods) {
      for (std::size_t i = 0; i < pod.networks.size(); ++i) {
        const std::string& net = pod.networks[i];
        const JsonPath p = pods.key(pod.name).key("networks").index(i);
        if (net == kClusterNetwork) {
          if (cluster_node == nullptr)
            fail(p, "node " + node.name + " is not in the cluster (cluster.nodes)");
          if (++on_cluster > pod_capacity(cluster_node->pod_cidr))
            fail(p, "pod CIDR " + cluster_node->pod_cidr.to_string() + " of node " + node.name +
                        " has room for " + std::to_string(pod_capacity(cluster_node->pod_cidr)) +
                        " pods");
        } else if (std::none_of(node.networks.begin(), node.networks.end(),
                                [&](const NodeNetwork& n) { return n.name == net; })) {
          fail(p, "node " + node.name + " has no network \"" + net + "\"");
        }
      }
    }
  }
}

const Pod* find_pod(const Node& node, std::string_view name) {
  for (const Pod& p : node.pods)
    if (p.name == name) return &p;
  return nullptr;
}

bool has_address(const std::string& node, const InterfaceMap& interfaces) {
  for (auto it = interfaces.lower_bound({node, ""});
       it != interfaces.end() && it->first.first == node; ++it)
    if (!it->second.addresses.empty()) return true;
  return false;
}

// A check's end: NODE or NODE/POD, or (allow_ip, a destination) an IP. A node as a target needs
// an address to be reached at.
CheckPeer parse_peer(const Json& j, const JsonPath& path, const Topology& t, bool allow_ip,
                     bool is_target, const InterfaceMap& interfaces) {
  const std::string text = get_string(j, path);
  CheckPeer peer;
  if (text.find_first_of(".:") != std::string::npos) {
    if (!allow_ip) fail(path, "\"" + text + "\" is not NODE or NODE/POD (a check runs from there)");
    peer.ip = at(path, [&] { return netcore::net::parse_ip_address(text); });
    return peer;
  }
  const auto slash = text.find('/');
  peer.node = text.substr(0, slash);
  const Node* node = t.find_node(peer.node);
  if (node == nullptr) fail(path, "unknown node \"" + peer.node + "\"");
  if (slash != std::string::npos) {
    peer.pod = text.substr(slash + 1);
    if (find_pod(*node, peer.pod) == nullptr)
      fail(path, "node " + peer.node + " has no pod \"" + peer.pod + "\"");
  } else if (is_target && !has_address(peer.node, interfaces)) {
    fail(path, "node " + peer.node + " has no address on a link or switch" +
                   (allow_ip ? "; name an IP instead" : ""));
  }
  return peer;
}

// proto, port and expect, shared by reach and mesh entries.
struct ProbeSpec {
  Proto proto = Proto::kIcmp;
  std::optional<std::uint16_t> port;
  bool expect = true;
};

ProbeSpec parse_probe(const Fields& c) {
  ProbeSpec spec;
  if (const Json* v = c.find("proto")) {
    const std::string proto = get_string(*v, c.path("proto"));
    if (proto == "icmp")
      spec.proto = Proto::kIcmp;
    else if (proto == "tcp")
      spec.proto = Proto::kTcp;
    else if (proto == "udp")
      spec.proto = Proto::kUdp;
    else
      fail(c.path("proto"), "\"" + proto + "\" is not tcp, udp or icmp");
  }
  if (const Json* v = c.find("port")) {
    if (spec.proto == Proto::kIcmp) fail(c.path("port"), "only for tcp and udp");
    spec.port = static_cast<std::uint16_t>(get_uint(*v, c.path("port"), 1, 65535));
  } else if (spec.proto != Proto::kIcmp) {
    fail(c.path("port"), "required for " + std::string(to_string(spec.proto)));
  }
  if (const Json* v = c.find("expect")) spec.expect = get_bool(*v, c.path("expect"));
  return spec;
}

// A mesh's peers: "pods", "nodes" or a list of distinct NODE / NODE/POD; at least two.
std::vector<CheckPeer> parse_among(const Json& j, const JsonPath& path, const Topology& t,
                                   const InterfaceMap& interfaces) {
  std::vector<CheckPeer> among;
  if (j.is_string()) {
    const std::string what = get_string(j, path);
    if (what == "pods") {
      for (const Node& node : t.nodes)
        for (const Pod& pod : node.pods) among.push_back({node.name, pod.name, std::nullopt});
    } else if (what == "nodes") {
      for (const Node& node : t.nodes) {
        if (!has_address(node.name, interfaces))
          fail(path,
               "node " + node.name + " has no address on a link or switch; list the peers instead");
        among.push_back({node.name, "", std::nullopt});
      }
    } else {
      fail(path, "\"" + what + "\" is not \"pods\", \"nodes\" or a list of NODE or NODE/POD");
    }
    if (among.size() < 2)
      fail(path, "the lab has " + std::to_string(among.size()) + " " +
                     (what == "pods" ? "pod" : "node") + (among.size() == 1 ? "" : "s") +
                     "; a mesh needs at least two peers");
    return among;
  }
  if (!j.is_array()) wrong_type(path, "\"pods\", \"nodes\" or an array", j);
  const Json& list = get_array(j, path, kMaxMeshPeers);
  for (std::size_t i = 0; i < list.size(); ++i) {
    CheckPeer peer = parse_peer(list[i], path.index(i), t, false, true, interfaces);
    const auto first = std::find(among.begin(), among.end(), peer);
    if (first != among.end())
      fail(path.index(i), "\"" + peer.to_string() + "\" is already listed at " +
                              path.index(static_cast<std::size_t>(first - among.begin())).str());
    among.push_back(std::move(peer));
  }
  if (among.size() < 2) fail(path, "a mesh needs at least two peers");
  return among;
}

void parse_checks(const Json& j, Topology& t, const InterfaceMap& interfaces) {
  const Fields f(j, JsonPath().key("checks"), {"reach", "mesh"});
  std::size_t expanded = 0;
  if (const Json* reach = f.find("reach")) {
    const JsonPath rp = f.path("reach");
    const Json& list = get_array(*reach, rp, kMaxChecks);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Fields c(list[i], rp.index(i), {"from", "to", "proto", "port", "expect"});
      ReachCheck check;
      check.from = parse_peer(c.require("from"), c.path("from"), t, false, false, interfaces);
      check.to = parse_peer(c.require("to"), c.path("to"), t, true, true, interfaces);
      const ProbeSpec spec = parse_probe(c);
      check.proto = spec.proto;
      check.port = spec.port;
      check.expect = spec.expect;
      t.reach.push_back(std::move(check));
    }
    expanded = t.reach.size();
  }
  if (const Json* mesh = f.find("mesh")) {
    const JsonPath mp = f.path("mesh");
    const Json& list = get_array(*mesh, mp, kMaxMeshChecks);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Fields c(list[i], mp.index(i), {"among", "proto", "port", "expect"});
      MeshCheck check;
      check.among = parse_among(c.require("among"), c.path("among"), t, interfaces);
      const ProbeSpec spec = parse_probe(c);
      check.proto = spec.proto;
      check.port = spec.port;
      check.expect = spec.expect;
      // n <= kMaxMeshPeers, so n * (n - 1) cannot overflow.
      const std::size_t pairs = check.among.size() * (check.among.size() - 1);
      expanded += pairs;
      if (expanded > kMaxExpandedChecks)
        fail(c.path("among"), "expands to " + std::to_string(pairs) +
                                  " checks; with those before it, more than " +
                                  std::to_string(kMaxExpandedChecks));
      t.mesh.push_back(std::move(check));
    }
  }
}

Json parse_document(std::string_view text) {
  // The parser itself is iterative; refusing deep nesting keeps later recursive walks (dump)
  // safe, as netcore::cni::parse_json does.
  const Json::parser_callback_t depth_check = [](int depth, Json::parse_event_t, Json&) {
    if (static_cast<std::size_t>(depth) > netcore::cni::kMaxJsonDepth)
      throw Error(ErrorCode::kDecodingFailure, "topology: nesting deeper than " +
                                                   std::to_string(netcore::cni::kMaxJsonDepth) +
                                                   " levels");
    return true;
  };
  try {
    return Json::parse(text, depth_check);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kDecodingFailure,
                "topology: " + netcore::cni::detail::json_error_message(e));
  }
}

}  // namespace

const Node* Topology::find_node(std::string_view name) const noexcept {
  for (const Node& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

std::string CheckPeer::to_string() const {
  if (ip) return ip->to_string();
  return pod.empty() ? node : node + "/" + pod;
}

std::vector<ReachCheck> all_checks(const Topology& t) {
  std::size_t total = t.reach.size();
  for (const MeshCheck& m : t.mesh) total += m.among.size() * (m.among.size() - 1);
  std::vector<ReachCheck> out;
  out.reserve(total);
  out.insert(out.end(), t.reach.begin(), t.reach.end());
  for (const MeshCheck& m : t.mesh)
    for (std::size_t a = 0; a < m.among.size(); ++a)
      for (std::size_t b = 0; b < m.among.size(); ++b)
        if (a != b) out.push_back({m.among[a], m.among[b], m.proto, m.port, m.expect});
  return out;
}

std::string_view to_string(ClusterMode mode) noexcept {
  return mode == ClusterMode::kVxlan ? "vxlan" : "host-gw";
}

std::string_view to_string(Proto proto) noexcept {
  switch (proto) {
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
    case Proto::kIcmp:
      break;
  }
  return "icmp";
}

std::string pod_ifname(std::size_t index) {
  return index == 0 ? "eth0" : "net" + std::to_string(index);
}

std::uint64_t parse_rate(std::string_view text) {
  const std::string quoted = "rate \"" + std::string(text) + "\"";
  double value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || text.empty() || text.front() == '-' || !std::isfinite(value))
    throw Error(ErrorCode::kInvalidNetworkConfig, quoted + " does not start with a number");
  std::string unit(end, text.data() + text.size());
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // tc(8)'s units: *bit are bits per second, *bps bytes per second; k/m/g/t are powers of
  // 1000, ki/mi/gi/ti powers of 1024; a bare number is bits per second.
  static constexpr std::array<std::pair<std::string_view, double>, 19> kUnits{{
      {"", 1},
      {"bit", 1},
      {"kbit", 1e3},
      {"mbit", 1e6},
      {"gbit", 1e9},
      {"tbit", 1e12},
      {"kibit", 1024.0},
      {"mibit", 1048576.0},
      {"gibit", 1073741824.0},
      {"tibit", 1099511627776.0},
      {"bps", 8},
      {"kbps", 8e3},
      {"mbps", 8e6},
      {"gbps", 8e9},
      {"tbps", 8e12},
      {"kibps", 8 * 1024.0},
      {"mibps", 8 * 1048576.0},
      {"gibps", 8 * 1073741824.0},
      {"tibps", 8 * 1099511627776.0},
  }};
  const auto unit_it =
      std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& u) { return u.first == unit; });
  if (unit_it == kUnits.end())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                quoted + ": unknown unit \"" + unit + "\" (bit, kbit, mbit, gbit, bps, ...)");
  const double bits = value * unit_it->second;
  const double max_bits = 8.0 * static_cast<double>(netcore::net::kMaxTbfValue);
  if (bits < 8 || bits > max_bits)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                quoted + " is out of range (8bit .. " +
                    std::to_string(static_cast<std::uint64_t>(max_bits)) + "bit)");
  return static_cast<std::uint64_t>(std::llround(bits));
}

ClusterPlan plan_cluster(const Topology& t) {
  const Cluster& c = t.cluster.value();
  const InterfaceMap interfaces = collect_interfaces(t);
  const JsonPath cp = JsonPath().key("cluster");
  const JsonPath np = cp.key("nodes");
  ClusterPlan plan{c.mode,
                   c.cidr.network(),
                   c.mode == ClusterMode::kVxlan ? std::optional(c.vni) : std::nullopt,
                   {}};

  // Underlays.
  for (const ClusterNode& cn : c.nodes) {
    const JsonPath p = np.key(cn.node);
    const auto it = interfaces.find({cn.node, cn.underlay});
    if (it == interfaces.end())
      fail(p.key("underlay"), "node " + cn.node + " has no interface \"" + cn.underlay +
                                  "\" (a link end or switch member)");
    const Interface& iface = it->second;
    std::optional<Prefix> chosen;
    for (const auto& [prefix, path] : iface.addresses) {
      if (cn.address ? prefix.address() == *cn.address : prefix.is_v4() == c.cidr.is_v4()) {
        chosen = prefix;
        break;
      }
    }
    if (!chosen && cn.address)
      fail(p.key("address"),
           cn.address->to_string() + " is not an address of " + cn.node + ":" + cn.underlay);
    if (!chosen && c.mode == ClusterMode::kVxlan && !iface.addresses.empty())
      chosen = iface.addresses.front().first;  // an overlay may run over the other family
    if (!chosen)
      fail(p.key("underlay"), cn.node + ":" + cn.underlay + " has no " +
                                  (c.cidr.is_v4() ? "IPv4" : "IPv6") + " address");
    if (c.mode == ClusterMode::kHostGw && chosen->is_v4() != c.cidr.is_v4())
      fail(p.key("address"), "host-gw routes need an underlay address of the cluster's family");
    ClusterNodePlan n;
    n.node = cn.node;
    n.underlay = cn.underlay;
    n.underlay_address = *chosen;
    n.underlay_mtu = iface.mtu;
    n.pod_mtu = iface.mtu;
    if (c.mode == ClusterMode::kVxlan) {
      const unsigned min = c.cidr.is_v4() ? kMinMtu : kMinIpv6Mtu;
      const unsigned overhead = chosen->is_v4() ? kVxlanOverhead : kVxlanOverheadV6;
      if (iface.mtu < min + overhead)
        fail(p.key("underlay"), "MTU " + std::to_string(iface.mtu) + " of " + cn.node + ":" +
                                    cn.underlay + " leaves less than " + std::to_string(min) +
                                    " for the VXLAN overlay");
      n.pod_mtu = iface.mtu - overhead;
    }
    for (const ClusterNodePlan& other : plan.nodes) {
      if (other.underlay_address.is_v4() != n.underlay_address.is_v4())
        fail(p.key("underlay"), "underlay address " + n.underlay_address.address().to_string() +
                                    " is not of the family of " + other.node + "'s " +
                                    other.underlay_address.address().to_string());
      if (c.mode == ClusterMode::kHostGw &&
          (!other.underlay_address.contains(n.underlay_address.address()) ||
           !n.underlay_address.contains(other.underlay_address.address())))
        fail(p.key("underlay"), "underlay address " + n.underlay_address.address().to_string() +
                                    " is not on " + other.node + "'s underlay subnet " +
                                    other.underlay_address.network().to_string() +
                                    " (host-gw needs the nodes on one subnet)");
    }
    plan.nodes.push_back(std::move(n));
  }

  // The cluster CIDR is the pods' alone: no interface address may fall into it.
  for (const auto& [key, iface] : interfaces)
    for (const auto& [prefix, path] : iface.addresses)
      if (prefix.is_v4() == c.cidr.is_v4() && prefix.overlaps(c.cidr))
        fail(cp.key("cidr"), c.cidr.to_string() + " overlaps the subnet of " + prefix.to_string() +
                                 " at " + path.str());

  // Given pod CIDRs: inside the cluster CIDR, apart from each other.
  std::vector<Prefix> taken;
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    const ClusterNode& cn = c.nodes[i];
    if (!cn.pod_cidr) continue;
    const JsonPath p = np.key(cn.node).key("podCidr");
    const Prefix& pod = *cn.pod_cidr;
    if (pod.is_v4() != c.cidr.is_v4() || pod.length() < c.cidr.length() ||
        !c.cidr.contains(pod.address()))
      fail(p, pod.to_string() + " is not inside the cluster CIDR " + c.cidr.to_string());
    if (pod.length() > pod.max_length() - 2)
      fail(p, pod.to_string() + " is too small for a gateway and a pod");
    for (std::size_t k = 0; k < i; ++k)
      if (c.nodes[k].pod_cidr && c.nodes[k].pod_cidr->overlaps(pod))
        fail(p, pod.to_string() + " overlaps " + c.nodes[k].node + "'s " +
                    c.nodes[k].pod_cidr->to_string());
    taken.push_back(pod);
    plan.nodes[i].pod_cidr = pod.network();
  }
  // The others: the lowest free blocks, in node order. `next` is always a block's start.
  IpAddress next = c.cidr.network().address();
  bool exhausted = false;
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    if (c.nodes[i].pod_cidr) continue;
    std::optional<Prefix> found;
    while (!found && !exhausted) {
      const Prefix block = Prefix(next, c.node_prefix).network();
      const auto clash = std::find_if(taken.begin(), taken.end(),
                                      [&](const Prefix& p) { return p.overlaps(block); });
      if (clash == taken.end()) found = block;
      // Prefixes nest or are apart: skip this block, or the larger taken one that holds it.
      const IpAddress end = clash == taken.end() || clash->length() >= block.length()
                                ? block.last_address()
                                : clash->last_address();
      next = netcore::net::next_address(end);
      exhausted = next <= end || !c.cidr.contains(next);  // wrapped, or past the cluster CIDR
    }
    if (!found)
      fail(np.key(c.nodes[i].node), "no free /" + std::to_string(c.node_prefix) +
                                        " left in the cluster CIDR " + c.cidr.to_string());
    taken.push_back(*found);
    plan.nodes[i].pod_cidr = *found;
  }
  for (ClusterNodePlan& n : plan.nodes)
    n.gateway = netcore::net::next_address(n.pod_cidr.address());
  return plan;
}

Topology parse_topology(std::string_view text) {
  const Json doc = parse_document(text);
  const Fields f(doc, JsonPath(),
                 {"$schema", "name", "nodes", "links", "switches", "cluster", "checks"});
  if (const Json* v = f.find("$schema")) (void)get_string(*v, f.path("$schema"));
  Topology t;
  t.name = get_string(f.require("name"), f.path("name"));
  check_name(t.name, kMaxLabNameLength, f.path("name"));

  const JsonPath np = f.path("nodes");
  const Json& nodes = get_object(f.require("nodes"), np, kMaxNodes);
  if (nodes.empty()) fail(np, "a lab needs at least one node");
  for (const auto& [name, value] : nodes.items()) {
    check_name(name, kMaxNodeNameLength, np.key(name));
    t.nodes.push_back(parse_node(name, value, np.key(name)));
  }

  if (const Json* v = f.find("links")) {
    const JsonPath lp = f.path("links");
    const Json& links = get_array(*v, lp, kMaxLinks);
    for (std::size_t i = 0; i < links.size(); ++i)
      t.links.push_back(parse_link(links[i], lp.index(i), t));
  }
  if (const Json* v = f.find("switches")) {
    const JsonPath sp = f.path("switches");
    for (const auto& [name, value] : get_object(*v, sp, kMaxSwitches).items()) {
      const JsonPath p = sp.key(name);
      check_name(name, kMaxNodeNameLength, p);
      if (t.find_node(name) != nullptr) fail(p, "switch \"" + name + "\" has the name of a node");
      t.switches.push_back(parse_switch(name, value, p, t));
    }
  }

  const InterfaceMap interfaces = collect_interfaces(t);
  check_interfaces(interfaces);
  check_routes(t, interfaces);

  std::optional<ClusterPlan> plan;
  if (const Json* v = f.find("cluster")) {
    t.cluster = parse_cluster(*v, t);
    for (const ClusterNode& cn : t.cluster->nodes)
      for (const std::string_view reserved : {kClusterBridge, kClusterVxlanDevice}) {
        const auto it = interfaces.find({cn.node, std::string(reserved)});
        if (it != interfaces.end())
          fail(it->second.path, "interface name \"" + std::string(reserved) +
                                    "\" is reserved for the cluster on " + cn.node);
      }
    plan = plan_cluster(t);
  }
  check_pods(t, plan);

  if (const Json* v = f.find("checks")) parse_checks(*v, t, interfaces);
  return t;
}

}  // namespace nsnet::lab
