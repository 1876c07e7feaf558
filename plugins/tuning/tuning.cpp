#include "tuning.hpp"

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>

#include <netcore/base/log.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/sysctl.hpp>

#include "backup.hpp"
#include "config.hpp"

namespace plugins::tuning {
namespace cni = netcore::cni;
namespace net = netcore::net;
namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;

namespace {

bool allmulti_of(const net::LinkInfo& link) { return (link.flags & IFF_ALLMULTI) != 0; }

net::LinkInfo get_container_link(const net::Netlink& nl, const std::string& ifname) {
  auto link = net::find_link(nl, ifname);
  if (!link) throw Error(ErrorCode::kInternal, "tuning: interface " + ifname + " not found");
  return *std::move(link);
}

// The current value of each configured sysctl. One that cannot be read (a write-only trigger
// such as net/ipv4/route/flush) has no state to restore and is left out; a missing one is
// reported when it is written.
std::map<std::string, std::string> read_current_sysctls(const Config& config) {
  std::map<std::string, std::string> values;
  for (const auto& sysctl : config.sysctls) {
    try {
      values[sysctl.key] = net::read_sysctl(sysctl.key);
    } catch (const netcore::SysError& e) {
      netcore::log::debug("tuning: {}; nothing to restore for it", e.what());
    }
  }
  return values;
}

// Records in `backup` the values that ADD is about to change, unless an earlier tuning ADD for
// the same attachment (another tuning plugin of the chain) recorded them first: the oldest value
// is the one DEL must put back.
void record_originals(Backup& backup, const Config& config, const net::LinkInfo* link,
                      const std::map<std::string, std::string>& sysctls) {
  for (const auto& [key, value] : sysctls) backup.sysctls.emplace(key, value);
  if (link == nullptr) return;
  if (config.mac && !backup.mac) backup.mac = link->mac.to_string();
  if (config.mtu && !backup.mtu) backup.mtu = link->mtu;
  if (config.promisc && !backup.promisc) backup.promisc = link->promisc;
  if (config.allmulti && !backup.allmulti) backup.allmulti = allmulti_of(*link);
  if (config.txqlen && !backup.txqlen) backup.txqlen = link->txqlen;
}

// Writes the backup; `undo` puts the previous file (or no file) back.
void save_backup_with_undo(const fs::path& path, const Backup& backup,
                           const std::optional<std::string>& previous, netcore::Undo& undo) {
  save_backup(path, backup);
  undo.push([path, previous] {
    if (previous) {
      netcore::write_file_atomic(path, *previous, 0600);
    } else {
      fs::remove(path);
    }
  });
}

// The ADD's work inside the container namespace (on a Netns::run thread).
void apply(const cni::CmdArgs& args, const Config& config) {
  const fs::path path = backup_path(config.data_dir, args.container_id, args.ifname);
  const auto previous_text = netcore::find_state_file_content(path);  // a planted link: refused
  Backup backup;
  if (previous_text) {
    try {
      backup = *find_backup(path);
    } catch (const Error& e) {
      netcore::log::warn("tuning: {}, replacing it", e.what());
    }
  }
  backup.network = args.network_name;
  backup.container_id = args.container_id;
  backup.ifname = args.ifname;

  std::optional<net::Netlink> nl;
  std::optional<net::LinkInfo> link;
  if (config.changes_link()) {
    nl.emplace(net::Netlink::connect());
    link = get_container_link(*nl, args.ifname);
  }
  const auto sysctls_before = read_current_sysctls(config);
  netcore::Undo undo;  // after nl: its steps use the socket
  record_originals(backup, config, link ? &*link : nullptr, sysctls_before);
  if (!config.sysctls.empty() || config.changes_link())
    save_backup_with_undo(path, backup, previous_text, undo);

  // The reference's order: sysctls, then MAC, promisc, MTU, allmulti (and txQLen).
  for (const auto& sysctl : config.sysctls) {
    net::write_sysctl(sysctl.key, sysctl.value);
    if (const auto before = sysctls_before.find(sysctl.key); before != sysctls_before.end())
      undo.push([key = sysctl.key, value = before->second] { net::write_sysctl(key, value); });
  }
  if (link) {
    const int index = link->index;
    if (config.mac) {
      net::set_mac(*nl, index, *config.mac);
      undo.push([&nl, index, mac = link->mac] { net::set_mac(*nl, index, mac); });
    }
    if (config.promisc) {
      net::set_promisc(*nl, index, *config.promisc);
      undo.push([&nl, index, on = link->promisc] { net::set_promisc(*nl, index, on); });
    }
    if (config.mtu) {
      net::set_mtu(*nl, index, *config.mtu);
      undo.push([&nl, index, mtu = link->mtu] { net::set_mtu(*nl, index, mtu); });
    }
    if (config.allmulti) {
      net::set_allmulti(*nl, index, *config.allmulti);
      undo.push([&nl, index, on = allmulti_of(*link)] { net::set_allmulti(*nl, index, on); });
    }
    if (config.txqlen) {
      net::set_txqlen(*nl, index, *config.txqlen);
      undo.push([&nl, index, len = link->txqlen] { net::set_txqlen(*nl, index, len); });
    }
  }
  undo.commit();
}

// DEL's work inside the container namespace: every recorded value put back, failures collected.
netcore::ErrorList restore(const Backup& backup, const std::string& ifname) {
  netcore::ErrorList errors;
  for (const auto& [key, value] : backup.sysctls) {
    errors.attempt([&, &key = key, &value = value] {  // clang 14 cannot capture bindings
      if (!net::write_sysctl_if_exists(key, value))
        netcore::log::debug("tuning: sysctl {} is gone, nothing to restore", key);
    });
  }
  if (!backup.has_link_values()) return errors;
  errors.attempt([&] {
    const auto nl = net::Netlink::connect();
    const auto link = net::find_link(nl, ifname);
    if (!link) {
      netcore::log::debug("tuning: interface {} is gone, nothing to restore", ifname);
      return;
    }
    const int index = link->index;
    // MTU before MAC, as the reference restores them.
    if (backup.mtu) errors.attempt([&] { net::set_mtu(nl, index, *backup.mtu); });
    if (backup.mac)
      errors.attempt([&] { net::set_mac(nl, index, net::MacAddress::parse(*backup.mac)); });
    if (backup.promisc) errors.attempt([&] { net::set_promisc(nl, index, *backup.promisc); });
    if (backup.allmulti) errors.attempt([&] { net::set_allmulti(nl, index, *backup.allmulti); });
    if (backup.txqlen) errors.attempt([&] { net::set_txqlen(nl, index, *backup.txqlen); });
  });
  return errors;
}

void remove_backup(const fs::path& path) {
  std::error_code ec;
  if (!fs::remove(path, ec) && ec)
    throw netcore::SysError("remove backup " + path.string(), ec.value());
}

// Multi-value sysctls read back with tabs ("32768\t60999") where a config may have spaces.
std::string normalize_whitespace(const std::string& text) {
  std::istringstream in(text);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

void check_in_netns(const cni::CmdArgs& args, const Config& config) {
  for (const auto& sysctl : config.sysctls) {
    const auto current = net::read_sysctl(sysctl.key);
    if (normalize_whitespace(current) != normalize_whitespace(sysctl.value))
      throw Error(ErrorCode::kInternal, "tuning: sysctl " + sysctl.key + " is \"" + current +
                                            "\", configured \"" + sysctl.value + "\"");
  }
  if (!config.changes_link()) return;
  const auto nl = net::Netlink::connect();
  const auto link = get_container_link(nl, args.ifname);
  const auto differs = [&](const std::string& what, const std::string& current,
                           const std::string& configured) {
    return Error(ErrorCode::kInternal, "tuning: " + what + " of " + args.ifname + " is " + current +
                                           ", configured " + configured);
  };
  const auto on_off = [](bool on) { return std::string(on ? "on" : "off"); };
  if (config.mac && link.mac != *config.mac)
    throw differs("MAC", link.mac.to_string(), config.mac->to_string());
  if (config.mtu && link.mtu != *config.mtu)
    throw differs("MTU", std::to_string(link.mtu), std::to_string(*config.mtu));
  if (config.promisc && link.promisc != *config.promisc)
    throw differs("promiscuous mode", on_off(link.promisc), on_off(*config.promisc));
  if (config.allmulti && allmulti_of(link) != *config.allmulti)
    throw differs("all-multicast mode", on_off(allmulti_of(link)), on_off(*config.allmulti));
  if (config.txqlen && link.txqlen != *config.txqlen)
    throw differs("txqueuelen", std::to_string(link.txqlen), std::to_string(*config.txqlen));
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  check_system_allowlist(config.sysctls);
  auto result = args.prev_result();
  if (!result) throw Error(ErrorCode::kInvalidNetworkConfig, "tuning: required prevResult missing");

  const auto container = net::Netns::open(args.netns);
  container.run([&] { apply(args, config); });

  for (auto& iface : result->interfaces) {
    if (iface.name != args.ifname) continue;
    if (config.mac) iface.mac = config.mac->to_string();
    if (config.mtu && iface.mtu) iface.mtu = config.mtu;
  }
  return *std::move(result);
}

void cmd_del(const cni::CmdArgs& args) {
  const fs::path path = backup_path(parse_data_dir(args), args.container_id, args.ifname);
  std::optional<Backup> backup;
  try {
    backup = find_backup(path);
  } catch (const Error& e) {
    // Nothing can be restored from it, and keeping it would fail every later DEL.
    netcore::log::warn("tuning: {}, removing it", e.what());
    remove_backup(path);
    return;
  }
  if (!backup) return;
  const auto container = net::Netns::open_if_exists(args.netns);
  if (container) {
    const auto errors = container->run([&] { return restore(*backup, args.ifname); });
    errors.throw_if_any("tuning: restore " + args.ifname);
  }
  remove_backup(path);
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  if (!args.prev_result())
    throw Error(ErrorCode::kInvalidNetworkConfig, "tuning: required prevResult missing");
  const auto container = net::Netns::open(args.netns);
  container.run([&] { check_in_netns(args, config); });
}

void cmd_gc(const cni::CmdArgs& args) {
  const auto valid = args.valid_attachments();
  if (!valid) return;
  const fs::path dir = parse_data_dir(args);
  // Through a link GC would delete backup-like files wherever it points.
  netcore::refuse_linked_directory(dir, "tuning: backup directory");
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return;
    throw netcore::SysError("gc: list " + dir.string(), ec.value());
  }
  netcore::ErrorList errors;
  for (const auto& entry : it) {
    const fs::path& path = entry.path();
    if (path.extension() != ".json") continue;  // also skips write_file_atomic's temporaries
    std::optional<Backup> backup;
    try {
      backup = find_backup(path);
    } catch (const Error& e) {
      netcore::log::debug("tuning gc: {}, ignoring", e.what());  // maybe not ours
      continue;
    }
    if (!backup || backup->network != args.network_name) continue;
    const cni::Attachment attachment{backup->container_id, backup->ifname};
    if (std::find(valid->begin(), valid->end(), attachment) != valid->end()) continue;
    if (path != backup_path(dir, backup->container_id, backup->ifname)) continue;  // renamed file
    netcore::log::debug("tuning gc: removing {}", path.string());
    errors.attempt([&] { remove_backup(path); });
  }
  errors.throw_if_any("tuning gc");
}

cni::PluginSpec spec() {
  return {.name = "tuning", .add = cmd_add, .del = cmd_del, .check = cmd_check, .gc = cmd_gc};
}

}  // namespace plugins::tuning
