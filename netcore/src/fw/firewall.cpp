#include "netcore/fw/firewall.hpp"

#include "netcore/base/log.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "batch.hpp"
#include "comment.hpp"
#include "firewall_impl.hpp"
#include "netcore/base/error.hpp"
#include "netcore/base/hash.hpp"
#include "netcore/fw/nftables.hpp"

namespace netcore::fw {
namespace detail {
namespace {

using nlohmann::json;

// A set or map element: "x", {"elem": {"val": "x", "comment": "..."}} (sets), or [key, verdict]
// with key of either form (maps).
FwElement parse_element(const json& entry, const std::string& set_name) {
  FwElement element;
  const json* key = &entry;
  if (entry.is_array()) {
    if (entry.size() != 2)
      throw Error(ErrorCode::kInternal,
                  "parse nft map " + set_name + ": unexpected element " + entry.dump());
    key = &entry[0];
    for (const char* kind : {"jump", "goto"})
      if (entry[1].contains(kind)) element.target = entry[1].at(kind).value("target", "");
  }
  const json& elem = key->is_object() && key->contains("elem") ? key->at("elem") : *key;
  const json& value = elem.is_object() && elem.contains("val") ? elem.at("val") : elem;
  if (!value.is_string())
    throw Error(ErrorCode::kInternal,
                "parse nft set " + set_name + ": unexpected element " + entry.dump());
  element.key = value.get<std::string>();
  if (elem.is_object()) element.tag = elem.value("comment", "");
  return element;
}

std::vector<FwElement> parse_elements(const json& set, bool addresses) {
  const std::string name = set.value("name", "");
  std::vector<FwElement> out;
  for (const auto& entry : set.value("elem", json::array())) {
    auto element = parse_element(entry, name);
    if (addresses) {
      const auto ip = net::parse_ip_address(element.key);
      element.key = ip.to_string();
      element.v6 = !ip.is_v4();
    }
    out.push_back(std::move(element));
  }
  return out;
}

bool has_statement(const std::vector<json>& expr, const std::string& kind) {
  return std::any_of(expr.begin(), expr.end(), [&](const json& s) { return s.contains(kind); });
}

bool jumps_to(const std::vector<json>& expr, const std::string& chain) {
  return std::any_of(expr.begin(), expr.end(), [&](const json& s) {
    return s.contains("jump") && s["jump"].value("target", "") == chain;
  });
}

std::string set_of(bool v6) { return v6 ? kFwAddr6 : kFwAddr4; }
std::string members_of(bool v6) { return v6 ? kFwMembers6 : kFwMembers4; }

std::string element_ref(const std::string& table, const std::string& set) {
  return "element " + table + " " + set + " { ";
}

}  // namespace

std::string isolation_chain(const std::string& bridge) {
  return kFwIsoChainPrefix + stable_hash(bridge);
}

FirewallSnapshot parse_firewall(const json& inet_listing, const json& bridge_listing) {
  FirewallSnapshot s;
  for (const auto& item : inet_listing.value("nftables", json::array())) {
    if (item.contains("table")) {
      s.inet_present = true;
    } else if (const auto chain = item.find("chain"); chain != item.end()) {
      s.chains.insert(chain->value("name", ""));
    } else if (const auto rule = item.find("rule"); rule != item.end()) {
      if (rule->value("chain", "") == kFwForward)
        s.forward_rules.push_back(rule->value("expr", json::array()).get<std::vector<json>>());
    } else if (const auto set = item.find("set"); set != item.end()) {
      const std::string name = set->value("name", "");
      if (name == kFwAddr4 || name == kFwAddr6) {
        for (auto& e : parse_elements(*set, true)) s.addresses.push_back(std::move(e));
      } else if (name == kFwIsoBridges) {
        s.iso_bridges = parse_elements(*set, false);
      }
    } else if (const auto map = item.find("map"); map != item.end()) {
      const std::string name = map->value("name", "");
      if (name == kFwMembers4 || name == kFwMembers6) {
        for (auto& e : parse_elements(*map, true)) s.members.push_back(std::move(e));
      } else if (name == kFwIsoIn) {
        s.iso_in = parse_elements(*map, false);
      }
    }
  }
  for (const auto& item : bridge_listing.value("nftables", json::array())) {
    if (item.contains("table")) {
      s.bridge_present = true;
    } else if (const auto chain = item.find("chain"); chain != item.end()) {
      s.bridge_chains.insert(chain->value("name", ""));
    } else if (const auto rule = item.find("rule"); rule != item.end()) {
      if (rule->value("chain", "") == kFwForward &&
          has_statement(rule->value("expr", json::array()).get<std::vector<json>>(), "drop"))
        s.port_rule_present = true;
    } else if (const auto set = item.find("set"); set != item.end()) {
      if (set->value("name", "") == kFwPorts) s.ports = parse_elements(*set, false);
    }
  }
  return s;
}

std::string firewall_add_script(const FirewallSnapshot& snapshot, const std::string& tag,
                                const FirewallRules& rules) {
  const std::string t = kFwInetTable;
  const std::string comment = " comment " + quoted(tag);
  std::string s;
  s += "add table " + t + " { comment \"managed by nsnet\"; }\n";
  s += "add set " + t + " " + kFwAddr4 +
       " { type ipv4_addr; comment \"nsnet firewall: container addresses\"; }\n";
  s += "add set " + t + " " + kFwAddr6 +
       " { type ipv6_addr; comment \"nsnet firewall: container addresses\"; }\n";
  s += "add map " + t + " " + kFwMembers4 +
       " { type ipv4_addr : verdict; comment \"nsnet firewall: who keeps a bridge isolated\"; }\n";
  s += "add map " + t + " " + kFwMembers6 +
       " { type ipv6_addr : verdict; comment \"nsnet firewall: who keeps a bridge isolated\"; }\n";
  s += "add map " + t + " " + kFwIsoIn +
       " { type ifname : verdict; comment \"nsnet firewall: isolated bridge -> its chain\"; }\n";
  s += "add set " + t + " " + kFwIsoBridges +
       " { type ifname; comment \"nsnet firewall: isolated bridges\"; }\n";
  // The admin chain is only ever added: an existing one keeps the user's rules untouched. Its
  // name is bare (nft takes no quoted chain names); valid_admin_chain_name keeps it a plain word.
  const std::string& admin = rules.admin_chain;
  s += "add chain " + t + " " + admin + "\n";
  if (!snapshot.chains.contains(kFwForward)) {
    // create, not add: a concurrent creator makes this batch fail, and the retry sees its rules.
    s += "create chain " + t + " " + kFwForward +
         " { type filter hook forward priority filter; policy accept; }\n";
    s += "add rule " + t + " " + kFwForward + " iifname vmap @" + kFwIsoIn + "\n";
    for (const bool v6 : {false, true}) {
      const std::string family = v6 ? "ip6" : "ip";
      s += "add rule " + t + " " + kFwForward + " " + family + " daddr @" + set_of(v6) +
           " ct state established,related accept\n";
      s += "add rule " + t + " " + kFwForward + " " + family + " saddr @" + set_of(v6) +
           " accept\n";
    }
  }
  const bool admin_jumped =
      std::any_of(snapshot.forward_rules.begin(), snapshot.forward_rules.end(),
                  [&](const auto& expr) { return jumps_to(expr, rules.admin_chain); });
  if (!admin_jumped) s += "insert rule " + t + " " + kFwForward + " jump " + admin + "\n";

  // Addresses: add (a no-op if present), delete, add again, so that each ends up with this
  // attachment's tag whether or not it was there.
  for (const auto& address : rules.addresses) {
    const std::string ref = element_ref(t, set_of(!address.is_v4()));
    const std::string key = address.to_string();
    s += "add " + ref + key + " }\n";
    s += "delete " + ref + key + " }\n";
    s += "add " + ref + key + comment + " }\n";
  }
  if (rules.policy == IngressPolicy::kOpen) return s;

  const std::string chain = isolation_chain(rules.bridge);
  const std::string bridge = quoted(rules.bridge);
  if (!snapshot.chains.contains(chain)) {
    s += "create chain " + t + " " + chain + " { comment " +
         quoted(safe_comment("nsnet firewall: isolation of bridge " + rules.bridge)) + "; }\n";
    s += "add rule " + t + " " + chain + " oifname " + bridge + " return\n";
    s += "add rule " + t + " " + chain + " oifname @" + kFwIsoBridges + " drop\n";
  }
  s += "add " + element_ref(t, kFwIsoBridges) + bridge + " }\n";
  s += "add " + element_ref(t, kFwIsoIn) + bridge + " : jump " + chain + " }\n";
  for (const auto& address : rules.addresses) {
    const std::string key = address.to_string();
    const std::string ref = element_ref(t, members_of(!address.is_v4()));
    // A member element of this key (ours from an earlier ADD, or a leak) may jump elsewhere:
    // a map refuses to change an element's verdict in place.
    for (const auto& member : snapshot.members)
      if (member.key == key) s += "delete " + ref + key + " }\n";
    s += "add " + ref + key + comment + " : jump " + chain + " }\n";
  }
  if (rules.policy != IngressPolicy::kIsolated) return s;

  const std::string b = kFwBridgeTable;
  s += "add table " + b + " { comment \"managed by nsnet\"; }\n";
  s += "add set " + b + " " + kFwPorts +
       " { type ifname; comment \"nsnet firewall: ports of isolated containers\"; }\n";
  if (!snapshot.bridge_chains.contains(kFwForward)) {
    s += "create chain " + b + " " + kFwForward +
         " { type filter hook forward priority filter; policy accept; }\n";
    s += "add rule " + b + " " + kFwForward + " oifname @" + kFwPorts + " drop\n";
  }
  for (const auto& port : rules.ports) {
    const std::string ref = element_ref(b, kFwPorts);
    s += "add " + ref + quoted(port) + " }\n";
    s += "delete " + ref + quoted(port) + " }\n";
    s += "add " + ref + quoted(port) + comment + " }\n";
  }
  return s;
}

std::string drop_isolation_script(const FirewallSnapshot& snapshot, const std::string& chain) {
  if (!snapshot.chains.contains(chain)) return "";
  const std::string t = kFwInetTable;
  std::string s;
  for (const auto& in : snapshot.iso_in) {
    if (in.target != chain) continue;
    s += "delete " + element_ref(t, kFwIsoIn) + quoted(in.key) + " }\n";
    if (std::any_of(snapshot.iso_bridges.begin(), snapshot.iso_bridges.end(),
                    [&](const FwElement& b) { return b.key == in.key; }))
      s += "delete " + element_ref(t, kFwIsoBridges) + quoted(in.key) + " }\n";
  }
  return s + "delete chain " + t + " " + chain + "\n";
}

std::string firewall_remove_script(const FirewallSnapshot& snapshot,
                                   const std::function<bool(const std::string&)>& doomed,
                                   std::vector<std::string>* kept) {
  const std::string t = kFwInetTable;
  std::string s;
  std::vector<std::string> keys[2];
  for (const auto& e : snapshot.addresses)
    if (doomed(e.tag)) keys[e.v6].push_back(e.key);
  for (const bool v6 : {false, true})
    if (!keys[v6].empty()) s += "delete " + element_ref(t, set_of(v6)) + join(keys[v6]) + " }\n";

  std::vector<std::string> members[2];
  std::set<std::string> touched, used;
  for (const auto& e : snapshot.members) {
    if (doomed(e.tag)) {
      members[e.v6].push_back(e.key);
      touched.insert(e.target);
    } else {
      used.insert(e.target);
    }
  }
  for (const bool v6 : {false, true})
    if (!members[v6].empty())
      s += "delete " + element_ref(t, members_of(v6)) + join(members[v6]) + " }\n";
  // Isolation chains no member jumps to any more go, with their bridge's elements; should a
  // member have been added since the listing, the kernel refuses (EBUSY) and nothing changes.
  for (const auto& chain : snapshot.chains) {
    if (!chain.starts_with(kFwIsoChainPrefix) || used.contains(chain)) continue;
    s += drop_isolation_script(snapshot, chain);
  }
  if (kept != nullptr)
    for (const auto& chain : touched)
      if (used.contains(chain)) kept->push_back(chain);

  std::vector<std::string> ports;
  for (const auto& e : snapshot.ports)
    if (doomed(e.tag)) ports.push_back(quoted(e.key));
  if (!ports.empty()) s += "delete " + element_ref(kFwBridgeTable, kFwPorts) + join(ports) + " }\n";
  return s;
}

}  // namespace detail

namespace {

using detail::FirewallSnapshot;
using detail::FwElement;
using detail::run_with_retries;

void validate_attachment(const Attachment& a, const std::string& operation) {
  if (a.network.empty() || a.container_id.empty() || a.ifname.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                operation + ": network, container ID and interface name are required");
}

bool valid_ifname(const std::string& name) {
  return !name.empty() && name.size() < 16 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return c > 0x20 && c < 0x7f && c != '/' && c != '"' && c != '\\' && c != ':';
         });
}

