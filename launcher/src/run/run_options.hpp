#pragma once

// `nsnet run`'s command line: every option of util-linux unshare(1) with the same meaning, plus
// networking, naming and detaching. Parsing is pure (no system state but the user database), so
// it is unit-tested; resolve_defaults() then applies the rules that depend on who runs it.

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsnet {

enum class Namespace { kMount, kUts, kIpc, kNet, kPid, kUser, kCgroup, kTime };
inline constexpr std::size_t kNamespaceCount = 8;

struct NamespaceRequest {
  bool create = false;
  std::string persist_path;  // --net=FILE: bind-mount the namespace there while it runs
};

// A block of ids: `count` ids from `outer` (seen outside) appear as `inner` inside.
struct IdRange {
  std::uint32_t inner = 0;
  std::uint32_t outer = 0;
  std::uint32_t count = 0;
  friend bool operator==(const IdRange&, const IdRange&) = default;
};

// How the user namespace's ids are mapped (unshare's --map-* options).
struct IdMapRequest {
  std::optional<std::uint32_t> inner_uid;  // the caller's euid appears as this (--map-user, -r, -c)
  std::optional<std::uint32_t> inner_gid;
  std::optional<std::string> uid_range;    // "outer,inner,count" or "auto" (--map-users)
  std::optional<std::string> gid_range;
};

struct RunOptions {
  std::array<NamespaceRequest, kNamespaceCount> namespaces{};
  bool explicit_namespaces = false;  // a namespace flag was given: no default set
  std::optional<int> kill_child_signal;
  IdMapRequest id_map;
  std::optional<bool> setgroups_allow;
  std::optional<std::string> mount_proc;  // where to mount a fresh /proc
  std::string propagation = "private";    // private | shared | slave | unchanged
  std::string root;
  std::string wd;
  std::optional<uid_t> setuid;
  std::optional<gid_t> setgid;
  bool keep_caps = false;
  std::optional<std::int64_t> monotonic_offset;  // seconds
  std::optional<std::int64_t> boottime_offset;
  std::string hostname;
  std::vector<std::string> networks;  // --network: none | host | slirp4netns[:OPTS] | pasta[:OPTS] | NAME | FILE
  std::vector<std::string> publish;   // --publish [HOSTIP:]HOSTPORT:CTRPORT[/PROTO]
  std::vector<std::string> dns;
  std::vector<std::string> cni_path;
  std::string name;
  bool detach = false;
  bool help = false;
  std::vector<std::string> command;

  [[nodiscard]] NamespaceRequest& ns(Namespace n) {
    return namespaces[static_cast<std::size_t>(n)];
  }
  [[nodiscard]] const NamespaceRequest& ns(Namespace n) const {
    return namespaces[static_cast<std::size_t>(n)];
  }
  [[nodiscard]] bool creates(Namespace n) const { return ns(n).create; }
  // A new network namespace that CNI networks are attached to.
  [[nodiscard]] bool attaches_networks() const {
    return creates(Namespace::kNet) && !networks.empty() && networks.front() != "none" &&
           user_mode_network().empty();
  }
  // "slirp4netns" or "pasta" when the network is user-mode (its options in
  // user_mode_options()), else empty.
  [[nodiscard]] std::string_view user_mode_network() const;
  [[nodiscard]] std::string_view user_mode_options() const;
};

// Parses argv (argv[0] = "run"). Throws std::invalid_argument with a one-line message for a bad
// option or value.
[[nodiscard]] RunOptions parse_run_options(int argc, char** argv);

// The rules that depend on the caller: without a namespace flag, the full set of
// `unshare -mipfnuUr --mount-proc` (user and root mapping only when not root); implied namespaces
// (--mount-proc → mount, --hostname → uts, --map-* → user, a network → net); the default network ("nsnet" as root,
// slirp4netns otherwise); the command ($SHELL or /bin/sh). Throws std::invalid_argument for combinations
// that cannot work (--network host with --net, --publish without a network to publish on, time
// offsets without --time, CNI networks without root, pasta without a user namespace).
void resolve_defaults(RunOptions& options, bool is_root);

// The usage text of `nsnet run --help`.
[[nodiscard]] std::string_view run_usage();

// The kernel's name of a namespace ("net", "mnt", ...), as in /proc/PID/ns/.
[[nodiscard]] std::string_view namespace_file_name(Namespace n);
// The clone flag of a namespace.
[[nodiscard]] int namespace_clone_flag(Namespace n);

}  // namespace nsnet
