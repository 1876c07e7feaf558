#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netcore/ipam/file_lock.hpp"
#include "netcore/ipam/store.hpp"

namespace netcore::ipam {

// The reference host-local's on-disk store, byte for byte, so either plugin can take over a
// network from the other:
//   <dataDir>/<network>/<ip>                  "<containerID>\r\n<ifname>" (legacy: "<containerID>")
//   <dataDir>/<network>/last_reserved_ip.<i>  the last address reserved from range set i
//   <dataDir>/<network>/lock                  flock, held for the store's whole lifetime
// Beside it, in <dataDir>/.nsnet/<network>/ (a name no network can have), nsnet keeps an owner
// index and a stamp of the network directory. While the stamp matches the directory, the index
// is exact and lookups by owner cost O(1) instead of reading every reservation; when something
// else (the reference plugin, a crash between two steps) changed the directory, the index is
// rebuilt from it once. An empty reservation file can only come from a writer that crashed
// before writing it (every writer holds the lock), so it is reclaimed when found.
// Not thread-safe; one DiskStore per process and operation.
class DiskStore final : public Store {
 public:
  static inline const std::filesystem::path kDefaultDataDir = "/var/lib/cni/networks";

  // Creates the directories if needed and takes the lock. Throws SysError naming the path.
  [[nodiscard]] static std::unique_ptr<DiskStore> open(const std::filesystem::path& data_dir,
                                                       const std::string& network);

  // Like open(), but nullptr when the network has no directory yet: DEL, CHECK and GC of a
  // network that never allocated must not create one.
  [[nodiscard]] static std::unique_ptr<DiskStore> open_existing(
      const std::filesystem::path& data_dir, const std::string& network);

  bool reserve(const Owner& owner, const net::IpAddress& ip, std::size_t rangeset) override;
  std::optional<net::IpAddress> last_reserved(std::size_t rangeset) override;
  std::vector<net::IpAddress> find_by_owner(const Owner& owner) override;
  std::vector<net::IpAddress> release_by_owner(const Owner& owner) override;
  std::vector<Reservation> list() override;
  void release(const net::IpAddress& ip) override;
  bool known_exhausted(std::size_t rangeset, const std::string& key) override;
  void mark_exhausted(std::size_t rangeset, const std::string& key) override;

  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }

 private:
  DiskStore(std::filesystem::path dir, std::filesystem::path meta_dir, FileLock lock);

  // The reservation file's owner, or nullopt if it does not exist. An abandoned (empty) file is
  // removed and reported as missing.
  std::optional<Owner> read_reservation(const net::IpAddress& ip);
  // Makes the owner index exact: rebuilds it from the directory if the stamp does not match.
  void ensure_index();
  [[nodiscard]] std::string directory_stamp() const;
  // Records the directory's current state as the one the index describes.
  void write_stamp();
  [[nodiscard]] std::filesystem::path index_path(const Owner& owner) const;
  [[nodiscard]] std::vector<net::IpAddress> read_index(const Owner& owner) const;
  void write_index(const Owner& owner, const std::vector<net::IpAddress>& ips);

  std::filesystem::path dir_;
  std::filesystem::path meta_dir_;
  FileLock lock_;
  bool index_checked_ = false;
};

}  // namespace netcore::ipam