void validate(const Attachment& attachment, const FirewallRules& rules,
              const std::string& operation) {
  validate_attachment(attachment, operation);
  auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": " + why);
  };
  if (!valid_admin_chain_name(rules.admin_chain))
    fail("invalid admin chain name \"" + rules.admin_chain + "\"");
  for (const auto& ip : rules.addresses)
    if (ip.is_unspecified() || ip.is_loopback() || ip.is_multicast())
      fail("invalid container address " + ip.to_string());
  if (rules.policy == IngressPolicy::kOpen) return;
  if (!valid_ifname(rules.bridge)) fail("invalid bridge name \"" + rules.bridge + "\"");
  if (rules.addresses.empty()) fail("isolation needs a container address");
  if (rules.policy != IngressPolicy::kIsolated) return;
  if (rules.ports.empty()) fail("isolation needs the container's bridge port");
  for (const auto& port : rules.ports)
    if (!valid_ifname(port)) fail("invalid bridge port name \"" + port + "\"");
}

nlohmann::json list_if_present(const std::string& family) {
  const auto tables = list_json("list tables " + family);
  for (const auto& item : tables.value("nftables", nlohmann::json::array())) {
    const auto table = item.find("table");
    if (table != item.end() && table->value("name", "") == detail::kFwTableName)
      return list_json("list table " + family + " " + detail::kFwTableName);
  }
  return nlohmann::json::object();
}

