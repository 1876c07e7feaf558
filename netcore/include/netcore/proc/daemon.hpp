#pragma once

// Long-running helper processes (slirp4netns, pasta): started through Boost.Process with a few
// descriptors handed down, watched through a pidfd, stopped without ever signalling a pid that
// has been reused by another process.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/base/unique_fd.hpp"

namespace netcore::proc {

struct DaemonRequest {
  std::filesystem::path program;
  std::vector<std::string> args;  // argv[1..]
  // Descriptors the daemon inherits under the same numbers (everything else above 2 is closed
  // on exec); the arguments name them ("--ready-fd=5").
  std::vector<int> inherit_fds;
  std::filesystem::path log;      // stdout and stderr go here; empty: /dev/null
  // SIGKILL when the starting thread ends: the daemon cannot outlive its owner even if the owner
  // is SIGKILLed. Off for a CNI plugin's daemon, which must outlive the plugin.
  bool die_with_owner = true;
  // A session of its own (setsid), else only a process group of its own: either way a
  // terminal's Ctrl-C reaches the owner, which stops the daemon in order.
  bool new_session = false;
};

// A close-on-exec pipe: a daemon's ready or exit channel (pass one end in inherit_fds).
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// Throws SysError.
[[nodiscard]] Pipe make_pipe();

// The executable `name` (a regular file) in the colon-separated `search_path` — by default
// $PATH, or /usr/sbin:/usr/bin:/sbin:/bin when PATH is unset; relative directories are skipped.
// A name with a '/' is taken as it is. nullopt when there is none.
[[nodiscard]] std::optional<std::filesystem::path> find_program(
    const std::string& name, std::optional<std::string_view> search_path = std::nullopt);

// Identifies one process across pid reuse: its pid and its start time (clock ticks since boot,
// field 22 of /proc/PID/stat).
struct ProcessId {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
};

// The start time of `pid`; nullopt when it does not exist.
[[nodiscard]] std::optional<std::uint64_t> process_start_time(pid_t pid);

// Whether the process `id` still runs (same pid, same start time, not a zombie).
[[nodiscard]] bool process_alive(const ProcessId& id);

// Stops the process `id` if it still runs: SIGTERM, then SIGKILL after `grace`; returns once it
// is gone (and reaped, when it is a child of this process). A pid now naming another process is
// left alone. Returns whether a process was stopped.
bool stop_process(const ProcessId& id, std::chrono::milliseconds grace);
// The same for many processes at once: one SIGTERM each, one shared `grace`, then SIGKILL for
// those left. Returns how many were stopped.
std::size_t stop_processes(const std::vector<ProcessId>& ids, std::chrono::milliseconds grace);

class Daemon final {
 public:
  // Starts the daemon. Throws Error(kInternal) when the program cannot be executed.
  [[nodiscard]] static Daemon spawn(const DaemonRequest& request);

  Daemon(Daemon&&) noexcept = default;
  Daemon& operator=(Daemon&&) noexcept = default;
  // Stops a daemon that was neither stopped nor released.
  ~Daemon();

  [[nodiscard]] const ProcessId& id() const noexcept { return id_; }
  [[nodiscard]] pid_t pid() const noexcept { return id_.pid; }

  // Waits until `fd` (a pipe the daemon writes its readiness to) has data, and returns what one
  // read() got. Throws Error(kInternal) naming the daemon when it exits or closes `fd` first, or
  // when `timeout` runs out; the message ends with the last line of its log, if any.
  std::string wait_readable(int fd, std::chrono::milliseconds timeout) const;
  // SIGTERM, SIGKILL after `grace`, reap. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));
  // SIGKILL, without waiting for the exit to complete: when the daemon holds a tap device, the
  // kernel unregisters it in the exit path, which waits an RCU grace period (~17 ms here). The
  // process can never run again; it is reaped by whoever reaps this process's orphans. For an
  // owner that is about to exit itself.
  void kill() noexcept;
  // Forgets the daemon, which keeps running (a CNI plugin hands it over to its state file).
  ProcessId release() noexcept;

 private:
  Daemon(ProcessId id, UniqueFd pidfd, std::string name, std::filesystem::path log)
      : id_(id), pidfd_(std::move(pidfd)), name_(std::move(name)), log_(std::move(log)) {}
  [[nodiscard]] std::string failure(const std::string& what) const;

  ProcessId id_;
  UniqueFd pidfd_;
  std::string name_;
  std::filesystem::path log_;
};

}  // namespace netcore::proc
