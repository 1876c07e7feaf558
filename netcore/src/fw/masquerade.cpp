#include "netcore/fw/masquerade.hpp"

#include "netcore/base/log.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <tuple>

#include "masquerade_impl.hpp"
#include "netcore/base/error.hpp"
#include "netcore/fw/nftables.hpp"

namespace netcore::fw {
namespace detail {
namespace {

std::string exclude_set(const std::string& hash) { return kExcludeSetPrefix + hash; }
std::string network_chain(const std::string& hash) { return kChainPrefix + hash; }

// A network chain (masq_<16 hex>), as opposed to the base chain or anything else.
bool is_network_chain(const std::string& name) {
  return name.starts_with(kChainPrefix) && name.size() == std::string(kChainPrefix).size() + 16 &&
         name.find_first_not_of("0123456789abcdef", std::string(kChainPrefix).size()) ==
             std::string::npos;
}

// Unique in order of first appearance.
template <class T>
std::vector<T> unique(const std::vector<T>& items) {
  std::vector<T> out;
  for (const auto& item : items)
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

const char* nft_family(bool v4) noexcept { return v4 ? "ip" : "ip6"; }

std::string table_ref(bool v4) { return std::string(nft_family(v4)) + " " + kTable; }

TableSnapshot parse_table(const nlohmann::json& listing) {
  TableSnapshot snapshot;
  for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
    if (item.contains("table")) {
      snapshot.present = true;
    } else if (const auto map = item.find("map"); map != item.end()) {
      if (map->value("name", "") != kMap) continue;
      for (const auto& pair : map->value("elem", nlohmann::json::array())) {
        // [key, verdict]; key is "10.0.0.5" or {"elem": {"val": "10.0.0.5", "comment": ...}}.
        if (!pair.is_array() || pair.size() != 2)
          throw Error(ErrorCode::kInternal,
                      "parse nft map " + std::string(kMap) + ": unexpected element " + pair.dump());
        MapElement element;
        const auto& key = pair[0];
        const auto& elem = key.is_object() ? key.at("elem") : key;
        const auto& value = elem.is_object() ? elem.at("val") : elem;
        element.address = net::parse_ip_address(value.get<std::string>());
        if (elem.is_object()) element.tag = elem.value("comment", "");
        const auto& verdict = pair[1];
        for (const char* kind : {"jump", "goto"})
          if (verdict.contains(kind)) element.chain = verdict.at(kind).value("target", "");
        snapshot.elements.push_back(std::move(element));
      }
    } else if (const auto set = item.find("set"); set != item.end()) {
      const std::string name = set->value("name", "");
      const std::string comment = set->value("comment", "");
      if (name.starts_with(kExcludeSetPrefix))
        snapshot.set_networks[name] = comment.starts_with("net: ") ? comment.substr(5) : "";
    } else if (const auto chain = item.find("chain"); chain != item.end()) {
      snapshot.chains.insert(chain->value("name", ""));
    } else if (const auto rule = item.find("rule"); rule != item.end()) {
      snapshot.rules[rule->value("chain", "")].push_back(
          rule->value("expr", nlohmann::json::array()));
    }
  }
  return snapshot;
}

std::string add_script(bool v4, const Attachment& attachment,
                       const std::vector<net::Prefix>& addresses,
                       const std::vector<net::Prefix>& exclude,
                       const std::vector<net::IpAddress>& takeover) {
  const std::string table = table_ref(v4);
  const std::string family = nft_family(v4);
  const std::string hash = network_hash(attachment.network);
  const std::string chain = network_chain(hash);
  const std::string set = exclude_set(hash);
  const std::string net_comment = safe_comment("net: " + attachment.network);
  const std::string tag = attachment_tag(attachment);

  std::vector<std::string> excluded;
  for (const auto& prefix : addresses) excluded.push_back(prefix.network().to_string());
  for (const auto& prefix : exclude)
    if (prefix.is_v4() == v4) excluded.push_back(prefix.network().to_string());
  excluded.emplace_back(v4 ? "224.0.0.0/4" : "ff00::/8");  // multicast, as the reference excludes
  excluded = unique(excluded);

  std::vector<std::string> keys, plain, tagged;
  for (const auto& prefix : addresses) keys.push_back(prefix.address().to_string());
  keys = unique(keys);
  for (const auto& key : keys) {
    plain.push_back(key + " : jump " + chain);
    tagged.push_back(key + " comment \"" + tag + "\" : jump " + chain);
  }
  std::vector<std::string> stale;
  for (const auto& address : takeover) stale.push_back(address.to_string());

  std::string s;
  s += "add table " + table + " { comment \"managed by nsnet\"; }\n";
  s += "add map " + table + " " + kMap + " { type " + (v4 ? "ipv4_addr" : "ipv6_addr") +
       " : verdict; comment \"nsnet masquerade: source address -> network chain\"; }\n";
  // The base chain holds exactly one rule: rewritten, never appended to, so ADD is idempotent.
  s += "add chain " + table + " " + kBaseChain +
       " { type nat hook postrouting priority srcnat; policy accept; }\n";
  s += "flush chain " + table + " " + kBaseChain + "\n";
  s += "add rule " + table + " " + kBaseChain + " " + family + " saddr vmap @" + kMap + "\n";
  s += "add set " + table + " " + set + " { type " + (v4 ? "ipv4_addr" : "ipv6_addr") +
       "; flags interval; auto-merge; comment \"" + net_comment + "\"; }\n";
  s += "add chain " + table + " " + chain + " { comment \"" + net_comment + "\"; }\n";
  s += "flush chain " + table + " " + chain + "\n";
  s += "add rule " + table + " " + chain + " " + family + " daddr @" + set + " return\n";
  s += "add rule " + table + " " + chain + " masquerade\n";
  s += "add element " + table + " " + set + " { " + join(excluded) + " }\n";
  if (!stale.empty()) s += "delete element " + table + " " + kMap + " { " + join(stale) + " }\n";
  // add (a no-op if present), delete, add again: the element ends up with this attachment's
  // comment whether or not it existed, without a failing delete of a missing element.
  s += "add element " + table + " " + kMap + " { " + join(plain) + " }\n";
  s += "delete element " + table + " " + kMap + " { " + join(keys) + " }\n";
  s += "add element " + table + " " + kMap + " { " + join(tagged) + " }\n";
  return s;
}

std::string remove_script(bool v4, const TableSnapshot& snapshot,
                          const std::vector<MapElement>& doomed) {
  const std::string table = table_ref(v4);
  std::string s;
  std::vector<std::string> keys;
  for (const auto& element : doomed) keys.push_back(element.address.to_string());
  keys = unique(keys);
  if (!keys.empty()) s += "delete element " + table + " " + kMap + " { " + join(keys) + " }\n";

  // Network chains no remaining element jumps to go, with their sets (chain first: its rule
  // refers to the set). Should an element have been added since the listing, the kernel refuses
  // to delete the chain (EBUSY) and the whole batch changes nothing.
  std::set<std::string> used;
  for (const auto& element : snapshot.elements) {
    const bool is_doomed = std::any_of(doomed.begin(), doomed.end(), [&](const MapElement& d) {
      return d.address == element.address;
    });
    if (!is_doomed) used.insert(element.chain);
  }
  for (const auto& chain : snapshot.chains) {
    if (!is_network_chain(chain) || used.contains(chain)) continue;
    s += "delete chain " + table + " " + chain + "\n";
    const std::string set = exclude_set(chain.substr(std::string(kChainPrefix).size()));
    if (snapshot.set_networks.contains(set)) s += "delete set " + table + " " + set + "\n";
  }
  for (const auto& [set, network] : snapshot.set_networks) {  // a set whose chain is gone
    const std::string chain = network_chain(set.substr(std::string(kExcludeSetPrefix).size()));
    if (!snapshot.chains.contains(chain)) s += "delete set " + table + " " + set + "\n";
  }
  return s;
}

}  // namespace detail

namespace {

using detail::MapElement;
using detail::table_ref;
using detail::TableSnapshot;

// Attempts of a change that another process's concurrent change may have made fail.
constexpr int kAttempts = 5;

std::string describe(const Attachment& a) {
  return a.network + "/" + a.container_id + "/" + a.ifname;
}

void validate(const Attachment& attachment, const std::vector<net::Prefix>& addresses,
              const std::string& operation) {
  const std::string what = operation + " " + describe(attachment);
  if (attachment.network.empty() || attachment.container_id.empty() || attachment.ifname.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                what + ": network, container ID and interface name are required");
  if (addresses.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig, what + ": no container address");
  for (const auto& prefix : addresses) {
    const auto& ip = prefix.address();
    if (ip.is_unspecified() || ip.is_loopback() || ip.is_multicast())
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  what + ": invalid container address " + prefix.to_string());
  }
}

// The snapshots of both families' tables (absent tables read as empty). Index 0: ip, 1: ip6.
std::array<TableSnapshot, 2> snapshot_tables() {
  std::array<TableSnapshot, 2> snapshots;
  const auto tables = list_json("list tables");
  for (const auto& item : tables.value("nftables", nlohmann::json::array())) {
    const auto table = item.find("table");
    if (table == item.end() || table->value("name", "") != detail::kTable) continue;
    const std::string family = table->value("family", "");
    for (const bool v4 : {true, false}) {
      if (family != detail::nft_family(v4)) continue;
      snapshots[v4 ? 0 : 1] = detail::parse_table(
          list_json("list table " + family + " " + std::string(detail::kTable)));
    }
  }
  return snapshots;
}

// Removes the elements `pick` selects (elements of the network chain `chain`), and whatever
// network objects that leaves unused, from a fresh listing each attempt: a batch that fails
// because another process changed the table in between is retried.
template <class Pick>
void remove_where(const std::string& chain, Pick pick, const std::string& operation) {
  std::vector<bool> recheck;  // families whose network chain outlived a successful batch
  for (int attempt = 1;; ++attempt) {
    const auto snapshots = snapshot_tables();
    std::string script;
    recheck.clear();
    for (const bool v4 : {true, false}) {
      const auto& snapshot = snapshots[v4 ? 0 : 1];
      if (!snapshot.present) continue;
      std::vector<MapElement> doomed;
      for (const auto& element : snapshot.elements)
        if (pick(element)) doomed.push_back(element);
      const std::string part = detail::remove_script(v4, snapshot, doomed);
      const std::string drop_chain = "delete chain " + table_ref(v4) + " " + chain + "\n";
      if (!doomed.empty() && part.find(drop_chain) == std::string::npos) recheck.push_back(v4);
      script += part;
    }
    if (script.empty()) return;
    try {
      run_batch(script);
      break;
    } catch (Error& e) {
      if (attempt == kAttempts) {
        e.prefix(operation);
        throw;
      }
      log::debug("{}: {}, retrying", operation, e.msg());
    }
  }
  // The listing showed other attachments of the network, but they may have gone since (two
  // removals that each saw the other's element would both keep the chain). Try to drop the
  // network's chain and set anyway: the kernel refuses (EBUSY) while an element jumps there.
  for (const bool v4 : recheck) {
    const std::string table = table_ref(v4);
    const std::string set =
        detail::kExcludeSetPrefix + chain.substr(std::strlen(detail::kChainPrefix));
    try {
      run_batch("delete chain " + table + " " + chain + "\ndelete set " + table + " " + set + "\n");
    } catch (const Error& e) {
      log::debug("{}: keeping {} {}: {}", operation, table, chain, e.msg());
    }
  }
}

}  // namespace

void add_masquerade(const Attachment& attachment,
                    const std::vector<net::Prefix>& container_addresses,
                    const std::vector<net::Prefix>& exclude) {
  const std::string operation = "add masquerade " + describe(attachment);
  validate(attachment, container_addresses, "add masquerade");
  auto script = [&](const std::array<std::vector<net::IpAddress>, 2>& stale) {
    std::string s;
    for (const bool v4 : {true, false}) {
      std::vector<net::Prefix> family_addresses;
      for (const auto& prefix : container_addresses)
        if (prefix.is_v4() == v4) family_addresses.push_back(prefix);
      if (!family_addresses.empty())
        s += detail::add_script(v4, attachment, family_addresses, exclude, stale[v4 ? 0 : 1]);
    }
    return s;
  };
  // A batch fails when an address is still mapped to another network's chain (an entry leaked
  // by a lost DEL: EEXIST), or when another process changed the table between nft's reading of
  // it and our commit (nft plans auto-merge of the exclusion set from what it read: ENOENT if a
  // concurrent removal dropped the set). Each retry reads afresh and takes leaked entries over.
  std::array<std::vector<net::IpAddress>, 2> takeover;
  const std::string chain = detail::kChainPrefix + network_hash(attachment.network);
  for (int attempt = 1;; ++attempt) {
    try {
      run_batch(script(takeover));
      return;
    } catch (Error& e) {
      if (attempt == kAttempts) {
        e.prefix(operation);
        throw;
      }
      std::array<TableSnapshot, 2> snapshots;
      try {
        snapshots = snapshot_tables();
      } catch (const Error&) {
        e.prefix(operation);
        throw;  // the batch's error, not the listing's
      }
      log::debug("{}: {}, retrying", operation, e.msg());
      takeover = {};
      for (const auto& prefix : container_addresses) {
        const std::size_t index = prefix.is_v4() ? 0 : 1;
        for (const auto& element : snapshots[index].elements) {
          if (element.address != prefix.address() || element.chain == chain) continue;
          log::warn("{}: address {} is masqueraded for {} ({}), taking it over", operation,
                       element.address.to_string(), element.tag, element.chain);
          takeover[index].push_back(element.address);
        }
      }
    }
  }
}

void remove_masquerade(const Attachment& attachment) {
  const std::string chain = detail::kChainPrefix + network_hash(attachment.network);
  const std::string tag = attachment_tag(attachment);
  remove_where(
      chain, [&](const MapElement& e) { return e.chain == chain && e.tag == tag; },
      "remove masquerade " + describe(attachment));
}

void gc_masquerade(const std::string& network, const std::vector<Attachment>& valid) {
  const std::string chain = detail::kChainPrefix + network_hash(network);
  std::set<std::string> keep;
  for (const auto& attachment : valid)
    if (attachment.network == network) keep.insert(attachment_tag(attachment));
  remove_where(
      chain, [&](const MapElement& e) { return e.chain == chain && !keep.contains(e.tag); },
      "gc masquerade " + network);
}

std::vector<MasqueradeEntry> list_masquerade(const std::optional<std::string>& network) {
  const std::string only_chain =
      network ? detail::kChainPrefix + network_hash(*network) : std::string();
  std::vector<MasqueradeEntry> entries;
  try {
    for (const auto& snapshot : snapshot_tables()) {
      for (const auto& element : snapshot.elements) {
        if (network && element.chain != only_chain) continue;
        const std::string set = detail::kExcludeSetPrefix +
                                element.chain.substr(std::string(detail::kChainPrefix).size());
        const auto found = snapshot.set_networks.find(set);
        entries.push_back({.network = found != snapshot.set_networks.end() ? found->second : "",
                           .attachment = element.tag,
                           .address = element.address});
      }
    }
  } catch (Error& e) {
    e.prefix("list masquerade");
    throw;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.network, a.attachment, a.address) <
           std::tie(b.network, b.attachment, b.address);
  });
  return entries;
}

