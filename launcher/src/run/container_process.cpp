#include "run/container_process.hpp"

#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <string_view>

#include "run/channel.hpp"
#include "run/child_main.hpp"

namespace nsnet {

namespace {

// Whether `pid` has a handler for `signo` or ignores it (SigCgt, SigIgn of its status file in
// the proc directory `proc_dir`, or in /proc when it is -1).
bool handles_or_ignores(int proc_dir, pid_t pid, int signo) {
  const std::string path = (proc_dir >= 0 ? "" : "/proc/") + std::to_string(pid) + "/status";
  const netcore::UniqueFd fd(::openat(proc_dir >= 0 ? proc_dir : AT_FDCWD, path.c_str(),
                                      O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) text.append(buffer, n);
  std::istringstream status(text);
  std::string line;
  const unsigned long long bit = 1ULL << (signo - 1);
  while (std::getline(status, line)) {
    if (!line.starts_with("SigCgt:") && !line.starts_with("SigIgn:")) continue;
    unsigned long long mask = 0;
    const std::string_view hex = std::string_view(line).substr(line.find_first_not_of(" \t", 7));
    std::from_chars(hex.data(), hex.data() + hex.size(), mask, 16);
    if ((mask & bit) != 0) return true;
  }
  return false;
}

bool terminates_by_default(int signo) {
  switch (signo) {
    case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM: case SIGUSR1: case SIGUSR2: case SIGALRM:
      return true;
    default:
      return false;
  }
}

}  // namespace

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH})
    sigaddset(&set, signo);
  return set;
}

int exit_status_of(int wait_status) noexcept {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 125;
}

void forward_signal(pid_t target, int signo, int si_code, int init_proc_dir) noexcept {
  const bool sent_by_process = si_code == SI_USER || si_code == SI_QUEUE || si_code == SI_TKILL;
  if (sent_by_process) ::kill(target, signo);
  if (init_proc_dir != kNotAnInit && terminates_by_default(signo) &&
      !handles_or_ignores(init_proc_dir, target, signo))
    ::kill(target, SIGKILL);
}

ContainerProcess ContainerProcess::spawn(const ChildSpec& spec) {
  sigset_t blocked = forwarded_signals();
  sigaddset(&blocked, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &blocked, nullptr);

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  const pid_t supervisor = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(pair[0]);
    child_main(spec, pair[1], supervisor);
  }
  ::close(pair[1]);
  ContainerProcess process(pid, netcore::UniqueFd(pair[0]));
  const auto message = channel::receive(process.channel_.get());
  if (message && message->tag == channel::kUnshared) return process;
  process.abandon();
  if (message && message->tag == channel::kError)
    throw std::runtime_error(message->text.substr(message->text.find(':') + 1));
  throw std::runtime_error("the container process ended before creating its namespaces");
}

ContainerProcess::~ContainerProcess() {
  if (pid_ > 0 && !reaped_) abandon();
}

std::filesystem::path ContainerProcess::namespace_path(Namespace n) const {
  std::string name(namespace_file_name(n));
  if (n == Namespace::kPid || n == Namespace::kTime) name += "_for_children";
  return "/proc/" + std::to_string(pid_) + "/ns/" + name;
}

void ContainerProcess::begin_setup() {
  if (setup_begun_) return;
  if (!channel::send(channel_.get(), channel::kGo))
    throw std::runtime_error("the container process ended before it could start");
  setup_begun_ = true;
}

void ContainerProcess::network_ready() {
  // A child that failed meanwhile has sent its error, which start() reports.
  channel::send(channel_.get(), channel::kNetworkReady);
}

pid_t ContainerProcess::start() {
  begin_setup();
  pid_t command_pid = 0;
  std::optional<channel::Message> failure;
  while (auto message = channel::receive(channel_.get())) {
    if (message->tag == channel::kPid) {
      std::from_chars(message->text.data(), message->text.data() + message->text.size(),
                      command_pid);
    } else if (message->tag == channel::kError) {
      failure = std::move(message);
    }
  }
  channel_.reset();
  if (failure) {
    int code = 125;
    std::from_chars(failure->text.data(), failure->text.data() + failure->text.size(), code);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    throw ExecFailure(code, failure->text.substr(failure->text.find(':') + 1));
  }
  if (command_pid == 0) {
    abandon();
    throw std::runtime_error("the container process ended before running the command");
  }
  return command_pid;
}

int ContainerProcess::supervise() {
  sigset_t set = forwarded_signals();
  sigaddset(&set, SIGCHLD);
  netcore::UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC));
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return exit_status_of(status);
    }
    signalfd_siginfo info{};
    if (::read(signals.get(), &info, sizeof info) != sizeof info) {
      if (errno == EINTR) continue;
      ::waitpid(pid_, &status, 0);  // cannot watch signals: just wait
      reaped_ = true;
      return exit_status_of(status);
    }
    if (info.ssi_signo != SIGCHLD)
      forward_signal(pid_, static_cast<int>(info.ssi_signo), info.ssi_code, kNotAnInit);
  }
}

void ContainerProcess::abandon() noexcept {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace nsnet
