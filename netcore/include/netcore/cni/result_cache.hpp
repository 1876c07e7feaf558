#pragma once

// libcni's result cache (spec §a11): what a runtime remembers of each attachment between ADD and
// DEL, in libcni's exact layout, so nsnet and libcni-based runtimes (cnitool, podman, containerd)
// read each other's entries. `<cache_dir>/results/<network>-<containerID>-<ifname>`, directory
// 0700, file 0600, JSON {"kind":"cniCacheV1", ...}: the keys, their order and the base64 "config"
// of libcni 1.2 (which added "netns"; libcni 1.1 ignores that key when reading).
//
// Names are checked before any path is built: a network or container ID that does not match
// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$, or an ifname that CNI_IFNAME would reject (empty, over 15 bytes,
// "." or "..", a '/', ':' or whitespace), throws Error(kInvalidNetworkConfig), so no entry can
// name a file outside the directory.
//
// Thread-safety: entries are written atomically (temp file + rename); readers never see half a
// file. Concurrent writers of the same attachment are the runtime's business, as in libcni.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/cni/conflist.hpp"

namespace netcore::cni {

// One cached attachment as libcni writes it.
struct CachedAttachment {
  std::string container_id;
  std::string network_name;
  std::string ifname;
  std::string netns;
  std::vector<std::pair<std::string, std::string>> cni_args;
  nlohmann::json capability_args = nlohmann::json::object();
  std::string config;                    // the list's bytes ("config" holds them in base64)
  std::optional<nlohmann::json> result;  // the ADD result, as the list's version printed it
};

class ResultCache final {
 public:
  explicit ResultCache(const std::filesystem::path& cache_dir = kDefaultCacheDir);

  // Records a successful ADD of `list` for `rt`; the result is stored as the list's version
  // prints it. Throws Error(kIoFailure), Error(kInvalidNetworkConfig) for unsafe names.
  void save(const NetworkList& list, const RuntimeConf& rt, const Result& result) const;
  // The entry of one attachment; nullopt when there is none or it cannot be parsed (a crash of an
  // older writer can leave an empty file: it is treated as absent, as libcni does). A pre-v1
  // entry (a bare result, as libcni before 0.7 wrote) comes back with only its result and the
  // names asked for.
  [[nodiscard]] std::optional<CachedAttachment> load(const std::string& network,
                                                     const std::string& container_id,
                                                     const std::string& ifname) const;
  // Removes one entry; a missing one is not an error.
  void remove(const std::string& network, const std::string& container_id,
              const std::string& ifname) const;
  // Every readable entry of `network` (libcni's GetCachedAttachments), sorted by file name as libcni lists them.
  // Files whose name is not their content's <network>-<containerId>-<ifName> (a stray temporary
  // file of an interrupted write) are skipped.
  [[nodiscard]] std::vector<CachedAttachment> list(const std::string& network) const;

  // The file of one attachment. Throws Error(kInvalidNetworkConfig) for unsafe names.
  [[nodiscard]] std::filesystem::path path(const std::string& network,
                                           const std::string& container_id,
                                           const std::string& ifname) const;

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

  static inline const std::filesystem::path kDefaultCacheDir = "/var/lib/cni";

 private:
  std::filesystem::path dir_;  // cache_dir/results
};

}  // namespace netcore::cni