FirewallSnapshot snapshot_tables() {
  return detail::parse_firewall(list_if_present("inet"), list_if_present("bridge"));
}

std::string describe(const Attachment& a) {
  return a.network + "/" + a.container_id + "/" + a.ifname;
}

void remove_where(const std::function<bool(const std::string&)>& doomed,
                  const std::string& operation) {
  std::vector<std::string> kept;
  run_with_retries(
      [&] {
        kept.clear();
        return detail::firewall_remove_script(snapshot_tables(), doomed, &kept);
      },
      operation);
  // The listing showed other members of a bridge, but they may have gone since (two removals
  // that each saw the other's member would both keep the isolation). Try dropping it anyway: the
  // kernel refuses while a member still jumps to the chain.
  if (kept.empty()) return;
  const auto snapshot = snapshot_tables();
  for (const auto& chain : kept) {
    const std::string script = detail::drop_isolation_script(snapshot, chain);
    if (script.empty()) continue;
    try {
      run_batch(script);
    } catch (const Error& e) {
      log::debug("{}: keeping {}: {}", operation, chain, e.msg());
    }
  }
}

}  // namespace

std::string firewall_tag(const Attachment& attachment) { return network_attachment_tag(attachment); }

bool valid_admin_chain_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || !std::isalpha(static_cast<unsigned char>(name[0])))
    return false;
  if (name == detail::kFwForward || name.starts_with(detail::kFwIsoChainPrefix)) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

