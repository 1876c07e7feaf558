#include "host_local.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <netcore/base/log.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/ipam/allocator.hpp>
#include <netcore/ipam/disk_store.hpp>

#include "config.hpp"

namespace plugins::host_local {
namespace cni = netcore::cni;
namespace ipam = netcore::ipam;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

ipam::Owner owner_of(const cni::CmdArgs& args) { return {args.container_id, args.ifname}; }

// Takes the first requested address that falls in `set` out of `requested`.
std::optional<net::IpAddress> take_request_for(const ipam::RangeSet& set,
                                               std::vector<net::IpAddress>& requested) {
  const auto it = std::find_if(requested.begin(), requested.end(),
                               [&](const net::IpAddress& ip) { return set.contains(ip); });
  if (it == requested.end()) return std::nullopt;
  auto ip = *it;
  requested.erase(it);
  return ip;
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  cni::Result result;
  if (config.resolv_conf) result.dns = parse_resolv_conf(*config.resolv_conf);
  // A requested address outside every range set is known before the store is touched: refused
  // here, it leaves no network directory, lock or last_reserved_ip hint behind.
  for (const auto& ip : config.requested) {
    if (std::none_of(config.range_sets.begin(), config.range_sets.end(),
                     [&](const ipam::RangeSet& set) { return set.contains(ip); }))
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "failed to allocate all requested IPs: " + ip.to_string() + " (in no range set)");
  }

  const auto store = ipam::DiskStore::open(config.data_dir, config.network);
  const auto owner = owner_of(args);
  auto requested = config.requested;
  netcore::Undo undo;
  for (size_t i = 0; i < config.range_sets.size(); ++i) {
    const auto& set = config.range_sets[i];
    ipam::Allocator allocator(set, *store, i);
    ipam::Allocation allocation;
    try {
      allocation = allocator.allocate(owner, take_request_for(set, requested));
    } catch (Error& e) {
      e.prefix("failed to allocate for range " + std::to_string(i));
      throw;
    }
    undo.push([&store, ip = allocation.address.address()] { store->release(ip); });
    result.ips.push_back({.address = allocation.address, .gateway = allocation.gateway});
  }
  if (!requested.empty()) {
    std::string missing;
    for (const auto& ip : requested) missing += " " + ip.to_string();
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "failed to allocate all requested IPs:" + missing + " (in no range set)");
  }
  result.routes = config.routes;
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto store = ipam::DiskStore::open_existing(config.data_dir, config.network);
  if (!store) return;  // the network never allocated here
  const auto released = store->release_by_owner(owner_of(args));
  netcore::log::debug("released {} address(es) of {}/{}", released.size(), args.container_id,
                args.ifname);
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto store = ipam::DiskStore::open_existing(config.data_dir, config.network);
  const auto held = store ? store->find_by_owner(owner_of(args)) : std::vector<net::IpAddress>{};
  if (held.empty())
    throw Error(ErrorCode::kInternal,
                "host-local: failed to find address added by container " + args.container_id);
  // Each address prevResult reports from one of our range sets must still be held.
  if (const auto prev = args.prev_result()) {
    for (const auto& ip : prev->ips) {
      const auto& address = ip.address.address();
      const bool ours = std::any_of(config.range_sets.begin(), config.range_sets.end(),
                                    [&](const ipam::RangeSet& s) { return s.contains(address); });
      if (ours && std::find(held.begin(), held.end(), address) == held.end())
        throw Error(ErrorCode::kInternal, "host-local: address " + address.to_string() +
                                              " is no longer reserved for container " +
                                              args.container_id);
    }
  }
}

void cmd_gc(const cni::CmdArgs& args) {
  const auto valid = args.valid_attachments();
  if (!valid) {
    netcore::log::warn("GC without cni.dev/valid-attachments: keeping every reservation");
    return;
  }
  const Config config = parse_config(args);
  const auto store = ipam::DiskStore::open_existing(config.data_dir, config.network);
  if (!store) return;
  std::set<std::pair<std::string, std::string>> keep;
  std::set<std::string> keep_ids;  // legacy reservations carry no ifname
  for (const auto& a : *valid) {
    keep.emplace(a.container_id, a.ifname);
    keep_ids.insert(a.container_id);
  }
  netcore::ErrorList errors;
  for (const auto& r : store->list()) {
    const bool valid_owner = r.owner.ifname.empty()
                                 ? keep_ids.contains(r.owner.container_id)
                                 : keep.contains({r.owner.container_id, r.owner.ifname});
    if (valid_owner) continue;
    netcore::log::debug("gc: releasing {} of {}/{}", r.ip.to_string(), r.owner.container_id,
                  r.owner.ifname);
    errors.attempt([&] { store->release(r.ip); });
  }
  errors.throw_if_any("gc");
}

void cmd_status(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  // Ready means ADD could write: the network directory, or the nearest existing directory above
  // it, must be writable. STATUS itself creates nothing.
  auto probe = config.data_dir / config.network;
  std::error_code ec;
  while (!std::filesystem::exists(probe, ec) && probe.has_parent_path() &&
         probe != probe.parent_path())
    probe = probe.parent_path();
  if (!std::filesystem::is_directory(probe, ec))
    throw Error(ErrorCode::kNotReady, "host-local: data directory " + config.data_dir.string() +
                                          " is unusable: " + probe.string() + " is not a directory");
  if (::access(probe.c_str(), W_OK) != 0)
    throw Error(ErrorCode::kNotReady, "host-local: data directory " + config.data_dir.string() +
                                          " is unusable: " + std::strerror(errno));
  const auto store = ipam::DiskStore::open_existing(config.data_dir, config.network);
  if (!store) return;  // nothing allocated yet
  const auto reservations = store->list();
  for (size_t i = 0; i < config.range_sets.size(); ++i) {
    const auto& set = config.range_sets[i];
    double used = 0;
    for (const auto& r : reservations) {
      const auto* range = set.find_range(r.ip);
      if (range != nullptr && r.ip != range->gateway) used += 1;
    }
    // ADD needs an address from every set: one exhausted set is enough to refuse.
    if (used >= set.capacity())
      throw Error(ErrorCode::kNotReady,
                  "host-local: no IP addresses available in range set " + std::to_string(i) +
                      ": " + set.to_string());
  }
}

cni::PluginSpec spec() {
  return {.name = "host-local",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::host_local
