#include "spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace nsnet::bench {

int spawn_and_wait(const std::string& program, const std::vector<std::string>& env,
                   const std::string& input, long* max_rss_kib, std::string* output) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return -1;
  int out[2] = {-1, -1};
  if (output != nullptr && ::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  if (output != nullptr) {
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
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
  if (output != nullptr) ::close(out[1]);
  if (err != 0) {
    ::close(in[1]);
    if (output != nullptr) ::close(out[0]);
    return -1;
  }
  // The whole config goes in before stdout is read: a plugin reads all of stdin before it
  // writes, and a config is far below the pipe's capacity.
  (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  if (output != nullptr) {
    output->clear();
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n > 0) {
        output->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(out[0]);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (max_rss_kib != nullptr) *max_rss_kib = usage.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace nsnet::bench