void add_firewall(const Attachment& attachment, const FirewallRules& rules) {
  const std::string operation = "add firewall " + describe(attachment);
  validate(attachment, rules, operation);
  const std::string tag = firewall_tag(attachment);
  run_with_retries([&] { return detail::firewall_add_script(snapshot_tables(), tag, rules); },
                   operation);
}

void remove_firewall(const Attachment& attachment) {
  const std::string operation = "remove firewall " + describe(attachment);
  validate_attachment(attachment, operation);
  const std::string tag = firewall_tag(attachment);
  remove_where([&](const std::string& t) { return t == tag; }, operation);
}

void gc_firewall(const std::string& network, const std::vector<Attachment>& valid) {
  const std::string prefix = network_hash(network) + " ";
  std::set<std::string> keep;
  for (const auto& attachment : valid)
    if (attachment.network == network) keep.insert(firewall_tag(attachment));
  remove_where([&](const std::string& t) { return t.starts_with(prefix) && !keep.contains(t); },
               "gc firewall " + network);
}

std::vector<FirewallEntry> list_firewall() {
  std::vector<FirewallEntry> entries;
  try {
    const auto snapshot = snapshot_tables();
    for (const auto& e : snapshot.addresses) entries.push_back({e.tag, "address", e.key, ""});
    for (const auto& e : snapshot.members) {
      std::string bridge;
      for (const auto& in : snapshot.iso_in)
        if (in.target == e.target) bridge = in.key;
      entries.push_back({e.tag, "member", e.key, bridge});
    }
    for (const auto& e : snapshot.ports) entries.push_back({e.tag, "port", e.key, ""});
  } catch (Error& e) {
    e.prefix("list firewall");
    throw;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.tag, a.kind, a.key) < std::tie(b.tag, b.kind, b.key);
  });
  return entries;
}

