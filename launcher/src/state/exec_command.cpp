// nsnet exec: run a command in every namespace of a running container (and under its root).

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "run/container_process.hpp"
#include "run/run_options.hpp"
#include "state/container_state.hpp"

namespace nsnet {

namespace {

constexpr const char* kUsage =
    "Usage: nsnet exec ID [--] [COMMAND [ARGS...]]\n\n"
    "Runs COMMAND (default: $SHELL) in all the namespaces of the running container ID, in its\n"
    "root directory. Exit status: COMMAND's (128+N for signal N), 125 if nsnet failed.\n";

bool same_namespace(pid_t pid, std::string_view name) {
  struct stat ours {};
  struct stat theirs {};
  const std::string own = "/proc/self/ns/" + std::string(name);
  const std::string other = "/proc/" + std::to_string(pid) + "/ns/" + std::string(name);
  return ::stat(own.c_str(), &ours) == 0 && ::stat(other.c_str(), &theirs) == 0 &&
         ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

}  // namespace

int exec_command(int argc, char** argv) {
  int first = 1;
  if (first < argc && (std::strcmp(argv[first], "-h") == 0 || std::strcmp(argv[first], "--help") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (first >= argc) {
    std::fputs(kUsage, stderr);
    return 125;
  }
  const std::string id = argv[first++];
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  std::vector<std::string> command(argv + first, argv + argc);
  if (command.empty()) {
    const char* shell = std::getenv("SHELL");
    command.emplace_back(shell != nullptr && *shell != '\0' ? shell : "/bin/sh");
  }

  const auto state = StateDir::load(id);
  if (!state || !StateDir::is_running(id) || state->pid <= 0) {
    std::fprintf(stderr, "nsnet exec: no running container %s\n", id.c_str());
    return 125;
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, state->pid, 0));
  const int root = ::open(("/proc/" + std::to_string(state->pid) + "/root").c_str(),
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pidfd < 0 || root < 0) {
    std::fprintf(stderr, "nsnet exec: container %s: %s\n", id.c_str(), std::strerror(errno));
    return 125;
  }
  int flags = 0;
  for (std::size_t i = 0; i < kNamespaceCount; ++i) {
    const auto n = static_cast<Namespace>(i);
    if (!same_namespace(state->pid, namespace_file_name(n))) flags |= namespace_clone_flag(n);
  }
  // All at once through the pidfd: the kernel orders them (user first) and it is atomic.
  if (flags != 0 && ::setns(pidfd, flags) != 0) {
    std::fprintf(stderr, "nsnet exec: joining %s's namespaces: %s\n", id.c_str(),
                 std::strerror(errno));
    return 125;
  }
  if (::fchdir(root) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) {
    std::fprintf(stderr, "nsnet exec: entering %s's root: %s\n", id.c_str(), std::strerror(errno));
    return 125;
  }
  ::close(root);
  ::close(pidfd);

  // A fork, so that the command is inside the pid namespace too (setns only moves children).
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("nsnet exec: fork");
    return 125;
  }
  if (child == 0) {
    std::vector<char*> args;
    for (auto& arg : command) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "nsnet exec: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(errno == ENOENT ? 127 : 126);
  }
  // As system(3): the terminal's SIGINT/SIGQUIT are the command's to handle.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_status_of(status);
}

}  // namespace nsnet
