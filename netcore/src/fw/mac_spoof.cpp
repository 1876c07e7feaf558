#include "netcore/fw/mac_spoof.hpp"

#include "netcore/base/log.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "batch.hpp"
#include "comment.hpp"
#include "mac_spoof_impl.hpp"
#include "netcore/base/error.hpp"
#include "netcore/fw/nftables.hpp"

namespace netcore::fw {
namespace detail {
namespace {

std::string element_key(const SpoofElement& e) {
  return e.mac ? quoted(e.port) + " . " + e.mac->to_string() : quoted(e.port);
}

}  // namespace

SpoofSnapshot parse_spoof_table(const nlohmann::json& listing) {
  SpoofSnapshot snapshot;
  for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
    if (item.contains("table")) {
      snapshot.present = true;
    } else if (const auto set = item.find("set"); set != item.end()) {
      const std::string name = set->value("name", "");
      if (name != kSpoofPorts && name != kSpoofAllowed) continue;
      for (const auto& entry : set->value("elem", nlohmann::json::array())) {
        // "veth1", {"concat": ["veth1", "02:.."]}, or either wrapped as {"elem": {"val", "comment"}}.
        const auto& elem = entry.is_object() && entry.contains("elem") ? entry.at("elem") : entry;
        const auto& value = elem.is_object() && elem.contains("val") ? elem.at("val") : elem;
        SpoofElement element;
        if (elem.is_object()) element.tag = elem.value("comment", "");
        if (value.is_string()) {
          element.port = value.get<std::string>();
        } else if (value.is_object() && value.contains("concat") && value["concat"].size() == 2) {
          element.port = value["concat"][0].get<std::string>();
          element.mac = net::MacAddress::parse(value["concat"][1].get<std::string>());
        } else {
          throw Error(ErrorCode::kInternal,
                      "parse nft set " + name + ": unexpected element " + entry.dump());
        }
        (name == kSpoofPorts ? snapshot.ports : snapshot.allowed).push_back(std::move(element));
      }
    } else if (const auto rule = item.find("rule"); rule != item.end()) {
      if (rule->value("chain", "") != kSpoofChain) continue;
      for (const auto& statement : rule->value("expr", nlohmann::json::array()))
        if (statement.contains("drop")) snapshot.rule_present = true;
    }
  }
  return snapshot;
}

std::string spoof_add_script(const std::string& port, const net::MacAddress& mac,
                             const std::string& tag) {
  const std::string table = kBridgeTable;
  const std::string port_key = quoted(port);
  const std::string pair_key = port_key + " . " + mac.to_string();
  const std::string comment = " comment " + quoted(tag);
  std::string s;
  s += "add table " + table + " { comment \"managed by nsnet\"; }\n";
  s += "add set " + table + " " + kSpoofPorts +
       " { type ifname; comment \"nsnet macspoofchk: guarded bridge ports\"; }\n";
  s += "add set " + table + " " + kSpoofAllowed +
       " { type ifname . ether_addr; comment \"nsnet macspoofchk: port . allowed source\"; }\n";
  // One rule, rewritten rather than appended to, so that ADD is idempotent.
  s += "add chain " + table + " " + kSpoofChain +
       " { type filter hook prerouting priority -300; policy accept; }\n";
  s += "flush chain " + table + " " + kSpoofChain + "\n";
  s += "add rule " + table + " " + kSpoofChain + " iifname @" + kSpoofPorts + " iifname . ether saddr != @" +
       kSpoofAllowed + " drop\n";
  // add (a no-op if present), delete, add again: each element ends up with this attachment's
  // comment whether or not it was there, without a failing delete of a missing element.
  for (const auto& [set, key] : {std::pair{kSpoofPorts, port_key}, std::pair{kSpoofAllowed, pair_key}}) {
    s += "add element " + table + " " + set + " { " + key + " }\n";
    s += "delete element " + table + " " + set + " { " + key + " }\n";
    s += "add element " + table + " " + set + " { " + key + comment + " }\n";
  }
  return s;
}

std::string spoof_remove_script(const std::vector<SpoofElement>& doomed) {
  std::vector<std::string> ports, pairs;
  for (const auto& element : doomed) (element.mac ? pairs : ports).push_back(element_key(element));
  std::string s;
  const std::string table = kBridgeTable;
  if (!ports.empty()) s += "delete element " + table + " " + kSpoofPorts + " { " + join(ports) + " }\n";
  if (!pairs.empty())
    s += "delete element " + table + " " + kSpoofAllowed + " { " + join(pairs) + " }\n";
  return s;
}

}  // namespace detail

