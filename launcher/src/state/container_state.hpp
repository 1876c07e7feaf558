#pragma once

// What nsnet remembers of a running container: a directory per container under /run/nsnet (root)
// or $XDG_RUNTIME_DIR/nsnet (rootless) holding state.json and a lock. The supervising nsnet holds
// the lock for its whole life, so "is it still running?" is a non-blocking flock — immune to pid
// reuse, and released by the kernel even when nsnet is SIGKILLed.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netcore/base/unique_fd.hpp>

namespace nsnet {

// One network attachment. Recorded before its ADD starts, so a crash mid-ADD is still DELeted.
struct AttachmentState {
  std::string network;
  std::string ifname;
  std::string conflist;  // the list's text: DEL must not depend on the config dir staying the same
  nlohmann::json result;  // null until ADD succeeded
};

// The user-mode network helper (slirp4netns or pasta) of a container. Identified by pid and
// start time, so gc never signals a process that merely reuses the pid.
struct HelperState {
  std::string program;  // "slirp4netns" | "pasta"
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  std::string api_socket;  // slirp4netns's; empty for pasta
  std::string address;     // the container's, "10.0.2.100/24"; empty for pasta (the host's)
};

struct ContainerState {
  std::string id;
  pid_t supervisor_pid = 0;
  pid_t pid = 0;  // the command, as the host sees it; 0 until it runs
  std::string netns;  // "/proc/PID/ns/net" of the process holding the namespace, or empty
  std::vector<std::string> command;
  std::string created;  // RFC 3339, UTC
  std::string hostname;
  std::vector<std::string> cni_path;
  nlohmann::json port_mappings = nlohmann::json::array();
  std::vector<AttachmentState> networks;
  std::optional<HelperState> helper;
  std::vector<std::string> persisted;      // namespace files nsnet bind-mounted
  std::vector<std::string> created_files;  // those of them nsnet created (removed at the end)
  bool detached = false;

  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] static ContainerState from_json(const nlohmann::json& j);
};

class StateDir final {
 public:
  // /run/nsnet as root, else $XDG_RUNTIME_DIR/nsnet (or /run/user/UID/nsnet).
  [[nodiscard]] static std::filesystem::path root();

  // Creates the directory of a new container and takes its lock. Throws std::runtime_error when
  // the id is taken or not a safe name.
  [[nodiscard]] static StateDir create(const std::string& id);
  // Locks the directory of a container whose supervisor is gone; nullopt while it runs (or when
  // another gc holds it).
  [[nodiscard]] static std::optional<StateDir> lock_if_abandoned(const std::string& id);
  // Every container id with a directory, sorted.
  [[nodiscard]] static std::vector<std::string> list_ids();
  // Whether a supervisor holds the container's lock.
  [[nodiscard]] static bool is_running(const std::string& id);
  // The container's state; nullopt when missing or unreadable.
  [[nodiscard]] static std::optional<ContainerState> load(const std::string& id);

  void save(const ContainerState& state) const;
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return dir_ / name; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }
  [[nodiscard]] int lock_fd() const noexcept { return lock_.get(); }
  // Removes the directory; the lock goes with this object.
  void remove() const;

 private:
  StateDir(std::filesystem::path dir, netcore::UniqueFd lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::filesystem::path dir_;
  netcore::UniqueFd lock_;
};

// A fresh random container id (12 hex digits).
[[nodiscard]] std::string new_container_id();

}  // namespace nsnet
