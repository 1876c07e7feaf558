#include "netcore/proc/daemon.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "netcore/base/log.hpp"

namespace netcore::proc {
namespace bp = boost::process;
using std::chrono::milliseconds;

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int signo) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0));
}

// Waits until every process behind `pidfds` has exited or `timeout` has passed; returns the
// pidfds of those still running.
std::vector<int> wait_exits(std::vector<int> pidfds, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pidfds.empty()) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::vector<pollfd> polls;
    for (const int fd : pidfds) polls.push_back({.fd = fd, .events = POLLIN, .revents = 0});
    const int n = ::poll(polls.data(), polls.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    pidfds.clear();
    for (const auto& p : polls)
      if (p.revents == 0) pidfds.push_back(p.fd);
  }
  return pidfds;
}

// Waits until the process behind `pidfd` has exited; false on timeout.
bool wait_exit(int pidfd, milliseconds timeout) { return wait_exits({pidfd}, timeout).empty(); }

struct Target {
  int pidfd;
  pid_t pid;
};

// SIGTERM to all at once, then SIGKILL to those left after `grace`, through their pidfds; reaps
// those that are our children.
void terminate(const std::vector<Target>& targets, milliseconds grace) {
  std::vector<int> signalled;
  for (const auto& t : targets)
    if (pidfd_send_signal(t.pidfd, SIGTERM) == 0) signalled.push_back(t.pidfd);
  const auto stubborn = wait_exits(std::move(signalled), grace);
  for (const int fd : stubborn) pidfd_send_signal(fd, SIGKILL);
  (void)wait_exits(stubborn, milliseconds(5000));
  for (const auto& t : targets) {
    int status;
    while (::waitpid(t.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

// In the forked child, before exec: a clean signal state, the requested descriptors kept open
// and every other one closed on exec, and a tie to the owner's life.
struct daemon_setup : bp::extend::handler {
  const DaemonRequest* request;
  pid_t owner;

  template <class Executor>
  void on_exec_setup(Executor&) const {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (request->new_session) ::setsid();
    else ::setpgid(0, 0);
    if (request->die_with_owner) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (::getppid() != owner) ::_exit(127);  // the owner died before the tie was made
    }
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int fd : request->inherit_fds) ::fcntl(fd, F_SETFD, 0);
  }
};

}  // namespace

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::optional<std::filesystem::path> find_program(const std::string& name,
                                                  std::optional<std::string_view> search_path) {
  auto executable = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos)
    return executable(name) ? std::optional<std::filesystem::path>(name) : std::nullopt;
  if (!search_path) {
    const char* env = std::getenv("PATH");
    search_path = env != nullptr ? env : "/usr/sbin:/usr/bin:/sbin:/bin";
  }
  std::string_view path = *search_path;
  while (!path.empty()) {
    const auto colon = path.find(':');
    const std::filesystem::path dir(path.substr(0, colon));
    path = colon == std::string_view::npos ? std::string_view() : path.substr(colon + 1);
    if (!dir.is_absolute()) continue;
    if (executable(dir / name)) return dir / name;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  const auto stat = find_file_content("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  char state = 0;
  fields >> state;  // field 3
  if (state == 'Z' || state == 'X') return std::nullopt;
  for (int i = 4; i < 22 && fields >> field; ++i) {
  }
  std::uint64_t start = 0;
  if (!(fields >> start)) return std::nullopt;
  return start;
}

bool process_alive(const ProcessId& id) {
  return id.pid > 0 && process_start_time(id.pid) == id.start_time;
}

std::size_t stop_processes(const std::vector<ProcessId>& ids, milliseconds grace) {
  std::vector<UniqueFd> pinned;
  std::vector<Target> targets;
  for (const auto& id : ids) {
    if (id.pid <= 0) continue;
    UniqueFd pidfd(pidfd_open(id.pid));
    // Checked after the pidfd pins the process: a match now cannot turn into another process.
    if (!pidfd || process_start_time(id.pid) != id.start_time) continue;
    targets.push_back({.pidfd = pidfd.get(), .pid = id.pid});
    pinned.push_back(std::move(pidfd));
  }
  terminate(targets, grace);
  return targets.size();
}

bool stop_process(const ProcessId& id, milliseconds grace) {
  return stop_processes({id}, grace) == 1;
}

Daemon Daemon::spawn(const DaemonRequest& request) {
  const std::string name = request.program.filename().string();
  bp::child child;
  try {
    const std::string log = request.log.empty() ? "/dev/null" : request.log.string();
    child = bp::child(bp::exe = request.program.string(), bp::args = request.args,
                      bp::std_in < bp::null, (bp::std_out & bp::std_err) > log,
                      daemon_setup{.request = &request, .owner = ::getpid()});
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInternal, "start " + request.program.string() + ": " + e.what());
  }
  const pid_t pid = child.id();
  child.detach();  // we reap it ourselves, through the pidfd
  UniqueFd pidfd(pidfd_open(pid));
  const auto start = process_start_time(pid);
  if (!pidfd || !start) {
    if (pidfd) terminate({{.pidfd = pidfd.get(), .pid = pid}}, milliseconds(0));
    else ::waitpid(pid, nullptr, 0);
    throw Error(ErrorCode::kInternal, "start " + request.program.string() + ": it exited at once");
  }
  log::debug("started {} (pid {})", name, pid);
  return Daemon(ProcessId{pid, *start}, std::move(pidfd), name, request.log);
}

Daemon::~Daemon() {
  if (pidfd_) stop(milliseconds(1000));
}

std::string Daemon::failure(const std::string& what) const {
  std::string message = name_ + " " + what;
  if (!log_.empty()) {
    // The line that says what went wrong, else the last one.
    std::istringstream lines(find_file_content(log_).value_or(""));
    std::string line, last, reason;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      last = line;
      std::string lower = line;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (reason.empty() && (lower.find("fail") != std::string::npos ||
                             lower.find("error") != std::string::npos ||
                             lower.find("cannot") != std::string::npos))
        reason = line;
    }
    if (!(reason.empty() ? last : reason).empty()) message += ": " + (reason.empty() ? last : reason);
  }
  return message;
}

std::string Daemon::wait_readable(int fd, milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd p[2] = {{.fd = fd, .events = POLLIN, .revents = 0},
                 {.fd = pidfd_.get(), .events = POLLIN, .revents = 0}};
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Error(ErrorCode::kInternal, failure("was not ready within " + std::to_string(timeout.count()) + " ms"));
    const int n = ::poll(p, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("poll");
    if (p[0].revents != 0) {
      char buffer[256];
      ssize_t got;
      do got = ::read(fd, buffer, sizeof buffer);
      while (got < 0 && errno == EINTR);
      if (got > 0) return std::string(buffer, static_cast<std::size_t>(got));
      // EOF: it closed the pipe without a word; let the exit (if any) explain.
      wait_exit(pidfd_.get(), milliseconds(100));
      throw Error(ErrorCode::kInternal, failure("failed before it was ready"));
    }
    if (p[1].revents != 0) throw Error(ErrorCode::kInternal, failure("exited before it was ready"));
  }
}

void Daemon::stop(milliseconds grace) {
  if (!pidfd_) return;
  terminate({{.pidfd = pidfd_.get(), .pid = id_.pid}}, grace);
  pidfd_.reset();
}

void Daemon::kill() noexcept {
  if (!pidfd_) return;
  pidfd_send_signal(pidfd_.get(), SIGKILL);
  pidfd_.reset();
}

ProcessId Daemon::release() noexcept {
  pidfd_.reset();
  return id_;
}

}  // namespace netcore::proc
