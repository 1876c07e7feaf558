#include "lab/lab_keeper.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <netcore/base/error.hpp>
#include <netcore/base/unique_fd.hpp>

#include "run/id_map.hpp"

namespace nsnet::lab {

using netcore::Error;
using netcore::ErrorCode;
using netcore::UniqueFd;

netcore::proc::ProcessId start_keeper() {
  auto pipe = netcore::proc::make_pipe();
  const pid_t pid = ::fork();
  if (pid < 0) netcore::throw_errno("fork the lab's keeper");
  if (pid == 0) {
    // Nothing of ours stays open here: the lab's lock especially would outlive every `down`.
    const int ready = ::fcntl(pipe.write.get(), F_DUPFD_CLOEXEC, 3);
    ::close_range(3, ready - 1, 0);
    ::close_range(ready + 1, ~0u, 0);
    const char failed = ::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 && ::setsid() >= 0 ? 'k' : 'x';
    (void)!::write(ready, &failed, 1);
    ::close(ready);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    for (;;) ::pause();
  }
  pipe.write.reset();
  char answer = 0;
  ssize_t n = 0;
  do {
    n = ::read(pipe.read.get(), &answer, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || answer != 'k') {
    ::kill(pid, SIGKILL);
    throw Error(ErrorCode::kInternal,
                "cannot create the lab's user namespace (are unprivileged user namespaces "
                "enabled?)");
  }
  IdMapPlan plan;
  plan.uids.push_back({0, static_cast<std::uint32_t>(::geteuid()), 1});
  plan.gids.push_back({0, static_cast<std::uint32_t>(::getegid()), 1});
  plan.deny_setgroups = true;
  try {
    write_id_maps(pid, plan);
  } catch (const std::exception& e) {
    ::kill(pid, SIGKILL);
    throw Error(ErrorCode::kInternal, std::string("the lab's user namespace: ") + e.what());
  }
  return {pid, netcore::proc::process_start_time(pid).value_or(0)};
}

void enter_keeper(const netcore::proc::ProcessId& keeper) {
  if (!netcore::proc::process_alive(keeper))
    throw Error(ErrorCode::kInternal,
                "the lab's keeper (pid " + std::to_string(keeper.pid) + ") is gone");
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, keeper.pid, 0)));
  if (!pidfd) netcore::throw_errno("open the lab's keeper");
  // The pid may have been reused between the check and the open.
  if (!netcore::proc::process_alive(keeper))
    throw Error(ErrorCode::kInternal, "the lab's keeper is gone");
  if (::setns(pidfd.get(), CLONE_NEWUSER | CLONE_NEWNS) != 0)
    netcore::throw_errno("join the lab's user and mount namespaces");
}

}  // namespace nsnet::lab
