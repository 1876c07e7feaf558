#pragma once

#include <functional>
#include <vector>

namespace netcore {

// Rollback of a multi-step operation: runs the pushed steps in reverse order on destruction
// unless commit() was called. A failing step is logged ("rollback: ..., ignoring") and the
// rest still run. Not thread-safe.
// The steps run when the Undo is destroyed, after every local declared below it: a step takes
// those by value, never by reference (clang's ASan reports the reference as use-after-scope).
class Undo final {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;  // copying would run every step twice
  Undo& operator=(const Undo&) = delete;
  ~Undo() { run(); }

  void push(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void commit() noexcept { steps_.clear(); }
  // Rolls back now; the object is empty afterwards.
  void run() noexcept;

 private:
  std::vector<std::function<void()>> steps_;
};

}  // namespace netcore
