#pragma once

namespace netcore {

// Zero-size deleter for any C free/put function, for std::unique_ptr over C library objects.
template <auto Free>
struct CDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

}  // namespace netcore
