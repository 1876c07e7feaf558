#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

// What tuning changed and the values it found before, kept from ADD to DEL in
// <dataDir>/<containerID>_<ifname>.json (mode 0600, directory 0700).
//
// The file keeps the reference plugin's layout, {"mac", "promisc", "mtu", "allmulti", "txQLen"}
// (each present only when tuning changed it), so that a DEL by either plugin restores the link;
// nsnet adds one key the reference ignores, "nsnet": {"network", "containerID", "ifname",
// "sysctl": {key: original value}}, for the sysctls it restores (the reference never does) and
// for GC, which only collects files whose "network" is its own: the file name has no network.
namespace plugins::tuning {

// Value type.
struct Backup {
  std::optional<std::string> mac;  // "aa:bb:cc:dd:ee:ff", as the kernel printed it
  std::optional<bool> promisc;
  std::optional<unsigned> mtu;
  std::optional<bool> allmulti;
  std::optional<unsigned> txqlen;  // "txQLen"
  // nsnet's own; empty in a file the reference plugin wrote.
  std::string network;
  std::string container_id;
  std::string ifname;
  std::map<std::string, std::string> sysctls;  // sysctl key ("net/ipv4/...") -> original value

  [[nodiscard]] bool has_link_values() const noexcept {
    return mac || promisc || mtu || allmulti || txqlen;
  }
  [[nodiscard]] nlohmann::json to_json() const;
  // Throws Error(kDecodingFailure) naming the field for a malformed backup.
  [[nodiscard]] static Backup from_json(const nlohmann::json& j);
};

[[nodiscard]] std::filesystem::path backup_path(const std::filesystem::path& data_dir,
                                                const std::string& container_id,
                                                const std::string& ifname);

// The backup at `path`, or nullopt when there is no file. Throws Error(kDecodingFailure) for
// content that is not a backup, SysError when the file cannot be read.
[[nodiscard]] std::optional<Backup> find_backup(const std::filesystem::path& path);

// Writes the backup atomically (mode 0600), creating its directory (0700) if needed.
// Throws SysError naming the path.
void save_backup(const std::filesystem::path& path, const Backup& backup);

}  // namespace plugins::tuning
