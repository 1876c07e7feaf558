#include "netcore/base/undo.hpp"

#include "netcore/base/log.hpp"

#include <exception>

namespace netcore {

void Undo::run() noexcept {
  auto steps = std::move(steps_);
  steps_.clear();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    try {
      (*it)();
    } catch (const std::exception& e) {
      log::warn("rollback: {}, ignoring", e.what());
    } catch (...) {
      log::warn("rollback: unknown error, ignoring");
    }
  }
}

}  // namespace netcore