namespace {

using detail::SpoofElement;
using detail::run_with_retries;
using detail::SpoofSnapshot;

void validate(const Attachment& a, const std::string& operation) {
  if (a.network.empty() || a.container_id.empty() || a.ifname.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                operation + ": network, container ID and interface name are required");
}

SpoofSnapshot snapshot_table() {
  const auto tables = list_json("list tables bridge");
  for (const auto& item : tables.value("nftables", nlohmann::json::array())) {
    const auto table = item.find("table");
    if (table != item.end() && table->value("name", "") == "nsnet")
      return detail::parse_spoof_table(list_json(std::string("list table ") + detail::kBridgeTable));
  }
  return {};
}

// Deletes the elements `pick` selects, from a fresh listing each attempt.
template <class Pick>
void remove_where(Pick pick, const std::string& operation) {
  run_with_retries(
      [&] {
        const auto snapshot = snapshot_table();
        std::vector<SpoofElement> doomed;
        for (const auto* elements : {&snapshot.ports, &snapshot.allowed})
          for (const auto& element : *elements)
            if (pick(element)) doomed.push_back(element);
        return detail::spoof_remove_script(doomed);
      },
      operation);
}

}  // namespace

std::string spoof_tag(const Attachment& attachment) { return network_attachment_tag(attachment); }

void add_mac_spoof_check(const Attachment& attachment, const std::string& port,
                         const net::MacAddress& mac) {
  const std::string operation = "add mac spoof check " + port;
  validate(attachment, operation);
  if (port.empty() || port.find('"') != std::string::npos)
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": invalid port name");
  // The same batch on every attempt: it reads nothing, so there is nothing to re-plan.
  const std::string script = detail::spoof_add_script(port, mac, spoof_tag(attachment));
  // NOLINTNEXTLINE(performance-no-automatic-move): each attempt gets its own copy
  run_with_retries([&] { return script; }, operation);
}

void remove_mac_spoof_check(const Attachment& attachment) {
  validate(attachment, "remove mac spoof check");
  const std::string tag = spoof_tag(attachment);
  remove_where([&](const SpoofElement& e) { return e.tag == tag; },
               "remove mac spoof check " + attachment.container_id + "/" + attachment.ifname);
}

void gc_mac_spoof_check(const std::string& network, const std::vector<Attachment>& valid) {
  const std::string prefix = network_hash(network) + " ";
  std::set<std::string> keep;
  for (const auto& attachment : valid)
    if (attachment.network == network) keep.insert(spoof_tag(attachment));
  remove_where(
      [&](const SpoofElement& e) { return e.tag.starts_with(prefix) && !keep.contains(e.tag); },
      "gc mac spoof check " + network);
}

std::vector<MacSpoofEntry> list_mac_spoof_checks() {
  std::vector<MacSpoofEntry> entries;
  try {
    const auto snapshot = snapshot_table();
    for (const auto& port : snapshot.ports) {
      MacSpoofEntry entry{.tag = port.tag, .port = port.port, .mac = std::nullopt};
      for (const auto& allowed : snapshot.allowed)
        if (allowed.port == port.port && allowed.tag == port.tag) entry.mac = allowed.mac;
      entries.push_back(std::move(entry));
    }
  } catch (Error& e) {
    e.prefix("list mac spoof checks");
    throw;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.tag, a.port) < std::tie(b.tag, b.port);
  });
  return entries;
}

bool has_mac_spoof_check(const Attachment& attachment, const std::string& port,
                         const net::MacAddress& mac) {
  validate(attachment, "check mac spoof check");
  const std::string tag = spoof_tag(attachment);
  try {
    const auto snapshot = snapshot_table();
    const bool guarded =
        std::any_of(snapshot.ports.begin(), snapshot.ports.end(),
                    [&](const SpoofElement& e) { return e.port == port && e.tag == tag; });
    const bool allowed = std::any_of(
        snapshot.allowed.begin(), snapshot.allowed.end(),
        [&](const SpoofElement& e) { return e.port == port && e.mac == mac && e.tag == tag; });
    return snapshot.rule_present && guarded && allowed;
  } catch (Error& e) {
    e.prefix("check mac spoof check " + port);
    throw;
  }
}

}  // namespace netcore::fw
