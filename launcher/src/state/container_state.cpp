#include "state/container_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>

#include <netcore/base/file.hpp>
#include <netcore/cni/cmd_args.hpp>

#include "state/runtime_dir.hpp"

namespace nsnet {

namespace fs = std::filesystem;
using nlohmann::json;

json ContainerState::to_json() const {
  json nets = json::array();
  for (const auto& n : networks)
    nets.push_back({{"network", n.network}, {"ifname", n.ifname}, {"conflist", n.conflist},
                    {"result", n.result}});
  json j = {{"id", id},
          {"supervisorPid", supervisor_pid},
          {"pid", pid},
          {"netns", netns},
          {"command", command},
          {"created", created},
          {"hostname", hostname},
          {"cniPath", cni_path},
          {"portMappings", port_mappings},
          {"networks", nets},
          {"persisted", persisted},
          {"createdFiles", created_files},
          {"detached", detached}};
  if (helper)
    j["helper"] = {{"program", helper->program},
                   {"pid", helper->pid},
                   {"startTime", helper->start_time},
                   {"apiSocket", helper->api_socket},
                   {"address", helper->address}};
  return j;
}

ContainerState ContainerState::from_json(const json& j) {
  ContainerState s;
  s.id = j.at("id").get<std::string>();
  s.supervisor_pid = j.value("supervisorPid", 0);
  s.pid = j.value("pid", 0);
  s.netns = j.value("netns", "");
  s.command = j.value("command", std::vector<std::string>{});
  s.created = j.value("created", "");
  s.hostname = j.value("hostname", "");
  s.cni_path = j.value("cniPath", std::vector<std::string>{});
  s.port_mappings = j.value("portMappings", json::array());
  for (const auto& n : j.value("networks", json::array()))
    s.networks.push_back({.network = n.at("network").get<std::string>(),
                          .ifname = n.at("ifname").get<std::string>(),
                          .conflist = n.at("conflist").get<std::string>(),
                          .result = n.value("result", json())});
  s.persisted = j.value("persisted", std::vector<std::string>{});
  s.created_files = j.value("createdFiles", std::vector<std::string>{});
  s.detached = j.value("detached", false);
  if (const auto h = j.find("helper"); h != j.end() && h->is_object())
    s.helper = HelperState{.program = h->value("program", ""),
                           .pid = h->value("pid", 0),
                           .start_time = h->value("startTime", std::uint64_t{0}),
                           .api_socket = h->value("apiSocket", ""),
                           .address = h->value("address", "")};
  return s;
}

fs::path StateDir::root() { return runtime_dir("nsnet"); }

namespace {

// A container directory's lock file, opened (never created: see create()).
netcore::UniqueFd open_lock(const fs::path& dir) {
  return netcore::UniqueFd(::open((dir / "lock").c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
}

}  // namespace

StateDir StateDir::create(const std::string& id) {
  if (!netcore::cni::is_valid_cni_name(id))
    throw std::runtime_error("container id '" + id +
                             "' must be letters, digits, '_', '.' or '-', starting alphanumeric");
  const fs::path base = root();
  fs::create_directories(base);
  ::chmod(base.c_str(), 0700);
  // The directory appears under its id only with its lock already held: built under a hidden
  // name (ids start alphanumeric, list_ids() skips it), then renamed into place. Otherwise a
  // concurrent run's or gc's collect_abandoned_containers() could lock the new, still
  // state-less directory first and remove it as abandoned.
  const fs::path dir = base / id;
  const fs::path building = base / (".new-" + id + "-" + std::to_string(::getpid()));
  if (::mkdir(building.c_str(), 0700) != 0)
    throw std::runtime_error("creating " + building.string() + ": " + std::strerror(errno));
  netcore::UniqueFd lock(::open((building / "lock").c_str(),
                                O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::error_code ignored;
    fs::remove_all(building, ignored);
    throw std::runtime_error("locking " + (building / "lock").string() + ": " + std::strerror(err));
  }
  if (::renameat2(AT_FDCWD, building.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    std::error_code ignored;
    fs::remove_all(building, ignored);
    if (err == EEXIST) throw std::runtime_error("a container named " + id + " exists already");
    throw std::runtime_error("creating " + dir.string() + ": " + std::strerror(err));
  }
  return StateDir(dir, std::move(lock));
}

std::optional<StateDir> StateDir::lock_if_abandoned(const std::string& id) {
  const fs::path dir = root() / id;
  netcore::UniqueFd lock = open_lock(dir);
  if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return std::nullopt;
  // The directory may have been removed by its supervisor between open and flock.
  if (!fs::exists(dir / "lock")) return std::nullopt;
  return StateDir(dir, std::move(lock));
}

std::vector<std::string> StateDir::list_ids() {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root(), ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && !name.starts_with('.')) ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool StateDir::is_running(const std::string& id) {
  netcore::UniqueFd lock(::open((root() / id / "lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!lock) return false;
  if (::flock(lock.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

std::optional<ContainerState> StateDir::load(const std::string& id) {
  const auto text = netcore::find_file_content(root() / id / "state.json");
  if (!text) return std::nullopt;
  try {
    return ContainerState::from_json(json::parse(*text));
  } catch (const std::exception&) {
    return std::nullopt;  // a crash before the first save; gc still removes the directory
  }
}

void StateDir::save(const ContainerState& state) const {
  netcore::write_file_atomic(dir_ / "state.json", state.to_json().dump(), 0600);
}

void StateDir::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string new_container_id() {
  std::random_device random;
  constexpr char kHex[] = "0123456789abcdef";
  std::string id(12, '0');
  for (char& c : id) c = kHex[random() % 16];
  return id;
}

}  // namespace nsnet