bool has_masquerade(const Attachment& attachment,
                    const std::vector<net::Prefix>& container_addresses) {
  validate(attachment, container_addresses, "check masquerade");
  const std::string chain = detail::kChainPrefix + network_hash(attachment.network);
  const std::string tag = attachment_tag(attachment);
  // A rule whose expression list has a statement of this kind ("vmap" nested in a match would
  // not count; ours is top-level).
  auto has_statement = [](const TableSnapshot& s, const std::string& chain_name,
                          const std::string& kind) {
    const auto rules = s.rules.find(chain_name);
    if (rules == s.rules.end()) return false;
    for (const auto& expr : rules->second)
      for (const auto& statement : expr)
        if (statement.contains(kind)) return true;
    return false;
  };
  try {
    const auto snapshots = snapshot_tables();
    for (const auto& prefix : container_addresses) {
      const auto& s = snapshots[prefix.is_v4() ? 0 : 1];
      const bool mapped = std::any_of(s.elements.begin(), s.elements.end(), [&](const auto& e) {
        return e.address == prefix.address() && e.tag == tag && e.chain == chain;
      });
      if (!mapped || !has_statement(s, chain, "masquerade") ||
          !has_statement(s, detail::kBaseChain, "vmap"))
        return false;
    }
    return true;
  } catch (Error& e) {
    e.prefix("check masquerade " + describe(attachment));
    throw;
  }
}

}  // namespace netcore::fw
