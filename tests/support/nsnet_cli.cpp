#include "support/nsnet_cli.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

namespace nsnet::testing {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  ssize_t n;
  while ((n = ::pread(fd, buffer, sizeof buffer, offset)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

// Between fork and exec only async-signal-safe calls: each failed step exits with its own code
// and a fixed message on stderr (already the memfd).
[[noreturn]] void child_fail(const char* step, int code) {
  const int err = errno;
  (void)!::write(STDERR_FILENO, step, std::strlen(step));
  const char* text = ::strerrordesc_np(err);
  (void)!::write(STDERR_FILENO, ": ", 2);
  if (text != nullptr) (void)!::write(STDERR_FILENO, text, std::strlen(text));
  (void)!::write(STDERR_FILENO, "\n", 1);
  ::_exit(code);
}

}  // namespace

fs::path nsnet_binary() { return NSNET_BIN; }

NsnetProcess NsnetProcess::start(const netcore::net::Netns& netns, const Invocation& invocation) {
  netcore::UniqueFd out(::memfd_create("nsnet-stdout", MFD_CLOEXEC));
  netcore::UniqueFd err(::memfd_create("nsnet-stderr", MFD_CLOEXEC));
  netcore::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!out || !err || !null) {
    ADD_FAILURE() << "memfd_create or /dev/null: " << std::strerror(errno);
    return NsnetProcess(-1, {}, {});
  }
  // Everything the child needs is prepared before fork(): it may not allocate.
  const std::string program = nsnet_binary().string();
  std::vector<std::string> arg_text{program};
  arg_text.insert(arg_text.end(), invocation.args.begin(), invocation.args.end());
  std::vector<char*> argv;
  for (auto& arg : arg_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (const auto& [key, value] : invocation.env) env_text.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_text) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::pair<std::string, std::string>> binds;
  for (const auto& [source, target] : invocation.bind_mounts)
    binds.emplace_back(source.string(), target.string());

  const bool own_group = invocation.own_process_group;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return NsnetProcess(-1, {}, {});
  }
  if (pid == 0) {
    if (own_group && ::setpgid(0, 0) != 0) child_fail("setpgid", 124);
    ::dup2(null.get(), STDIN_FILENO);
    ::dup2(out.get(), STDOUT_FILENO);
    ::dup2(err.get(), STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::setns(netns.fd(), CLONE_NEWNET) != 0) child_fail("setns", 120);
    if (!binds.empty()) {
      if (::unshare(CLONE_NEWNS) != 0) child_fail("unshare mount", 121);
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        child_fail("mount / private", 121);
      for (const auto& [source, target] : binds)
        if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
          child_fail("bind mount", 121);
    }
    if (invocation.credentials) {
      const auto [uid, gid] = *invocation.credentials;
      if (::setgroups(0, nullptr) != 0) child_fail("setgroups", 122);
      if (::setresgid(gid, gid, gid) != 0) child_fail("setresgid", 122);
      if (::setresuid(uid, uid, uid) != 0) child_fail("setresuid", 122);
    }
    // Nothing of the test's (netns fds, sockets) may reach nsnet or its container.
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(argv[0], argv.data(), envp.data());
    child_fail("execve nsnet", 123);
  }
  // Also in the parent, so that the group exists before start() returns (no race with a
  // signal_group() right after it); EACCES once the child has exec'd means it already did.
  if (own_group) (void)::setpgid(pid, pid);
  return NsnetProcess(pid, std::move(out), std::move(err));
}

NsnetProcess::NsnetProcess(NsnetProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      wait_status_(other.wait_status_),
      reaped_(other.reaped_),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

NsnetProcess::~NsnetProcess() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void NsnetProcess::signal(int signo) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signo);
}

void NsnetProcess::signal_group(int signo) const {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, signo);
}

std::string NsnetProcess::out() const { return out_ ? read_all(out_.get()) : std::string(); }
std::string NsnetProcess::err() const { return err_ ? read_all(err_.get()) : std::string(); }

bool NsnetProcess::reap(bool block) {
  if (reaped_) return true;
  if (pid_ <= 0) return false;
  for (;;) {
    const pid_t got = ::waitpid(pid_, &wait_status_, block ? 0 : WNOHANG);
    if (got == pid_) {
      reaped_ = true;
      return true;
    }
    if (got < 0 && errno == EINTR) continue;
    return false;
  }
}

bool NsnetProcess::finished() { return reap(false); }

bool NsnetProcess::wait_for_output(const std::string& text, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    if (out().find(text) != std::string::npos) return true;
    if (finished() || steady_clock::now() >= deadline) return out().find(text) != std::string::npos;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

CliResult NsnetProcess::wait(milliseconds timeout) {
  CliResult result;
  if (pid_ <= 0) return result;
  const auto deadline = steady_clock::now() + timeout;
  while (!finished()) {
    if (steady_clock::now() >= deadline) {
      ADD_FAILURE() << "nsnet (pid " << pid_ << ") still running after " << timeout.count()
                    << " ms; killed. stderr so far:\n"
                    << err();
      ::kill(pid_, SIGKILL);
      reap(true);
      result.out = out();
      result.err = err();
      return result;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  if (WIFEXITED(wait_status_)) result.status = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) result.status = 128 + WTERMSIG(wait_status_);
  result.out = out();
  result.err = err();
  return result;
}

CliResult run_nsnet(const netcore::net::Netns& netns, const Invocation& invocation,
                    milliseconds timeout) {
  return NsnetProcess::start(netns, invocation).wait(timeout);
}

}  // namespace nsnet::testing
