#include "lab/lab_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>

#include "lab/topology.hpp"
#include "state/runtime_dir.hpp"

namespace nsnet::lab {

namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using nlohmann::json;

namespace {

json to_json(const LabProcess& p) {
  return {{"node", p.node}, {"argv", p.argv}, {"pid", p.id.pid}, {"startTime", p.id.start_time}};
}

LabProcess process_from_json(const json& j) {
  return {j.at("node").get<std::string>(), j.at("argv").get<std::vector<std::string>>(),
          {j.at("pid").get<pid_t>(), j.at("startTime").get<std::uint64_t>()}};
}

// mountinfo's field escaping: space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string digits = text.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(),
                                            [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// Mount points at or below `dir`, deepest (and most recent) first.
std::vector<std::string> mounts_under(const fs::path& dir) {
  const std::string prefix = dir.string();
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    if (!(fields >> id >> parent >> devno >> root >> mount_point)) continue;
    const std::string path = unescape_mount_path(mount_point);
    if (path == prefix || path.starts_with(prefix + "/")) found.push_back(path);
  }
  std::reverse(found.begin(), found.end());
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return found;
}

std::optional<LabRecord> read_record(const fs::path& file);

}  // namespace

const PodRecord* LabRecord::find_pod(const std::string& node, const std::string& pod) const {
  for (const auto& record : pods)
    if (record.node == node && record.pod == pod) return &record;
  return nullptr;
}

fs::path LabDir::root() { return runtime_dir("nsnet-lab"); }

fs::path LabDir::path_of(const std::string& name) {
  const bool valid = !name.empty() && name.size() <= kMaxLabNameLength && name[0] != '-' &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
                         std::string::npos;
  if (!valid) throw Error(ErrorCode::kInvalidNetworkConfig, "no lab can be called \"" + name + "\"");
  return root() / name;
}

std::vector<std::string> LabDir::list() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root(), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && !name.starts_with(".") && name.size() <= kMaxLabNameLength)
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<LabDir> LabDir::open(const std::string& name, bool create) {
  const fs::path dir = path_of(name);
  for (;;) {
    if (create) {
      std::error_code ec;
      fs::create_directories(root(), ec);
      if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        netcore::throw_errno("create " + dir.string());
    }
    const fs::path lock_path = dir / "lock";
    netcore::UniqueFd lock(::open(lock_path.c_str(),
                                  O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600));
    if (!lock) {
      if (errno == ENOENT && !create) return std::nullopt;
      netcore::throw_errno("open " + lock_path.string());
    }
    if (::flock(lock.get(), LOCK_EX) != 0) netcore::throw_errno("lock " + lock_path.string());
    // A `down` that held the lock before us has removed the directory: start again.
    struct stat held {};
    struct stat now {};
    if (::fstat(lock.get(), &held) == 0 && ::stat(lock_path.c_str(), &now) == 0 &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev)
      return LabDir(dir, std::move(lock));
    if (!create) return std::nullopt;
  }
}

std::optional<LabRecord> LabDir::peek(const std::string& name) {
  return read_record(path_of(name) / "state.json");
}

bool LabDir::busy(const std::string& name) {
  const netcore::UniqueFd lock(
      ::open((path_of(name) / "lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  return lock && ::flock(lock.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

std::optional<LabRecord> LabDir::load() const { return read_record(dir_ / "state.json"); }

namespace {

std::optional<LabRecord> read_record(const fs::path& file) {
  const auto text = netcore::find_file_content(file);
  if (!text) return std::nullopt;
  try {
    const json j = json::parse(*text);
    LabRecord r;
    r.name = j.at("name").get<std::string>();
    r.status = j.at("status").get<std::string>() == "up" ? LabStatus::kUp : LabStatus::kBuilding;
    r.rootless = j.value("rootless", false);
    if (j.contains("keeper")) r.keeper = process_from_json(j.at("keeper"));
    for (const auto& p : j.at("processes")) r.processes.push_back(process_from_json(p));
    for (const auto& p : j.at("pods")) {
      PodRecord pod{p.at("node").get<std::string>(), p.at("pod").get<std::string>(), {}};
      for (const auto& a : p.at("attachments"))
        pod.attachments.push_back({a.at("network").get<std::string>(),
                                   a.at("ifname").get<std::string>(),
                                   a.at("addresses").get<std::vector<std::string>>(),
                                   a.value("mac", "")});
      r.pods.push_back(std::move(pod));
    }
    r.created = j.value("created", std::int64_t{0});
    r.build_seconds = j.value("buildSeconds", 0.0);
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void LabDir::save(const LabRecord& r) const {
  json processes = json::array();
  for (const auto& p : r.processes) processes.push_back(to_json(p));
  json pods = json::array();
  for (const auto& p : r.pods) {
    json attachments = json::array();
    for (const auto& a : p.attachments)
      attachments.push_back({{"network", a.network},
                             {"ifname", a.ifname},
                             {"addresses", a.addresses},
                             {"mac", a.mac}});
    pods.push_back({{"node", p.node}, {"pod", p.pod}, {"attachments", attachments}});
  }
  json j = {{"name", r.name},
            {"status", r.status == LabStatus::kUp ? "up" : "building"},
            {"rootless", r.rootless},
            {"processes", processes},
            {"pods", pods},
            {"created", r.created},
            {"buildSeconds", r.build_seconds}};
  if (r.keeper) j["keeper"] = to_json(*r.keeper);
  netcore::write_file_atomic(dir_ / "state.json", j.dump(2) + "\n", 0600);
}

void LabDir::remove() const {
  for (const auto& mount_point : mounts_under(dir_))
    if (::umount2(mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
        errno != ENOENT)
      netcore::throw_errno("unmount " + mount_point);
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) throw netcore::SysError("remove " + dir_.string(), ec.value());
}

// Names hold no dots, so the prefixes keep the three kinds (and "switches") apart.
std::string node_ns_name(const std::string& node) { return "node." + node; }
std::string node_uts_name(const std::string& node) { return "uts." + node; }
std::string pod_ns_name(const std::string& node, const std::string& pod) {
  return "pod." + node + "." + pod;
}

}  // namespace nsnet::lab
