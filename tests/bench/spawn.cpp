#include "spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nsnet::bench {

int spawn_and_wait(const std::string& program, const std::vector<std::string>& env,
                   const std::string& input, long* max_rss_kib) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> owned = env;
  std::vector<char*> envp;
  for (auto& s : owned) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string argv0 = program;
  char* argv[] = {argv0.data(), nullptr};
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  if (err != 0) {
    ::close(in[1]);
    return -1;
  }
  (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (max_rss_kib != nullptr) *max_rss_kib = usage.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace nsnet::bench
