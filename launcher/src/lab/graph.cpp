#include "lab/graph.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netcore/net/ip.hpp"

namespace nsnet::lab {
namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0 (invalid or truncated;
// overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;  // the range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  return n;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

std::string addresses_text(const std::vector<netcore::net::Prefix>& addresses) {
  std::vector<std::string> parts;
  for (const auto& a : addresses) parts.push_back(a.to_string());
  return join(parts, ", ");
}

// "NODE:IFNAME" plus its addresses, if any.
std::string end_text(const Endpoint& e, const std::vector<netcore::net::Prefix>& addresses) {
  const std::string list = addresses_text(addresses);
  return list.empty() ? e.to_string() : e.to_string() + " " + list;
}

std::string node_id(std::string_view node) { return "node:" + std::string(node); }
std::string pod_id(std::string_view node, std::string_view pod) {
  return "pod:" + std::string(node) + "/" + std::string(pod);
}
std::string switch_id(std::string_view name) { return "switch:" + std::string(name); }
constexpr std::string_view kClusterId = "cluster";

using Attributes = std::vector<std::pair<std::string_view, std::string>>;

// Writes statements, indented by nesting.
class DotWriter {
 public:
  void open(const std::string& keyword_and_id) {
    line(keyword_and_id + " {");
    ++depth_;
  }
  void close() {
    --depth_;
    line("}");
  }
  void attribute(std::string_view key, std::string_view value) {
    line(std::string(key) + "=" + dot_quote(value) + ";");
  }
  // `graph|node|edge [...]` defaults.
  void defaults(std::string_view kind, const Attributes& attrs) {
    line(std::string(kind) + " " + list(attrs) + ";");
  }
  void node(std::string_view id, const Attributes& attrs) {
    line(dot_quote(id) + " " + list(attrs) + ";");
  }
  void edge(std::string_view a, std::string_view b, const Attributes& attrs) {
    line(dot_quote(a) + " -- " + dot_quote(b) + (attrs.empty() ? "" : " " + list(attrs)) + ";");
  }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  static std::string list(const Attributes& attrs) {
    std::string out = "[";
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      if (i > 0) out += ", ";
      out += std::string(attrs[i].first) + "=" + dot_quote(attrs[i].second);
    }
    return out + "]";
  }
  void line(const std::string& text) {
    out_.append(2 * depth_, ' ');
    out_ += text;
    out_ += '\n';
  }

  std::string out_;
  std::size_t depth_ = 0;
};

const ClusterNodePlan* find_plan(const std::optional<ClusterPlan>& plan, std::string_view node) {
  if (!plan) return nullptr;
  for (const ClusterNodePlan& n : plan->nodes)
    if (n.node == node) return &n;
  return nullptr;
}

void write_node(DotWriter& w, const Node& node, const ClusterNodePlan* cluster_node,
                const PodAddresses& pods) {
  w.open("subgraph " + dot_quote("cluster_node:" + node.name));
  w.attribute("label",
              node.hostname == node.name ? node.name : node.name + " (" + node.hostname + ")");
  w.attribute("style", "rounded");

  std::vector<std::string> label{node.name};
  if (cluster_node != nullptr) {
    label.push_back("pod CIDR " + cluster_node->pod_cidr.to_string());
    label.push_back(std::string(kClusterBridge) + " " + cluster_node->gateway.to_string());
    if (cluster_node->pod_mtu != kDefaultMtu)
      label.push_back("pod MTU " + std::to_string(cluster_node->pod_mtu));
  }
  for (const Route& r : node.routes)
    label.push_back("route " + r.dst.to_string() + " via " + r.via.to_string());
  w.node(node_id(node.name), {{"shape", "box"}, {"label", join(label, "\n")}});

  for (const Pod& pod : node.pods) {
    std::vector<std::string> pod_label{pod.name};
    if (const auto it = pods.find(node.name + "/" + pod.name); it != pods.end())
      pod_label.insert(pod_label.end(), it->second.begin(), it->second.end());
    w.node(pod_id(node.name, pod.name), {{"shape", "ellipse"}, {"label", join(pod_label, "\n")}});
  }
  for (const Pod& pod : node.pods)
    for (std::size_t i = 0; i < pod.networks.size(); ++i)
      w.edge(node_id(node.name), pod_id(node.name, pod.name),
             {{"label", pod_ifname(i) + " " + pod.networks[i]}});
  w.close();
}

}  // namespace

std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const char c = text.front();
    const std::size_t n = utf8_sequence(text);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (n == 0 || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out.append(text.substr(0, n));
    }
    text.remove_prefix(n == 0 ? 1 : n);
  }
  return out + "\"";
}

std::string format_rate(std::uint64_t bits) {
  static constexpr std::array<std::pair<std::uint64_t, std::string_view>, 4> kUnits{{
      {1'000'000'000'000, "tbit"},
      {1'000'000'000, "gbit"},
      {1'000'000, "mbit"},
      {1'000, "kbit"},
  }};
  for (const auto& [size, unit] : kUnits)
    if (bits != 0 && bits % size == 0) return std::to_string(bits / size) + std::string(unit);
  return std::to_string(bits) + "bit";
}

std::string to_dot(const Topology& t, const PodAddresses& pods) {
  const std::optional<ClusterPlan> plan = t.cluster ? std::optional(plan_cluster(t)) : std::nullopt;
  DotWriter w;
  w.open("graph " + dot_quote(t.name));
  w.defaults("graph", {{"label", "lab " + t.name}, {"labelloc", "t"}, {"fontname", "Helvetica"}});
  w.defaults("node", {{"fontname", "Helvetica"}, {"fontsize", "10"}});
  w.defaults("edge", {{"fontname", "Helvetica"}, {"fontsize", "9"}});

  for (const Node& node : t.nodes) write_node(w, node, find_plan(plan, node.name), pods);

  for (const Switch& sw : t.switches) {
    std::vector<std::string> label{sw.name, "switch"};
    if (sw.mtu != kDefaultMtu) label.push_back("MTU " + std::to_string(sw.mtu));
    w.node(switch_id(sw.name), {{"shape", "hexagon"}, {"label", join(label, "\n")}});
    for (const SwitchMember& m : sw.members) {
      const std::string list = addresses_text(m.addresses);
      w.edge(node_id(m.endpoint.node), switch_id(sw.name),
             {{"label", list.empty() ? m.endpoint.ifname : m.endpoint.ifname + "\n" + list}});
    }
  }

  for (const Link& l : t.links) {
    std::vector<std::string> label{end_text(l.a, l.a_addresses), end_text(l.b, l.b_addresses)};
    if (l.mtu != kDefaultMtu) label.push_back("MTU " + std::to_string(l.mtu));
    if (l.rate) label.push_back("rate " + format_rate(*l.rate));
    w.edge(node_id(l.a.node), node_id(l.b.node), {{"label", join(label, "\n")}});
  }

  if (plan) {
    std::string mode(to_string(plan->mode));
    if (plan->vni) mode += " vni " + std::to_string(*plan->vni);
    w.node(kClusterId, {{"shape", "note"},
                        {"style", "dashed"},
                        {"label", "cluster (" + mode + ", " + plan->cidr.to_string() + ")"}});
    for (const ClusterNodePlan& n : plan->nodes)
      w.edge(kClusterId, node_id(n.node),
             {{"style", "dashed"},
              {"label", n.underlay + " " + n.underlay_address.address().to_string()}});
  }
  w.close();
  return w.take();
}

}  // namespace nsnet::lab
