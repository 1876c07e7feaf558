#include "netcore/fw/portmap.hpp"

#include "netcore/base/log.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

#include "batch.hpp"
#include "comment.hpp"
#include "netcore/base/error.hpp"
#include "netcore/base/hash.hpp"
#include "netcore/fw/nftables.hpp"
#include "portmap_impl.hpp"

namespace netcore::fw {

const char* to_string(L4Protocol protocol) noexcept {
  switch (protocol) {
    case L4Protocol::kTcp: return "tcp";
    case L4Protocol::kUdp: return "udp";
    case L4Protocol::kSctp: return "sctp";
  }
  return "tcp";
}

namespace detail {
namespace {

constexpr const char* kHostIpDnat = "hostip_dnat";
constexpr const char* kHostPortDnat = "hostport_dnat";
constexpr const char* kHostIpCond = "hostip_cond";
constexpr const char* kHostPortCond = "hostport_cond";
constexpr const char* kSnatHairpin = "snat_hairpin";
constexpr const char* kSnatLocal = "snat_local";
constexpr const char* kMasqAll = "masq_all";
constexpr std::array kObjects = {kHostIpDnat, kHostPortDnat, kHostIpCond,
                                 kHostPortCond, kSnatHairpin, kSnatLocal, kMasqAll};

std::string table_of(bool v4) { return std::string(portmap_family(v4)) + " " + kPortmapTable; }

// The nft text of a listed key or value: "10.0.0.1", 80, {"concat": [...]}, {"jump": {...}}.
std::string value_text(const nlohmann::json& value, const std::string& object) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  if (value.is_object()) {
    if (const auto concat = value.find("concat"); concat != value.end() && concat->is_array()) {
      std::string out;
      for (const auto& part : *concat) out += (out.empty() ? "" : " . ") + value_text(part, object);
      return out;
    }
    for (const char* kind : {"jump", "goto"})
      if (const auto verdict = value.find(kind); verdict != value.end())
        return std::string(kind) + " " + verdict->value("target", "");
  }
  throw Error(ErrorCode::kInternal,
              "parse nft " + object + ": unexpected element part " + value.dump());
}

std::string element_text(const PortmapEntry& e, bool with_comment) {
  std::string s = e.key;
  if (with_comment) s += " comment \"" + e.tag + "\"";
  if (!e.value.empty()) s += " : " + e.value;
  return s;
}

std::string dnat_target(bool v4, const net::IpAddress& address, std::uint16_t port) {
  const std::string host = v4 ? address.to_string() : "[" + address.to_string() + "]";
  return host + ":" + std::to_string(port);
}

}  // namespace

const char* portmap_family(bool v4) noexcept { return v4 ? "ip" : "ip6"; }

PortmapSnapshot parse_portmap_table(const nlohmann::json& listing, bool v4) {
  PortmapSnapshot snapshot;
  for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
    if (item.contains("table")) {
      snapshot.present = true;
    } else if (item.contains("map") || item.contains("set")) {
      const bool is_map = item.contains("map");
      const auto& object = item.at(is_map ? "map" : "set");
      const std::string name = object.value("name", "");
      if (std::find(kObjects.begin(), kObjects.end(), name) == kObjects.end()) continue;
      for (const auto& entry : object.value("elem", nlohmann::json::array())) {
        // Map: [key, value]; set: the key. A key with a comment is {"elem": {"val", "comment"}}.
        if (is_map && (!entry.is_array() || entry.size() != 2))
          throw Error(ErrorCode::kInternal,
                      "parse nft map " + name + ": unexpected element " + entry.dump());
        const auto& key = is_map ? entry[0] : entry;
        const bool wrapped = key.is_object() && key.contains("elem");
        PortmapEntry element;
        element.family = portmap_family(v4);
        element.object = name;
        element.key = value_text(wrapped ? key.at("elem").at("val") : key, name);
        if (wrapped) element.tag = key.at("elem").value("comment", "");
        if (is_map) element.value = value_text(entry[1], name);
        snapshot.elements.push_back(std::move(element));
      }
    } else if (const auto chain = item.find("chain"); chain != item.end()) {
      const std::string name = chain->value("name", "");
      if (name.starts_with(kPortmapChainPrefix)) snapshot.chains.emplace(name, "");
    } else if (const auto rule = item.find("rule"); rule != item.end()) {
      const std::string chain_name = rule->value("chain", "");
      snapshot.rules[chain_name].push_back(rule->value("expr", nlohmann::json::array()));
      // nft 1.0.6 lists no chain comments in JSON, but rule comments: each rule of a pm_ chain
      // carries the tag.
      if (chain_name.starts_with(kPortmapChainPrefix) && rule->contains("comment"))
        snapshot.chains[chain_name] = rule->value("comment", "");
    }
  }
  return snapshot;
}

