#pragma once

// `nsnet run --network slirp4netns|pasta`: a user-mode network helper carries the container's
// traffic, so no privilege is needed. The helper starts as soon as the container's namespaces
// exist and runs while the child sets up its mounts; the child waits for the go-ahead, then
// (slirp4netns) configures the tap itself through netlink before COMMAND runs.
//
// The helper is tied to nsnet three ways: slirp4netns's --exit-fd (its other end is only ever
// open in nsnet), PDEATHSIG, and pidfd-based stop on teardown; gc stops what a killed nsnet left.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <netcore/base/unique_fd.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/proc/daemon.hpp>
#include <netcore/usernet/pasta.hpp>
#include <netcore/usernet/slirp4netns.hpp>
#include <netcore/usernet/slirp_api.hpp>
#include <netcore/usernet/tap_setup.hpp>

#include "state/container_state.hpp"

namespace nsnet {

class UserModeNetwork final {
 public:
  // `mode` "slirp4netns" or "pasta" with its options, `ports` the --publish entries
  // (portMappings JSON). Throws std::invalid_argument for bad options or ports the helper cannot
  // forward, std::runtime_error when the helper is not installed.
  [[nodiscard]] static UserModeNetwork plan(std::string_view mode, std::string_view options,
                                            const std::vector<nlohmann::json>& ports);

  // What the container sees, as a CNI result would say it (addresses, gateway, DNS): for its
  // /etc/hosts and /etc/resolv.conf.
  [[nodiscard]] netcore::cni::Result result() const;
  // The tap configuration the child applies; nullopt when the helper configures (pasta).
  [[nodiscard]] std::optional<netcore::usernet::TapSetup> tap_setup() const;

  // Starts the helper for the namespaces of `pid` (its user namespace too when `join_userns`;
  // `userns_maps_root`: the caller is uid and gid 0 in it); returns at once. Its log and API socket go
  // into `state_dir`. Throws std::runtime_error.
  void start(pid_t pid, bool join_userns, bool userns_maps_root,
             const std::filesystem::path& state_dir);
  // The helper as the state file records it.
  [[nodiscard]] HelperState helper_state() const;
  // Waits until the helper is ready, then publishes the ports. Throws std::runtime_error with
  // the helper's reason.
  void wait_ready();
  // Ends the helper (idempotent): SIGKILL, not waiting for the kernel to finish its exit (see
  // Daemon::kill), because nsnet exits right after.
  void stop() noexcept;

 private:
  std::string mode_;
  std::filesystem::path program_;
  netcore::usernet::SlirpOptions slirp_;
  bool sandbox_requested_ = false;  // enable_sandbox given explicitly
  netcore::usernet::PastaOptions pasta_;
  std::vector<netcore::usernet::HostForward> forwards_;
  std::vector<int> forward_ids_;  // as slirp4netns numbered them
  std::filesystem::path api_socket_;
  std::optional<netcore::proc::Daemon> daemon_;
  netcore::UniqueFd ready_;      // read end: the helper reports readiness here
  netcore::UniqueFd exit_hold_;  // write end: slirp4netns exits when it is closed
};

}  // namespace nsnet
