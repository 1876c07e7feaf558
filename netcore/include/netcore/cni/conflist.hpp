#pragma once

// The runtime side of CNI: network configuration lists (.conflist, spec §a9) and running their
// plugins in a chain, as libcni does (§a3, §a4). Used by `nsnet net`, the launcher, and the tests
// that run a whole conflist. Knows nothing of namespaces: CNI_NETNS is a path handed on.
//
// Thread-safety: the functions are reentrant; chains for different attachments may run at the
// same time (the plugins lock their shared state).

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/cni/types.hpp"
#include "netcore/proc/process.hpp"

namespace netcore::cni {

// One network configuration list. Value type.
struct NetworkList {
  std::string name;
  // The version the list runs at: the highest of "cniVersion" and "cniVersions" that nsnet
  // speaks (newer entries are dropped, as libcni does).
  std::string cni_version;
  bool disable_check = false;
  bool disable_gc = false;
  std::vector<nlohmann::json> plugins;  // each an object with a "type"
  std::string bytes;  // the text the list was parsed from (a single-plugin config: the wrapping list)

  // Parses a .conflist document; `is_single_plugin` parses a .conf/.json one instead, wrapped
  // into a one-plugin list (libcni's fallback). Throws Error(kDecodingFailure) for bad JSON and
  // Error(kInvalidNetworkConfig) naming the key: missing or unsafe name, no plugins, a plugin
  // without a valid "type", no version nsnet speaks. Bool keys also accept "true"/"false".
  [[nodiscard]] static NetworkList parse(const std::string& text, bool is_single_plugin = false);
  // Reads and parses a file (.conf and .json are single-plugin). Throws Error(kIoFailure) when
  // unreadable, and what parse throws, prefixed with the path.
  [[nodiscard]] static NetworkList load(const std::filesystem::path& file);
};

// The network called `name` in `conf_dir`: the lexicographically first .conflist whose "name"
// matches, else the first such .conf/.json (libcni's order). nullopt when there is none; files
// that do not parse are skipped. Throws Error(kIoFailure) when the directory cannot be read.
[[nodiscard]] std::optional<NetworkList> find_network(const std::filesystem::path& conf_dir,
                                                      const std::string& name);

// Who is attached, and what the runtime passes along (spec §a2, §a10).
struct RuntimeConf {
  std::string container_id;
  std::string netns;  // may be empty on DEL
  std::string ifname;
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, in order
  // Capability arguments ("portMappings", "bandwidth", "mac", ...): each plugin gets, in
  // "runtimeConfig", those its "capabilities" declares true.
  nlohmann::json capability_args = nlohmann::json::object();
};

// Where plugins are found and how they are run.
struct PluginRunner {
  std::vector<std::string> path;  // CNI_PATH, searched in order
  proc::Environment env;          // the base environment of every plugin
  std::chrono::milliseconds timeout{0};  // per plugin call; 0 = none
};

// The config one plugin of the list receives on stdin (§a4): the plugin's object plus "name",
// "cniVersion", "runtimeConfig" (only when not empty) and "prevResult" (when given).
[[nodiscard]] nlohmann::json plugin_config(const NetworkList& list, const nlohmann::json& plugin,
                                           const RuntimeConf& rt,
                                           const std::optional<nlohmann::json>& prev_result);

// ADD through every plugin in order, each getting the previous one's result; returns the last
// result. Stops at the first failure and throws its Error prefixed with the plugin's type
// ("plugin portmap: ..."); the runtime then owes a DEL (spec §a3).
[[nodiscard]] Result add_network_list(const NetworkList& list, const RuntimeConf& rt,
                                      const PluginRunner& runner);
// CHECK in order with the cached result as prevResult (a no-op for disableCheck or a version
// before 0.4.0, as libcni answers). Throws the first failure, prefixed like ADD.
void check_network_list(const NetworkList& list, const RuntimeConf& rt, const Result& prev,
                        const PluginRunner& runner);
// DEL in reverse order. Unlike libcni, it goes on past a failing plugin, so that a broken meta
// plugin cannot keep IPAM from releasing an address, and throws every failure joined at the end.
// `prev` is the cached ADD result, passed on from 0.4.0 on.
void del_network_list(const NetworkList& list, const RuntimeConf& rt,
                      const std::optional<Result>& prev, const PluginRunner& runner);
// GC (1.1.0 lists only, and not with disableGC): every plugin, with the still-valid attachments
// in "cni.dev/valid-attachments" (and "cni.dev/attachments", as libcni sends both). Throws every
// failure joined.
void gc_network_list(const NetworkList& list, const std::vector<Attachment>& valid,
                     const PluginRunner& runner);
// STATUS (1.1.0 lists only; older lists are ready): every plugin in order, stopping at the first
// failure, which is thrown with the plugin's code (50, 51, ...).
void status_network_list(const NetworkList& list, const PluginRunner& runner);

}  // namespace netcore::cni