PortmapPlan plan_portmap(bool v4, const std::string& tag, const PortmapSpec& spec) {
  PortmapPlan plan;
  const auto& container = v4 ? spec.container_v4 : spec.container_v6;
  if (!container) return plan;
  const auto& conditions = v4 ? spec.conditions_v4 : spec.conditions_v6;
  const std::string family = portmap_family(v4);
  const std::string target_text = container->to_string();
  if (!conditions.empty()) plan.chain = kPortmapChainPrefix + stable_hash(tag);
  std::string condition_text;
  for (const auto& condition : conditions) condition_text += condition + " ";

  auto add = [&](const char* object, std::string key, std::string value) {
    plan.elements.push_back({.family = family,
                             .object = object,
                             .key = std::move(key),
                             .value = std::move(value),
                             .tag = tag});
  };
  for (const auto& m : spec.mappings) {
    if (m.host_ip && m.host_ip->is_v4() != v4) continue;  // published on the other family only
    const std::string proto = to_string(m.protocol);
    const std::string port_key = proto + " . " + std::to_string(m.host_port);
    const std::string key = m.host_ip ? m.host_ip->to_string() + " . " + port_key : port_key;
    if (plan.chain.empty()) {
      add(m.host_ip ? kHostIpDnat : kHostPortDnat, key,
          target_text + " . " + std::to_string(m.container_port));
      continue;
    }
    add(m.host_ip ? kHostIpCond : kHostPortCond, key, "jump " + plan.chain);
    std::string rule = condition_text;
    if (m.host_ip) rule += family + " daddr " + m.host_ip->to_string() + " ";
    rule += "meta l4proto " + proto + " th dport " + std::to_string(m.host_port) + " dnat " +
            family + " to " + dnat_target(v4, *container, m.container_port) + " comment \"" +
            tag + "\"";
    plan.chain_rules.push_back(std::move(rule));
  }
  if (plan.elements.empty()) return {};  // nothing published on this family
  if (spec.snat) {
    add(kSnatHairpin, target_text + " . " + target_text, "");
    if (v4) add(kSnatLocal, target_text, "");  // IPv6 does not route ::1 off the host
  }
  if (spec.masq_all) add(kMasqAll, target_text, "");
  return plan;
}

std::string portmap_base_script(bool v4) {
  const std::string t = table_of(v4);
  const std::string family = portmap_family(v4);
  const std::string addr = v4 ? "ipv4_addr" : "ipv6_addr";
  const std::string target = addr + " . inet_service";
  std::string s;
  s += "add table " + t + " { comment \"managed by nsnet\"; }\n";
  s += "add map " + t + " " + kHostIpDnat + " { type " + addr +
       " . inet_proto . inet_service : " + target +
       "; comment \"nsnet portmap: host address . protocol . port -> container\"; }\n";
  s += "add map " + t + " " + kHostPortDnat + " { type inet_proto . inet_service : " + target +
       "; comment \"nsnet portmap: protocol . port -> container\"; }\n";
  s += "add map " + t + " " + kHostIpCond + " { type " + addr +
       " . inet_proto . inet_service : verdict; comment \"nsnet portmap: with conditions\"; }\n";
  s += "add map " + t + " " + kHostPortCond +
       " { type inet_proto . inet_service : verdict; comment \"nsnet portmap: with conditions\"; }\n";
  s += "add set " + t + " " + kSnatHairpin + " { type " + addr + " . " + addr +
       "; comment \"nsnet portmap: hairpin source . destination\"; }\n";
  if (v4)
    s += "add set " + t + " " + kSnatLocal + " { type " + addr +
         "; comment \"nsnet portmap: reachable from 127.0.0.0/8\"; }\n";
  s += "add set " + t + " " + kMasqAll + " { type " + addr +
       "; comment \"nsnet portmap: masqAll destinations\"; }\n";
  // Base chains hold fixed rules: flushed and rewritten, never appended to, so ADD is idempotent.
  s += "add chain " + t + " hostports\n";
  s += "add chain " + t + " prerouting { type nat hook prerouting priority -100; policy accept; }\n";
  s += "add chain " + t + " output { type nat hook output priority -100; policy accept; }\n";
  s += "add chain " + t + " postrouting { type nat hook postrouting priority 100; policy accept; }\n";
  for (const char* chain : {"hostports", "prerouting", "output", "postrouting"})
    s += "flush chain " + t + " " + chain + "\n";
  const std::string key = "meta l4proto . th dport";
  s += "add rule " + t + " hostports " + family + " daddr . " + key + " vmap @" + kHostIpCond + "\n";
  s += "add rule " + t + " hostports dnat " + family + " to " + family + " daddr . " + key +
       " map @" + kHostIpDnat + "\n";
  s += "add rule " + t + " hostports " + key + " vmap @" + kHostPortCond + "\n";
  s += "add rule " + t + " hostports dnat " + family + " to " + key + " map @" + kHostPortDnat + "\n";
  s += "add rule " + t + " prerouting fib daddr type local jump hostports\n";
  s += "add rule " + t + " output fib daddr type local jump hostports\n";
  s += "add rule " + t + " postrouting ct status dnat " + family + " saddr . " + family +
       " daddr @" + kSnatHairpin + " masquerade\n";
  if (v4)
    s += "add rule " + t + " postrouting ct status dnat ip saddr 127.0.0.0/8 ip daddr @" +
         kSnatLocal + " masquerade\n";
  s += "add rule " + t + " postrouting ct status dnat " + family + " daddr @" + kMasqAll +
       " masquerade\n";
  return s;
}

