#pragma once

#include <sys/types.h>

#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "netcore/base/unique_fd.hpp"

namespace netcore::net {

// Owns an fd on a network namespace. Immutable after construction; thread-safe.
// The namespace lives while this fd, a bind mount of it, or anything inside it does.
class Netns final {
 public:
  // Opens a namespace file ("/run/netns/x", "/proc/PID/ns/net"). Throws Error(kInvalidNetns)
  // if the path cannot be opened or is not a network namespace.
  [[nodiscard]] static Netns open(const std::filesystem::path& path);
  [[nodiscard]] static Netns open_pid(pid_t pid);
  // Like open(), but nullopt for an empty path or one that no longer exists: what DEL needs,
  // since the runtime may have removed the namespace already.
  [[nodiscard]] static std::optional<Netns> open_if_exists(const std::filesystem::path& path);
  // The calling thread's namespace (not the process's: /proc/thread-self).
  [[nodiscard]] static Netns current();
  // A new anonymous namespace, with only a down `lo` in it.
  [[nodiscard]] static Netns create();

  // Bind-mounts this namespace at /run/netns/NAME (or `dir`/NAME) so it outlives every process,
  // like `ip netns add`. Throws SysError; leaves nothing behind on failure.
  void persist(const std::string& name,
               const std::filesystem::path& dir = kDefaultPersistDir) const;
  // Undoes persist(): unmounts and removes /run/netns/NAME. A missing entry is not an error.
  static void delete_persisted_if_exists(
      const std::string& name, const std::filesystem::path& dir = kDefaultPersistDir);

  // Runs fn on a fresh thread that entered this namespace, and returns fn's value or rethrows its
  // exception. The thread ends inside the namespace: nothing ever switches back. The only place
  // in nsnet that calls setns(CLONE_NEWNET). fn must not start threads that outlive it.
  template <class Fn>
  std::invoke_result_t<Fn&> run(Fn&& fn) const {
    using Result = std::invoke_result_t<Fn&>;
    std::packaged_task<Result()> task([this, &fn]() -> Result {
      enter_on_this_thread();
      return fn();
    });
    auto result = task.get_future();
    std::thread(std::move(task)).join();
    return result.get();
  }

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Kernel identity of the namespace (st_dev, st_ino of the nsfs inode).
  [[nodiscard]] bool same_as(const Netns& other) const noexcept;

  static inline const std::filesystem::path kDefaultPersistDir = "/run/netns";

 private:
  Netns(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  void enter_on_this_thread() const;

  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace netcore::net
