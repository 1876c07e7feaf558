#pragma once

// A lab's directory: everything `nsnet lab` keeps about a running lab, and the only place outside
// the lab's own namespaces where it leaves anything. /run/nsnet-lab/LAB as root, else
// $XDG_RUNTIME_DIR/nsnet-lab/LAB (apart from the containers' /run/nsnet, whose every entry is a
// container).
//
//   lock           flock: one `up`, `down` or `check` of a lab at a time
//   topology.json  the file the lab was built from
//   state.json     the record below, rewritten (atomically) as the build goes on
//   ns/            the namespaces, bind-mounted: node net "node.N", node UTS "uts.N", pod net
//                  "pod.N.P", the switches' net "switches"
//   ipam/NODE/     host-local's dataDir for each node's networks
//   cache/NODE/    each node's CNI result cache (what DEL and CHECK of its pods read)
//   log/           the output of the nodes' commands
//
// Not thread-safe; one LabDir per process.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <netcore/base/unique_fd.hpp>
#include <netcore/proc/daemon.hpp>

namespace nsnet::lab {

// A process the lab started (a node's command) or that holds it (the rootless lab's keeper).
struct LabProcess {
  std::string node;  // empty for the keeper
  std::vector<std::string> argv;
  netcore::proc::ProcessId id;
};

// One pod's attachment to one network, as its CNI ADD answered.
struct PodAttachment {
  std::string network;
  std::string ifname;
  std::vector<std::string> addresses;  // "10.245.0.2/24", in the result's order
  std::string mac;                     // the pod's interface, when the result names it
};

struct PodRecord {
  std::string node;
  std::string pod;
  std::vector<PodAttachment> attachments;
};

enum class LabStatus { kBuilding, kUp };

struct LabRecord {
  std::string name;
  LabStatus status = LabStatus::kBuilding;
  bool rootless = false;
  std::optional<LabProcess> keeper;
  std::vector<LabProcess> processes;
  std::vector<PodRecord> pods;
  std::int64_t created = 0;  // seconds since the epoch
  double build_seconds = 0;

  [[nodiscard]] const PodRecord* find_pod(const std::string& node, const std::string& pod) const;
};

[[nodiscard]] inline std::filesystem::path lab_ipam_dir(const std::filesystem::path& lab_path,
                                                        const std::string& node);

class LabDir final {
 public:
  // /run/nsnet-lab as root, else $XDG_RUNTIME_DIR/nsnet-lab (or /run/user/UID/nsnet-lab).
  [[nodiscard]] static std::filesystem::path root();
  // The names of the labs with a directory, sorted.
  [[nodiscard]] static std::vector<std::string> list();
  // Where the lab called `name` lives (whether or not it exists). Throws
  // Error(kInvalidNetworkConfig) "no lab can be called NAME" unless `name` is a valid lab name
  // (what topologies allow: [a-z0-9][a-z0-9-]*, at most 12 bytes), so that a name from the
  // command line never leads outside root().
  [[nodiscard]] static std::filesystem::path path_of(const std::string& name);
  // A lab's record read without its lock (for `ls`); nullopt as load() gives it.
  [[nodiscard]] static std::optional<LabRecord> peek(const std::string& name);
  // Whether an nsnet holds the lab's lock (an `up` still building it, a `down` removing it).
  [[nodiscard]] static bool busy(const std::string& name);

  // Opens (creating it when `create`) the lab's directory and takes its lock, waiting for another
  // nsnet holding it. nullopt when the lab does not exist and `create` is false. Throws
  // netcore::Error naming the path.
  [[nodiscard]] static std::optional<LabDir> open(const std::string& name, bool create);

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }
  [[nodiscard]] std::filesystem::path ns_dir() const { return dir_ / "ns"; }
  [[nodiscard]] std::filesystem::path ipam_dir(const std::string& node) const {
    return lab_ipam_dir(dir_, node);
  }
  [[nodiscard]] std::filesystem::path cache_dir(const std::string& node) const {
    return dir_ / "cache" / node;
  }
  [[nodiscard]] std::filesystem::path log_dir() const { return dir_ / "log"; }
  [[nodiscard]] std::filesystem::path topology_file() const { return dir_ / "topology.json"; }

  // The record; nullopt when there is none yet or it does not parse (a build killed early).
  [[nodiscard]] std::optional<LabRecord> load() const;
  void save(const LabRecord& record) const;

  // Unmounts everything mounted under the directory (the namespaces; also after a crash, from
  // /proc/self/mountinfo) and removes it. The lock goes with this object.
  void remove() const;

 private:
  LabDir(std::filesystem::path dir, netcore::UniqueFd lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::filesystem::path dir_;
  netcore::UniqueFd lock_;
};

// host-local's dataDir for a node of the lab in `lab_path`.
[[nodiscard]] inline std::filesystem::path lab_ipam_dir(const std::filesystem::path& lab_path,
                                                        const std::string& node) {
  return lab_path / "ipam" / node;
}

// The names the lab gives its namespaces under ns/.
[[nodiscard]] std::string node_ns_name(const std::string& node);
[[nodiscard]] std::string node_uts_name(const std::string& node);
[[nodiscard]] std::string pod_ns_name(const std::string& node, const std::string& pod);
inline constexpr const char* kSwitchesNsName = "switches";

}  // namespace nsnet::lab