std::string portmap_add_script(bool v4, const std::string& tag, const PortmapPlan& plan,
                               const std::vector<PortmapEntry>& doomed) {
  const std::string t = table_of(v4);
  std::string s;
  for (const auto& e : doomed)
    s += "delete element " + t + " " + e.object + " { " + element_text(e, false) + " }\n";
  if (!plan.chain.empty()) {
    s += "add chain " + t + " " + plan.chain + " { comment \"" + tag + "\"; }\n";
    s += "flush chain " + t + " " + plan.chain + "\n";
    for (const auto& rule : plan.chain_rules) s += "add rule " + t + " " + plan.chain + " " + rule + "\n";
  }
  for (const auto& e : plan.elements)
    s += "add element " + t + " " + e.object + " { " + element_text(e, true) + " }\n";
  return s;
}

std::string portmap_remove_script(bool v4, const std::vector<PortmapEntry>& doomed,
                                  const std::vector<std::string>& chains) {
  const std::string t = table_of(v4);
  std::string s;
  for (const auto& e : doomed)
    s += "delete element " + t + " " + e.object + " { " + element_text(e, false) + " }\n";
  for (const auto& chain : chains) s += "delete chain " + t + " " + chain + "\n";
  return s;
}

}  // namespace detail

namespace {

using detail::PortmapSnapshot;

std::string describe(const Attachment& a) {
  return a.network + "/" + a.container_id + "/" + a.ifname;
}

void validate(const Attachment& a, const std::string& operation) {
  if (a.network.empty() || a.container_id.empty() || a.ifname.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                operation + ": network, container ID and interface name are required");
}

void validate_spec(const PortmapSpec& spec, const std::string& operation) {
  if (!spec.container_v4 && !spec.container_v6)
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": no container address");
  if (spec.container_v4 && !spec.container_v4->is_v4())
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": container_v4 is not IPv4");
  if (spec.container_v6 && !spec.container_v6->is_v6())
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": container_v6 is not IPv6");
  for (const auto& m : spec.mappings)
    if (m.host_port == 0 || m.container_port == 0)
      throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": port 0 cannot be published");
  // Conditions are spliced into the batch: one rule's text each, never a command of their own.
  for (const auto* conditions : {&spec.conditions_v4, &spec.conditions_v6})
    for (const auto& condition : *conditions)
      if (condition.find_first_of("\n\r;#") != std::string::npos)
        throw Error(ErrorCode::kInvalidNetworkConfig,
                    operation + ": condition \"" + condition +
                        "\" holds a newline, ';' or '#'");
}

// Both families' tables (absent ones read as empty). Index 0: ip, 1: ip6.
std::array<PortmapSnapshot, 2> snapshot_tables() {
  std::array<PortmapSnapshot, 2> snapshots;
  const auto tables = list_json("list tables");
  for (const auto& item : tables.value("nftables", nlohmann::json::array())) {
    const auto table = item.find("table");
    if (table == item.end() || table->value("name", "") != detail::kPortmapTable) continue;
    const std::string family = table->value("family", "");
    for (const bool v4 : {true, false})
      if (family == detail::portmap_family(v4))
        snapshots[v4 ? 0 : 1] = detail::parse_portmap_table(
            list_json("list table " + family + " " + detail::kPortmapTable), v4);
  }
  return snapshots;
}

// Deletes the elements and pm_ chains whose tag `pick` selects, from a fresh listing each attempt.
template <class Pick>
void remove_where(Pick pick, const std::string& operation) {
  detail::run_with_retries(
      [&] {
        std::string script;
        const auto snapshots = snapshot_tables();
        for (const bool v4 : {true, false}) {
          const auto& snapshot = snapshots[v4 ? 0 : 1];
          std::vector<PortmapEntry> doomed;
          for (const auto& e : snapshot.elements)
            if (pick(e.tag)) doomed.push_back(e);
          std::vector<std::string> chains;
          for (const auto& [chain, tag] : snapshot.chains)
            if (pick(tag)) chains.push_back(chain);
          script += detail::portmap_remove_script(v4, doomed, chains);
        }
        return script;
      },
      operation);
}

}  // namespace

