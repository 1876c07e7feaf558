#include "backup.hpp"

#include <sys/stat.h>

#include <cerrno>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/cni/json.hpp>

namespace plugins::tuning {
namespace cni = netcore::cni;
using nlohmann::json;

json Backup::to_json() const {
  json j = json::object();
  if (mac) j["mac"] = *mac;
  if (promisc) j["promisc"] = *promisc;
  if (mtu) j["mtu"] = *mtu;
  if (allmulti) j["allmulti"] = *allmulti;
  if (txqlen) j["txQLen"] = *txqlen;
  j["nsnet"] = {
      {"network", network}, {"containerID", container_id}, {"ifname", ifname}, {"sysctl", sysctls}};
  return j;
}

Backup Backup::from_json(const json& j) {
  if (!j.is_object())
    throw netcore::Error(netcore::ErrorCode::kDecodingFailure, "backup: not a JSON object");
  Backup b;
  b.mac = cni::optional_field<std::string>(j, "mac");
  if (b.mac && b.mac->empty()) b.mac.reset();  // the reference's omitempty
  b.promisc = cni::optional_field<bool>(j, "promisc");
  b.mtu = cni::optional_field<unsigned>(j, "mtu");
  if (b.mtu == 0u) b.mtu.reset();  // the reference writes 0 for "not changed" in old versions
  b.allmulti = cni::optional_field<bool>(j, "allmulti");
  b.txqlen = cni::optional_field<unsigned>(j, "txQLen");
  if (const auto own = j.find("nsnet"); own != j.end() && own->is_object()) {
    cni::at_json_path("nsnet", [&] {
      b.network = cni::optional_field<std::string>(*own, "network").value_or("");
      b.container_id = cni::optional_field<std::string>(*own, "containerID").value_or("");
      b.ifname = cni::optional_field<std::string>(*own, "ifname").value_or("");
      if (const auto s = own->find("sysctl"); s != own->end() && s->is_object()) {
        for (const auto& item : s->items()) {
          const std::string& key = item.key();
          b.sysctls[key] = cni::at_json_path(
              "sysctl", [&] { return cni::required_field<std::string>(*s, key); });
        }
      }
      return 0;
    });
  }
  return b;
}

std::filesystem::path backup_path(const std::filesystem::path& data_dir,
                                  const std::string& container_id, const std::string& ifname) {
  return data_dir / (container_id + "_" + ifname + ".json");
}

std::optional<Backup> find_backup(const std::filesystem::path& path) {
  const auto text = netcore::find_state_file_content(path);  // a planted link: refused
  if (!text) return std::nullopt;
  try {
    return Backup::from_json(cni::parse_json(*text, path.string()));
  } catch (netcore::Error& e) {
    e.prefix("read backup " + path.string());
    throw;
  }
}

void save_backup(const std::filesystem::path& path, const Backup& backup) {
  const auto dir = path.parent_path();
  // The backup itself is renamed into place (a link in its place is replaced, not written
  // through), but a link in place of the directory would put it elsewhere.
  netcore::refuse_linked_directory(dir, "tuning: backup directory");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    // Parents as the system makes them; the directory holding the backups private.
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      netcore::throw_errno("create backup directory " + dir.string());
  }
  netcore::write_file_atomic(path, cni::dump_json(backup.to_json()), 0600);
}

}  // namespace plugins::tuning
