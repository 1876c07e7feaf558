#include "lab/lab_processes.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include <netcore/base/error.hpp>
#include <netcore/base/unique_fd.hpp>

namespace nsnet::lab {

namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using netcore::UniqueFd;

namespace {

UniqueFd open_ns(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) netcore::throw_errno("open " + file.string());
  return fd;
}

using Inode = std::pair<dev_t, ino_t>;

std::set<Inode> lab_namespaces(const LabDir& dir) {
  std::set<Inode> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir.ns_dir(), ec)) {
    struct stat st {};
    // A bind-mounted namespace shows the nsfs inode; a placeholder left by a crash does not
    // match any process.
    if (::stat(entry.path().c_str(), &st) == 0) found.emplace(st.st_dev, st.st_ino);
  }
  return found;
}

bool in_lab_namespace(pid_t pid, const std::set<Inode>& namespaces) {
  for (const char* kind : {"net", "uts"}) {
    struct stat st {};
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + kind;
    if (::stat(path.c_str(), &st) == 0 && namespaces.contains({st.st_dev, st.st_ino})) return true;
  }
  return false;
}

std::vector<pid_t> processes_in(const std::set<Inode>& namespaces) {
  std::vector<pid_t> pids;
  if (namespaces.empty()) return pids;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid != self && in_lab_namespace(pid, namespaces)) pids.push_back(pid);
  }
  return pids;
}

}  // namespace

LabProcess start_node_process(const LabDir& dir, const std::string& node,
                              const std::vector<std::string>& argv, const fs::path& log) {
  const UniqueFd net = open_ns(dir.ns_dir() / node_ns_name(node));
  const UniqueFd uts = open_ns(dir.ns_dir() / node_uts_name(node));
  fs::create_directories(log.parent_path());
  const UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!out) netcore::throw_errno("open " + log.string());
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) netcore::throw_errno("pipe");
  UniqueFd status_read(status_pipe[0]);
  UniqueFd status_write(status_pipe[1]);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) netcore::throw_errno("fork");
  if (pid == 0) {
    // The child: system calls only, then exec. A failure travels back as an errno on the pipe,
    // which exec closes on success.
    int err = 0;
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (::setns(net.get(), CLONE_NEWNET) != 0 || ::setns(uts.get(), CLONE_NEWUTS) != 0 ||
        ::setsid() < 0 || null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out.get(), 1) < 0 ||
        ::dup2(out.get(), 2) < 0 || ::chdir("/") != 0) {
      err = errno;
    } else {
      ::signal(SIGPIPE, SIG_DFL);
      ::execvp(args[0], args.data());
      err = errno;
    }
    (void)!::write(status_write.get(), &err, sizeof err);
    ::_exit(127);
  }
  status_write.reset();
  int err = 0;
  ssize_t n = 0;
  do {
    n = ::read(status_read.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw Error(ErrorCode::kInternal,
                "node " + node + ": cannot run " + argv.front() + ": " + std::strerror(err));
  }
  const auto start_time = netcore::proc::process_start_time(pid);
  return {node, argv, {pid, start_time.value_or(0)}};
}

std::size_t end_lab_processes(const LabDir& dir, const std::vector<LabProcess>& recorded,
                              std::chrono::milliseconds grace) {
  std::vector<netcore::proc::ProcessId> targets;
  std::set<pid_t> seen;
  for (const auto& p : recorded) {
    if (netcore::proc::process_alive(p.id) && seen.insert(p.id.pid).second)
      targets.push_back(p.id);
  }
  const auto namespaces = lab_namespaces(dir);
  for (const pid_t pid : processes_in(namespaces)) {
    // A zombie has no start time: it holds no namespace any more.
    const auto start = netcore::proc::process_start_time(pid);
    if (start && seen.insert(pid).second) targets.push_back({pid, *start});
  }
  const std::size_t stopped = netcore::proc::stop_processes(targets, grace);
  // Processes that entered a namespace while we looked (a plugin forked by a dying `up`).
  for (const pid_t pid : processes_in(namespaces)) ::kill(pid, SIGKILL);
  return stopped;
}

}  // namespace nsnet::lab