std::string portmap_tag(const Attachment& attachment) {
  return network_attachment_tag(attachment);
}

void add_portmap(const Attachment& attachment, const PortmapSpec& spec) {
  const std::string operation = "add portmap " + describe(attachment);
  validate(attachment, operation);
  validate_spec(spec, operation);
  const std::string tag = portmap_tag(attachment);
  const std::array plans = {detail::plan_portmap(true, tag, spec),
                            detail::plan_portmap(false, tag, spec)};
  detail::run_with_retries(
      [&] {
        const auto snapshots = snapshot_tables();
        std::string script;
        for (const bool v4 : {true, false}) {
          const auto& plan = plans[v4 ? 0 : 1];
          const auto& snapshot = snapshots[v4 ? 0 : 1];
          // This attachment's old entries go, and so does any element holding a key we need.
          std::vector<PortmapEntry> doomed;
          for (const auto& e : snapshot.elements) {
            const bool collides =
                std::any_of(plan.elements.begin(), plan.elements.end(), [&](const auto& p) {
                  return p.object == e.object && p.key == e.key;
                });
            if (collides && e.tag != tag)
              log::warn("{}: {} {} belongs to {}, taking it over", operation, e.object, e.key,
                           e.tag);
            if (collides || e.tag == tag) doomed.push_back(e);
          }
          std::vector<std::string> old_chains;
          for (const auto& [chain, chain_tag] : snapshot.chains)
            if (chain_tag == tag && chain != plan.chain) old_chains.push_back(chain);
          if (plan.elements.empty()) {
            script += detail::portmap_remove_script(v4, doomed, old_chains);
            continue;
          }
          script += detail::portmap_base_script(v4);
          script += detail::portmap_add_script(v4, tag, plan, doomed);
          for (const auto& chain : old_chains)
            script += "delete chain " + std::string(detail::portmap_family(v4)) + " " +
                      detail::kPortmapTable + " " + chain + "\n";
        }
        return script;
      },
      operation);
}

void remove_portmap(const Attachment& attachment) {
  validate(attachment, "remove portmap");
  const std::string tag = portmap_tag(attachment);
  remove_where([&](const std::string& t) { return t == tag; },
               "remove portmap " + describe(attachment));
}

void gc_portmap(const std::string& network, const std::vector<Attachment>& valid) {
  const std::string prefix = network_hash(network) + " ";
  std::set<std::string> keep;
  for (const auto& attachment : valid)
    if (attachment.network == network) keep.insert(portmap_tag(attachment));
  remove_where([&](const std::string& t) { return t.starts_with(prefix) && !keep.contains(t); },
               "gc portmap " + network);
}

std::vector<PortmapEntry> list_portmap() {
  std::vector<PortmapEntry> entries;
  try {
    for (const auto& snapshot : snapshot_tables())
      entries.insert(entries.end(), snapshot.elements.begin(), snapshot.elements.end());
  } catch (Error& e) {
    e.prefix("list portmap");
    throw;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.family, a.object, a.key, a.tag) < std::tie(b.family, b.object, b.key, b.tag);
  });
  return entries;
}

bool has_portmap(const Attachment& attachment, const PortmapSpec& spec) {
  const std::string operation = "check portmap " + describe(attachment);
  validate(attachment, operation);
  validate_spec(spec, operation);
  const std::string tag = portmap_tag(attachment);
  try {
    const auto snapshots = snapshot_tables();
    for (const bool v4 : {true, false}) {
      const auto plan = detail::plan_portmap(v4, tag, spec);
      const auto& snapshot = snapshots[v4 ? 0 : 1];
      std::size_t mine = 0;
      for (const auto& e : snapshot.elements) mine += e.tag == tag ? 1 : 0;
      if (mine != plan.elements.size()) return false;
      for (const auto& p : plan.elements)
        if (std::find(snapshot.elements.begin(), snapshot.elements.end(), p) ==
            snapshot.elements.end())
          return false;
      if (plan.elements.empty()) continue;
      auto rule_count = [&](const std::string& chain) {
        const auto found = snapshot.rules.find(chain);
        return found == snapshot.rules.end() ? std::size_t{0} : found->second.size();
      };
      if (rule_count("hostports") != 4 || rule_count("prerouting") != 1 ||
          rule_count("output") != 1 || rule_count("postrouting") == 0)
        return false;
      if (!plan.chain.empty() && rule_count(plan.chain) != plan.chain_rules.size()) return false;
    }
    return true;
  } catch (Error& e) {
    e.prefix(operation);
    throw;
  }
}

}  // namespace netcore::fw
