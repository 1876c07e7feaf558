#include "netcore/ipam/disk_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <utility>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "netcore/base/hash.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore::ipam {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kLineBreak = "\r\n";
constexpr std::string_view kLastReservedPrefix = "last_reserved_ip.";

std::string_view trim(std::string_view text) {
  const auto* ws = " \t\r\n";
  const auto first = text.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(ws) - first + 1);
}

// A reservation file's content: "<id>\r\n<ifname>", or the legacy "<id>".
Owner parse_owner(std::string_view content) {
  content = trim(content);
  const auto br = content.find(kLineBreak);
  if (br == std::string_view::npos) return {std::string(content), ""};
  return {std::string(trim(content.substr(0, br))), std::string(content.substr(br + 2))};
}

// Reservation files are named by their address; everything else in the directory is not one.
std::optional<net::IpAddress> address_from_name(const std::string& name) {
  if (name.empty() || name == "lock" || name.starts_with(kLastReservedPrefix)) return std::nullopt;
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(name, ec);
  if (ec || ip.to_string() != name) return std::nullopt;  // also skips "x.tmp.123456"
  return ip;
}

std::vector<std::string> directory_entries(const fs::path& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) throw_errno("open directory " + dir.string());
  errno = 0;
  while (const dirent* entry = ::readdir(d.get())) {
    if (entry->d_type == DT_DIR) continue;
    names.emplace_back(entry->d_name);
  }
  if (errno != 0) throw_errno("read directory " + dir.string());
  return names;
}

void remove_if_exists(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + path.string());
}

// Overwrites `path` in place (no temporary file, no rename: one inode creation at most). Only for
// nsnet's own index files and the hints the reference also writes this way: a torn write is
// always detected, because every change first changes the network directory, which
// invalidates the stamp until the last write of the operation.
// A symbolic link planted in its place is refused (O_NOFOLLOW), never written through.
void write_in_place(const fs::path& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == ELOOP)
      throw Error(ErrorCode::kIoFailure,
                  "open " + path.string() + ": a symbolic link, not a state file; refusing");
    throw_errno("open " + path.string());
  }
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    throw_errno("write " + path.string());
}


}  // namespace

std::unique_ptr<DiskStore> DiskStore::open_existing(const fs::path& data_dir,
                                                   const std::string& network) {
  struct stat st{};
  if (::stat((data_dir / network).c_str(), &st) != 0) {
    if (errno == ENOENT) return nullptr;
    throw_errno("stat " + (data_dir / network).string());
  }
  return open(data_dir, network);
}

std::unique_ptr<DiskStore> DiskStore::open(const fs::path& data_dir, const std::string& network) {
  const fs::path dir = data_dir / network;
  const fs::path meta_dir = data_dir / ".nsnet" / network;
  // Everything below is written by path: a directory replaced by a symbolic link would send the
  // lock, the reservations and the index elsewhere. (dataDir itself is the admin's choice.)
  const auto refuse_links = [&] {
    for (const auto& d : {dir, meta_dir, meta_dir / "owners"})
      refuse_linked_directory(d, "host-local: state directory");
  };
  refuse_links();
  for (const auto& d : {dir, meta_dir / "owners"}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) throw SysError("create directory " + d.string(), ec.value());
  }
  refuse_links();
  auto lock = FileLock::acquire(dir / "lock");
  return std::unique_ptr<DiskStore>(new DiskStore(dir, meta_dir, std::move(lock)));
}

DiskStore::DiskStore(fs::path dir, fs::path meta_dir, FileLock lock)
    : dir_(std::move(dir)), meta_dir_(std::move(meta_dir)), lock_(std::move(lock)) {}

std::optional<Owner> DiskStore::read_reservation(const net::IpAddress& ip) {
  const auto path = dir_ / ip.to_string();
  const auto content = find_state_file_content(path);
  if (!content) return std::nullopt;
  if (trim(*content).empty()) {
    // Every writer holds the lock while it creates and fills a reservation, and we hold it now:
    // an empty file is what a writer killed in between left behind.
    log::warn("reservation {} is empty (a crashed writer's), reclaiming it", path.string());
    remove_if_exists(path);
    return std::nullopt;
  }
  return parse_owner(*content);
}

bool DiskStore::reserve(const Owner& owner, const net::IpAddress& ip, std::size_t rangeset) {
  ensure_index();
  const auto path = dir_ / ip.to_string();
  constexpr int kCreate = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  UniqueFd fd(::open(path.c_str(), kCreate, 0644));
  if (!fd) {
    if (errno != EEXIST) throw_errno("create reservation " + path.string());
    if (read_reservation(ip)) return false;  // held
    fd.reset(::open(path.c_str(), kCreate, 0644));  // an abandoned file was just removed
    if (!fd) {
      if (errno == EEXIST) return false;
      throw_errno("create reservation " + path.string());
    }
  }
  const std::string content = std::string(trim(owner.container_id)) + std::string(kLineBreak) + owner.ifname;
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    const int err = errno;
    ::unlink(path.c_str());
    throw SysError("write reservation " + path.string(), err);
  }
  fd.reset();

  auto held = read_index(owner);
  held.push_back(ip);
  write_index(owner, held);
  write_in_place(dir_ / (std::string(kLastReservedPrefix) + std::to_string(rangeset)),
                 ip.to_string());
  write_stamp();
  return true;
}

std::optional<net::IpAddress> DiskStore::last_reserved(std::size_t rangeset) {
  const auto content = find_state_file_content(
      dir_ / (std::string(kLastReservedPrefix) + std::to_string(rangeset)));
  if (!content) return std::nullopt;
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(std::string(trim(*content)), ec);
  if (ec) return std::nullopt;  // a torn write by another writer: only round-robin suffers
  return ip;
}

