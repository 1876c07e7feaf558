#pragma once

#include <future>
#include <thread>
#include <type_traits>
#include <utility>

namespace netcore {

// Runs `fn` on a new thread, waits for it and passes back its result or exception. For what
// changes only the calling thread and must not outlive the call, e.g. unshare(CLONE_NEWNET or
// CLONE_NEWUTS): the thread ends inside the new namespace and the caller's stay as they were.
template <class Fn>
std::invoke_result_t<Fn> on_throwaway_thread(Fn&& fn) {
  std::packaged_task<std::invoke_result_t<Fn>()> task(std::forward<Fn>(fn));
  auto result = task.get_future();
  std::thread(std::move(task)).join();
  return result.get();
}

}  // namespace netcore
