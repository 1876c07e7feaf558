#include "netcore/base/undo.hpp"

#include "netcore/base/log.hpp"

#include <algorithm>
#include <exception>

namespace netcore {

void Undo::run() noexcept {
  auto steps = std::move(steps_);
  steps_.clear();
  std::reverse(steps.begin(), steps.end());  // the last step registered is undone first
  for (auto& step : steps) {
    try {
      step();
    } catch (const std::exception& e) {
      log::warn("rollback: {}, ignoring", e.what());
    } catch (...) {
      log::warn("rollback: unknown error, ignoring");
    }
  }
}

}  // namespace netcore
