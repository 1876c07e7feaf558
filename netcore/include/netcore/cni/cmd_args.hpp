#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/cni/cni_args.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/types.hpp"
#include "netcore/proc/process.hpp"

namespace netcore::cni {

enum class Command { kAdd, kDel, kCheck, kStatus, kGc, kVersion };

// "ADD" -> kAdd, ...; nullopt for anything else (CNI_COMMAND is case-sensitive).
[[nodiscard]] std::optional<Command> parse_command(std::string_view text) noexcept;
// kAdd -> "ADD", ...
[[nodiscard]] std::string_view to_string(Command command) noexcept;

using Environment = proc::Environment;

// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$: the reference's pattern for network names and container IDs.
[[nodiscard]] bool is_valid_cni_name(std::string_view text) noexcept;

// A CNI_PATH-style list ("a:b::c") split at ':', empty entries dropped.
[[nodiscard]] std::vector<std::string> split_path(std::string_view text);

// The most stdin a plugin reads; more is refused with Error(kIoFailure).
inline constexpr std::size_t kMaxStdinBytes = std::size_t{16} << 20;

// Reads all of `in` in chunks, stopping as soon as it holds more than `limit` bytes. Throws
// Error(kIoFailure) for a read error or too much input.
[[nodiscard]] std::string read_bounded(std::istream& in, std::size_t limit = kMaxStdinBytes);

// One still-valid attachment named in a GC request.
struct Attachment {
  std::string container_id;  // "containerID"
  std::string ifname;        // "ifname"
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct PluginSpec;  // skel.hpp

// Finds a plugin compiled into this executable by its name, or nullptr.
using BuiltinPlugins = std::function<const PluginSpec*(std::string_view name)>;

// One plugin invocation: the CNI_* environment and the network config on stdin, validated as the
// reference skel does (spec §a2). Value type; the accessors parse on each call.
struct CmdArgs {
  Command command = Command::kVersion;
  std::string container_id;       // CNI_CONTAINERID
  std::string netns;              // CNI_NETNS; may be empty on DEL
  std::string ifname;             // CNI_IFNAME
  std::string args;               // CNI_ARGS, raw; see cni_args()
  std::vector<std::string> path;  // CNI_PATH split on ':', empty entries dropped
  std::string stdin_data;         // the config exactly as received (delegated plugins get it)
  nlohmann::json config;          // stdin_data parsed: always an object, except for VERSION
  std::string config_version;     // "cniVersion", "0.1.0" when absent
  std::string network_name;       // "name"
  Environment env;                // the whole environment, for delegated plugins
  BuiltinPlugins builtins;        // lets a delegated plugin run in-process (see delegate.hpp)

  // Validates `env` and reads `in` (all of it, at most kMaxStdinBytes). `supported_versions`
  // empty means all of kSpecVersions. Throws Error:
  //  kInvalidEnvironment (4)   CNI_COMMAND unknown; required variables missing (named, e.g.
  //                            "required env variables [CNI_NETNS,CNI_IFNAME] missing");
  //                            bad CNI_CONTAINERID or CNI_IFNAME (named)
  //  kIoFailure (5)            stdin unreadable or larger than kMaxStdinBytes
  //  kDecodingFailure (6)      stdin empty, not JSON, not an object, nested deeper than
  //                            kMaxJsonDepth, or a non-string cniVersion/name
  //  kInvalidNetworkConfig (7) network name missing or not matching ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$
  //  kIncompatibleVersion (1)  CHECK below 0.4.0, GC/STATUS below 1.1.0, or a version the
  //                            plugin does not support ("incompatible CNI versions", details
  //                            `config is "9.9.9", plugin supports ["0.1.0" ...]`)
  // VERSION is lenient: it never throws past the CNI_COMMAND check; config_version is the
  // stdin's cniVersion when that is valid and supported, else the newest supported version.
  [[nodiscard]] static CmdArgs parse(const Environment& env, std::istream& in,
                                     const std::vector<std::string>& supported_versions = {});

  // config["prevResult"] parsed with config_version, or nullopt when absent or null. Throws
  // Error(kDecodingFailure | kInvalidNetworkConfig) prefixed "prevResult".
  [[nodiscard]] std::optional<Result> prev_result() const;

  // config["runtimeConfig"], or an empty object when absent or null. Throws
  // Error(kDecodingFailure) when it is not an object.
  [[nodiscard]] const nlohmann::json& runtime_config() const;
  // config["args"]["cni"] (CONVENTIONS.md), or an empty object; throws like runtime_config().
  [[nodiscard]] const nlohmann::json& args_cni() const;

  // One key of runtime_config() / args_cni() as T (see optional_field); errors name the path.
  template <class T>
  [[nodiscard]] std::optional<T> runtime_config_field(const std::string& key) const {
    try {
      return optional_field<T>(runtime_config(), key);
    } catch (Error& e) {
      e.prefix("runtimeConfig");
      throw;
    }
  }
  template <class T>
  [[nodiscard]] std::optional<T> args_field(const std::string& key) const {
    try {
      return optional_field<T>(args_cni(), key);
    } catch (Error& e) {
      e.prefix("args.cni");
      throw;
    }
  }

  // CNI_ARGS parsed; throws Error(kInvalidEnvironment) like CniArgs::parse.
  [[nodiscard]] CniArgs cni_args() const;

  // The attachments a GC must keep: "cni.dev/valid-attachments", else the spec-v1.1.0 tag's
  // "cni.dev/attachments" (libcni sends both). nullopt when the config carries neither; a plugin
  // should then collect nothing. Throws Error(kDecodingFailure) naming a malformed entry.
  [[nodiscard]] std::optional<std::vector<Attachment>> valid_attachments() const;
};

}  // namespace netcore::cni