bool has_firewall(const Attachment& attachment, const FirewallRules& rules) {
  const std::string operation = "check firewall " + describe(attachment);
  validate(attachment, rules, operation);
  const std::string tag = firewall_tag(attachment);
  try {
    const auto s = snapshot_tables();
    auto tagged = [&](const std::vector<FwElement>& elements, const std::string& key,
                      const std::string& target = {}) {
      return std::any_of(elements.begin(), elements.end(), [&](const FwElement& e) {
        return e.key == key && e.tag == tag && (target.empty() || e.target == target);
      });
    };
    auto forward_has = [&](auto pred) {
      return std::any_of(s.forward_rules.begin(), s.forward_rules.end(), pred);
    };
    const bool base = s.chains.contains(rules.admin_chain) &&
                      forward_has([&](const auto& expr) {
                        return std::any_of(expr.begin(), expr.end(), [&](const auto& st) {
                          return st.contains("jump") &&
                                 st["jump"].value("target", "") == rules.admin_chain;
                        });
                      }) &&
                      forward_has([](const auto& expr) {
                        return std::any_of(expr.begin(), expr.end(),
                                           [](const auto& st) { return st.contains("accept"); });
                      });
    if (!base) return false;
    for (const auto& ip : rules.addresses)
      if (!tagged(s.addresses, ip.to_string())) return false;
    if (rules.policy == IngressPolicy::kOpen) return true;
    const std::string chain = detail::isolation_chain(rules.bridge);
    const bool isolated =
        s.chains.contains(chain) &&
        std::any_of(s.iso_in.begin(), s.iso_in.end(),
                    [&](const FwElement& e) { return e.key == rules.bridge && e.target == chain; }) &&
        std::any_of(s.iso_bridges.begin(), s.iso_bridges.end(),
                    [&](const FwElement& e) { return e.key == rules.bridge; });
    if (!isolated) return false;
    for (const auto& ip : rules.addresses)
      if (!tagged(s.members, ip.to_string(), chain)) return false;
    if (rules.policy == IngressPolicy::kSameBridge) return true;
    if (!s.port_rule_present) return false;
    for (const auto& port : rules.ports)
      if (!tagged(s.ports, port)) return false;
    return true;
  } catch (Error& e) {
    e.prefix(operation);
    throw;
  }
}

}  // namespace netcore::fw
