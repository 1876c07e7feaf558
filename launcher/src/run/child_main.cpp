#include "run/child_main.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <netcore/net/netlink.hpp>
#include <netcore/usernet/tap_setup.hpp>

#include "run/channel.hpp"

namespace nsnet {

namespace {

// A failed step: reported to nsnet as "CODE:message", then the child exits with CODE.
struct ChildError {
  int code;
  std::string message;
};

[[noreturn]] void fail(const std::string& what, int err = errno, int code = 125) {
  throw ChildError{code, what + ": " + std::strerror(err)};
}

void write_proc_self(const char* file, const std::string& text) {
  const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(std::string("open ") + file);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) fail(std::string("write ") + file, err);
}

int unshare_flags(const RunOptions& options) {
  int flags = 0;
  for (std::size_t i = 0; i < kNamespaceCount; ++i)
    if (options.namespaces[i].create) flags |= namespace_clone_flag(static_cast<Namespace>(i));
  return flags;
}

void bring_loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &request) == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
      const int err = errno;
      ::close(fd);
      fail("bringing lo up", err);
    }
  }
  ::close(fd);
}

void bind_file(const std::filesystem::path& source, const std::string& target) {
  if (source.empty() || ::access(source.c_str(), R_OK) != 0) return;
  if (::access(target.c_str(), F_OK) != 0) return;  // a root without the file: nothing to cover
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    fail("bind-mounting " + source.string() + " on " + target);
}

// Mount namespace, hostname, lo, time offsets: what the child sets up before COMMAND exists.
void set_up_namespaces(const ChildSpec& spec) {
  const RunOptions& options = *spec.options;
  if (options.creates(Namespace::kMount)) {
    if (options.propagation != "unchanged") {
      const unsigned long flag = options.propagation == "shared" ? MS_SHARED
                                 : options.propagation == "slave" ? MS_SLAVE
                                                                  : MS_PRIVATE;
      if (::mount("none", "/", nullptr, MS_REC | flag, nullptr) != 0)
        fail("making / " + options.propagation);
    }
    bind_file(spec.resolv_conf, options.root + "/etc/resolv.conf");
    bind_file(spec.hosts, options.root + "/etc/hosts");
  }
  if (!options.hostname.empty() &&
      ::sethostname(options.hostname.data(), options.hostname.size()) != 0)
    fail("sethostname " + options.hostname);
  if (options.creates(Namespace::kNet)) bring_loopback_up();
  if (options.monotonic_offset || options.boottime_offset) {
    std::string offsets;
    if (options.monotonic_offset) offsets += "monotonic " + std::to_string(*options.monotonic_offset) + " 0\n";
    if (options.boottime_offset) offsets += "boottime " + std::to_string(*options.boottime_offset) + " 0\n";
    write_proc_self("/proc/self/timens_offsets", offsets);
  }
}

void keep_capabilities() {
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) fail("capget");
  for (auto& d : data) d.inheritable = d.permitted;
  if (::syscall(SYS_capset, &header, data) != 0) fail("capset");
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    const auto& d = data[cap / 32];
    if ((d.permitted & (1U << (cap % 32))) != 0)
      ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);  // unknown caps just fail
  }
}