std::vector<net::IpAddress> DiskStore::find_by_owner(const Owner& owner) {
  ensure_index();
  std::vector<net::IpAddress> held;
  for (const auto& candidate : {owner, Owner{owner.container_id, ""}}) {
    for (const auto& ip : read_index(candidate))
      if (read_reservation(ip) == candidate) held.push_back(ip);
  }
  return held;
}

std::vector<net::IpAddress> DiskStore::release_by_owner(const Owner& owner) {
  ensure_index();
  std::vector<net::IpAddress> released;
  bool indexed = false;
  // Like the reference: legacy id-only reservations count only when nothing matches exactly.
  for (const auto& candidate : {owner, Owner{owner.container_id, ""}}) {
    const auto held = read_index(candidate);
    indexed = indexed || !held.empty();
    for (const auto& ip : held) {
      if (read_reservation(ip) != candidate) continue;
      remove_if_exists(dir_ / ip.to_string());
      released.push_back(ip);
    }
    if (!held.empty()) remove_if_exists(index_path(candidate));
    if (!released.empty()) break;
  }
  if (indexed) write_stamp();  // a repeated DEL changes nothing and writes nothing
  return released;
}

std::vector<Reservation> DiskStore::list() {
  std::vector<Reservation> reservations;
  for (const auto& name : directory_entries(dir_)) {
    const auto ip = address_from_name(name);
    if (!ip) continue;
    if (auto owner = read_reservation(*ip)) reservations.push_back({*ip, *std::move(owner)});
  }
  return reservations;
}

void DiskStore::release(const net::IpAddress& ip) {
  ensure_index();
  if (const auto owner = read_reservation(ip)) {
    remove_if_exists(dir_ / ip.to_string());
    auto held = read_index(*owner);
    std::erase(held, ip);
    write_index(*owner, held);
  }
  write_stamp();
}

bool DiskStore::known_exhausted(std::size_t rangeset, const std::string& key) {
  const auto marker = find_state_file_content(meta_dir_ / ("exhausted." + std::to_string(rangeset)));
  return marker && *marker == key + "\n" + directory_stamp();
}

void DiskStore::mark_exhausted(std::size_t rangeset, const std::string& key) {
  write_in_place(meta_dir_ / ("exhausted." + std::to_string(rangeset)),
                 key + "\n" + directory_stamp());
}

std::string DiskStore::directory_stamp() const {
  struct stat st{};
  if (::stat(dir_.c_str(), &st) != 0) throw_errno("stat " + dir_.string());
  // The modification time alone could miss a change made within the same clock tick on
  // file systems without fine-grained timestamps; the size and change time narrow that.
  return std::to_string(st.st_ino) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ctim.tv_sec) + "." +
         std::to_string(st.st_ctim.tv_nsec) + " " + std::to_string(st.st_size);
}

void DiskStore::write_stamp() {
  write_in_place(meta_dir_ / "stamp", directory_stamp());
}

void DiskStore::ensure_index() {
  if (index_checked_) return;
  index_checked_ = true;
  if (find_state_file_content(meta_dir_ / "stamp") == directory_stamp()) return;

  log::debug("{} changed outside nsnet; rebuilding its owner index", dir_.string());
  std::map<std::pair<std::string, std::string>, std::vector<net::IpAddress>> by_owner;
  for (const auto& r : list()) by_owner[{r.owner.container_id, r.owner.ifname}].push_back(r.ip);
  const auto owners_dir = meta_dir_ / "owners";
  for (const auto& name : directory_entries(owners_dir)) remove_if_exists(owners_dir / name);
  for (const auto& [key, ips] : by_owner) write_index(Owner{key.first, key.second}, ips);
  write_stamp();
}

fs::path DiskStore::index_path(const Owner& owner) const {
  // Container IDs cannot hold ':' (CNI's ID pattern), so "<id>:<ifname>" names one owner.
  std::string name = owner.container_id + ":" + owner.ifname;
  const bool plain = name.size() <= 200 && name.find('/') == std::string::npos &&
                     name.find('\0') == std::string::npos && name.front() != '.';
  if (!plain) name = "h-" + stable_hash(name);  // the owner lines inside tell collisions apart
  return meta_dir_ / "owners" / name;
}

std::vector<net::IpAddress> DiskStore::read_index(const Owner& owner) const {
  // "<id>\n<ifname>\n<ip>\n<ip>..."; the owner lines guard against hashed-name collisions.
  const auto content = find_state_file_content(index_path(owner));
  std::vector<net::IpAddress> ips;
  if (!content) return ips;
  size_t pos = 0;
  std::vector<std::string> lines;
  while (pos < content->size()) {
    const auto nl = content->find('\n', pos);
    lines.push_back(content->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? content->size() : nl + 1;
  }
  if (lines.size() < 2 || lines[0] != owner.container_id || lines[1] != owner.ifname) return ips;
  for (size_t i = 2; i < lines.size(); ++i) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(lines[i], ec);
    if (!ec) ips.push_back(ip);
  }
  return ips;
}

void DiskStore::write_index(const Owner& owner, const std::vector<net::IpAddress>& ips) {
  const auto path = index_path(owner);
  if (ips.empty()) {
    remove_if_exists(path);
    return;
  }
  std::string content = owner.container_id + "\n" + owner.ifname + "\n";
  for (const auto& ip : ips) content += ip.to_string() + "\n";
  write_in_place(path, content);
}

}  // namespace netcore::ipam
