#pragma once

// The namespaced child of `nsnet run`, and the handshake with it.
//
//   nsnet (supervisor, stays in the caller's namespaces: it attaches and detaches networks)
//     └─ child: unshare()s every requested namespace, waits for the go-ahead, sets up mounts,
//        hostname, lo, time offsets; execs COMMAND — or, when a pid or time namespace only takes
//        effect for children, forks COMMAND (pid 1 there) and relays signals to it as unshare
//        --fork does.
//
// The supervisor writes the id maps, persists namespace files and runs CNI ADD between spawn()
// and start(); the child cannot run COMMAND before that. Signals the supervisor is sent are
// forwarded; a terminating signal that a pid-namespace init would silently drop (it has no
// handler) kills COMMAND instead, so Ctrl-C and `nsnet stop` work on any program.

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <netcore/base/unique_fd.hpp>
#include <netcore/usernet/tap_setup.hpp>

#include "run/run_options.hpp"

namespace nsnet {

// What the child needs, fixed before it is forked.
struct ChildSpec {
  const RunOptions* options = nullptr;
  // Bound over /etc/resolv.conf and /etc/hosts (below --root) when they exist at start().
  std::filesystem::path resolv_conf;
  std::filesystem::path hosts;
  // A user-mode network: the child sets up its namespaces, then waits for network_ready()
  // before COMMAND runs, and first configures `tap` (slirp4netns) if set.
  bool waits_for_network = false;
  std::optional<netcore::usernet::TapSetup> tap;
};

// COMMAND could not be executed: `exit_code` is 127 (not found) or 126, as a shell reports it.
class ExecFailure : public std::runtime_error {
 public:
  ExecFailure(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// The signals forwarded to the container (blocked in nsnet from spawn() on, so none is lost).
[[nodiscard]] sigset_t forwarded_signals();

class ContainerProcess final {
 public:
  // Forks the child and returns once it has unshared its namespaces. Blocks the forwarded signals
  // and SIGCHLD in the caller. Throws std::runtime_error with the child's reason.
  [[nodiscard]] static ContainerProcess spawn(const ChildSpec& spec);

  ContainerProcess(ContainerProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        channel_(std::move(other.channel_)),
        reaped_(other.reaped_),
        setup_begun_(other.setup_begun_) {}
  ContainerProcess& operator=(ContainerProcess&&) = delete;
  ~ContainerProcess();

  // The process that holds the namespaces.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // /proc/PID/ns/NAME of a namespace (pid and time: the *_for_children ones it created).
  [[nodiscard]] std::filesystem::path namespace_path(Namespace n) const;

  // Lets the child set up its namespaces (mounts, hostname, lo) while nsnet goes on.
  void begin_setup();
  // Tells a child that waits for its network that the network is ready.
  void network_ready();
  // Lets the child finish and exec COMMAND (begin_setup() if not done yet); returns COMMAND's
  // pid once the exec succeeded. Throws ExecFailure (the child has been reaped) or
  // std::runtime_error.
  pid_t start();
  // Waits for the child, forwarding signals; returns the exit status nsnet reports (the
  // command's, or 128+N when a signal N ended it).
  [[nodiscard]] int supervise();
  // Kills and reaps a child that will not be started (setup failed). Idempotent.
  void abandon() noexcept;

 private:
  ContainerProcess(pid_t pid, netcore::UniqueFd channel) : pid_(pid), channel_(std::move(channel)) {}
  pid_t pid_ = -1;
  netcore::UniqueFd channel_;
  bool reaped_ = false;
  bool setup_begun_ = false;
};

// The status a shell reports for a wait() status: the exit code, or 128+N for signal N.
[[nodiscard]] int exit_status_of(int wait_status) noexcept;

// forward_signal's `init_proc_dir` for a target that is not a pid-namespace init.
inline constexpr int kNotAnInit = -2;

// Sends a forwarded signal on to `target`. Only signals sent by a process are passed on (a
// terminal's signals reach the whole foreground group already); when `target` is a pid-namespace
// init that neither handles nor ignores a terminating signal, the kernel would drop it, so the
// target is killed instead. For an init, `init_proc_dir` is a directory fd on a proc that shows
// `target` under that pid (opened before the container mounted its own proc over /proc, where
// the init is pid 1), or -1 for /proc.
void forward_signal(pid_t target, int signo, int si_code, int init_proc_dir) noexcept;

}  // namespace nsnet