// In the process that becomes COMMAND: root, cwd, /proc, credentials, then exec.
[[noreturn]] void exec_command(const RunOptions& options) {
  if (!options.root.empty()) {
    if (::chroot(options.root.c_str()) != 0) fail("chroot " + options.root);
    if (::chdir("/") != 0) fail("chdir /");
  }
  if (!options.wd.empty() && ::chdir(options.wd.c_str()) != 0) fail("chdir " + options.wd);
  if (options.mount_proc) {
    const char* dir = options.mount_proc->c_str();
    ::mount("none", dir, nullptr, MS_PRIVATE | MS_REC, nullptr);  // fails harmlessly off a mount
    if (::mount("proc", dir, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr) != 0)
      fail(std::string("mounting proc on ") + dir);
  }
  if (options.keep_caps) ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (options.setgid) {
    if (::setgroups(0, nullptr) != 0 && errno != EPERM) fail("setgroups");
    if (::setgid(*options.setgid) != 0) fail("setgid " + std::to_string(*options.setgid));
  }
  if (options.setuid && ::setuid(*options.setuid) != 0)
    fail("setuid " + std::to_string(*options.setuid));
  if (options.keep_caps) keep_capabilities();
  // After the credential changes, which clear it.
  ::prctl(PR_SET_PDEATHSIG, options.kill_child_signal.value_or(SIGKILL), 0, 0, 0);

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv;
  for (const auto& arg : options.command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  const int err = errno;
  throw ChildError{err == ENOENT ? 127 : 126,
                   "cannot run " + options.command.front() + ": " + std::strerror(err)};
}

// The child's parent-side half when COMMAND is pid 1 of a new pid namespace: wait for it and
// pass signals on, then exit with its status.
// `proc_dir` (for forward_signal) is a proc showing the command under `command`, or kNotAnInit
// when the command is no pid-namespace init (a time namespace alone also makes it a grandchild).
[[noreturn]] void relay(pid_t command, int proc_dir) {
  sigset_t set = forwarded_signals();
  sigaddset(&set, SIGCHLD);
  const int fd = ::signalfd(-1, &set, SFD_CLOEXEC);
  int last_signal = 0;
  // A command killed because it could not receive signal N (see forward_signal) ends "by N".
  auto status_of = [&](int status) {
    const bool escalated = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && last_signal != 0;
    return escalated ? 128 + last_signal : exit_status_of(status);
  };
  for (;;) {
    int status = 0;
    if (::waitpid(command, &status, WNOHANG) == command) ::_exit(status_of(status));
    signalfd_siginfo info{};
    if (fd < 0 || ::read(fd, &info, sizeof info) != sizeof info) {
      if (errno == EINTR) continue;
      ::waitpid(command, &status, 0);
      ::_exit(status_of(status));
    }
    if (info.ssi_signo == SIGCHLD) continue;
    forward_signal(command, static_cast<int>(info.ssi_signo), info.ssi_code, proc_dir);
    if (info.ssi_signo != SIGWINCH) last_signal = static_cast<int>(info.ssi_signo);
  }
}

[[noreturn]] void run_child(const ChildSpec& spec, int channel, pid_t supervisor) {
  const RunOptions& options = *spec.options;
  // Nothing of nsnet's (the state lock, netlink sockets) may stay open in the container.
  if (channel > 3) ::close_range(3, static_cast<unsigned>(channel - 1), 0);
  ::close_range(static_cast<unsigned>(channel + 1), ~0U, 0);

  if (::unshare(unshare_flags(options)) != 0) {
    const int err = errno;
    fail(err == EPERM && !options.creates(Namespace::kUser)
             ? "creating namespaces (try --user, or run as root)"
             : "creating namespaces",
         err);
  }
  // Set after unshare(CLONE_NEWUSER), which changes credentials and so clears it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != supervisor) ::_exit(125);
  channel::send(channel, channel::kUnshared);

  const auto go = channel::receive(channel);
  if (!go || go->tag != channel::kGo) ::_exit(125);
  set_up_namespaces(spec);
  if (spec.waits_for_network) {
    const auto ready = channel::receive(channel);
    if (!ready || ready->tag != channel::kNetworkReady) ::_exit(125);
    if (spec.tap) {
      try {
        netcore::usernet::configure_tap(netcore::net::Netlink::connect(), *spec.tap);
      } catch (const std::exception& error) {
        throw ChildError{125, std::string("configuring ") + spec.tap->name + ": " + error.what()};
      }
    }
  }

  const bool command_is_a_grandchild =
      options.creates(Namespace::kPid) || options.creates(Namespace::kTime);
  if (!command_is_a_grandchild) {
    channel::send(channel, channel::kPid, std::to_string(::getpid()));
    exec_command(options);
  }
  // Opened before COMMAND mounts its own proc over /proc (in the mount namespace this process
  // shares): there COMMAND is pid 1, and `command` may name another process or none.
  int proc_dir = kNotAnInit;
  if (options.creates(Namespace::kPid))
    proc_dir = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);  // -1: fall back to /proc
  const pid_t command = ::fork();
  if (command < 0) fail("fork");
  if (command == 0) exec_command(options);
  channel::send(channel, channel::kPid, std::to_string(command));
  ::close(channel);
  relay(command, proc_dir);
}

}  // namespace

void child_main(const ChildSpec& spec, int channel, pid_t supervisor) noexcept {
  try {
    run_child(spec, channel, supervisor);
  } catch (const ChildError& error) {
    channel::send(channel, channel::kError, std::to_string(error.code) + ":" + error.message);
    ::_exit(error.code);
  } catch (const std::exception& error) {
    channel::send(channel, channel::kError, std::string("125:") + error.what());
    ::_exit(125);
  }
  ::_exit(125);
}

}  // namespace nsnet
