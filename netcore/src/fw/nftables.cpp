#include "netcore/fw/nftables.hpp"

#include <dlfcn.h>
// Declarations only: the functions are resolved with dlsym, never linked.
#include <nftables/libnftables.h>
#include "netcore/base/log.hpp"

#include <mutex>
#include <optional>
#include <string_view>

#include "netcore/base/error.hpp"

namespace netcore::fw {
namespace {

constexpr const char* kLibrary = "libnftables.so.1";

// The libnftables functions nsnet uses, typed from <nftables/libnftables.h>.
struct NftApi {
  decltype(&::nft_ctx_new) ctx_new;
  decltype(&::nft_ctx_free) ctx_free;
  decltype(&::nft_ctx_buffer_output) buffer_output;
  decltype(&::nft_ctx_buffer_error) buffer_error;
  decltype(&::nft_ctx_get_output_buffer) get_output_buffer;
  decltype(&::nft_ctx_get_error_buffer) get_error_buffer;
  decltype(&::nft_ctx_output_get_flags) output_get_flags;
  decltype(&::nft_ctx_output_set_flags) output_set_flags;
  decltype(&::nft_run_cmd_from_buffer) run_cmd_from_buffer;
};

[[noreturn]] void throw_not_ready(const std::string& what) {
  const char* reason = ::dlerror();
  throw Error(ErrorCode::kNotReady,
              std::string("nftables: ") + what + ": " + (reason ? reason : "unknown error"));
}

template <class Fn>
void resolve(void* handle, Fn& fn, const char* symbol) {
  void* address = ::dlsym(handle, symbol);
  if (address == nullptr) {
    const std::string what = std::string(kLibrary) + " lacks " + symbol;
    ::dlclose(handle);  // nothing resolved from it is kept
    throw_not_ready(what);
  }
  fn = reinterpret_cast<Fn>(address);
}

NftApi load() {
  ::dlerror();  // clear a stale message
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw_not_ready(std::string(kLibrary) + " not found");
  NftApi api{};
  resolve(handle, api.ctx_new, "nft_ctx_new");
  resolve(handle, api.ctx_free, "nft_ctx_free");
  resolve(handle, api.buffer_output, "nft_ctx_buffer_output");
  resolve(handle, api.buffer_error, "nft_ctx_buffer_error");
  resolve(handle, api.get_output_buffer, "nft_ctx_get_output_buffer");
  resolve(handle, api.get_error_buffer, "nft_ctx_get_error_buffer");
  resolve(handle, api.output_get_flags, "nft_ctx_output_get_flags");
  resolve(handle, api.output_set_flags, "nft_ctx_output_set_flags");
  resolve(handle, api.run_cmd_from_buffer, "nft_run_cmd_from_buffer");
  log::debug("nftables: loaded {}", kLibrary);
  return api;  // the handle stays open for the life of the process
}

// The process-wide function table: loaded under the mutex on first use, immutable afterwards.
// A failed load stores nothing, so a library installed later is found by the next call.
const NftApi& api() {
  static std::mutex mutex;
  static std::optional<NftApi> table;
  const std::lock_guard lock(mutex);
  if (!table) table = load();
  return *table;
}

// Serializes all use of libnftables in the process: its documentation promises nothing about
// threads, and it keeps process-wide state (GMP allocator hooks, parser symbol tables). One nft
// call takes milliseconds, so concurrent callers lose little.
std::mutex& call_mutex() {
  static std::mutex mutex;
  return mutex;
}

// One nft context with buffered output and error (libnftables must never write to our stdout:
// a plugin's stdout is its CNI result). Used on one thread, for one operation; holds the call
// mutex for its whole life.
class Context final {
 public:
  explicit Context(bool json)
      : api_(api()), lock_(call_mutex()), ctx_(api_.ctx_new(NFT_CTX_DEFAULT)) {
    if (ctx_ == nullptr) throw Error(ErrorCode::kInternal, "nftables: create context: failed");
    if (api_.buffer_output(ctx_) != 0 || api_.buffer_error(ctx_) != 0) {
      api_.ctx_free(ctx_);
      throw Error(ErrorCode::kInternal, "nftables: buffer output: failed");
    }
    if (json) api_.output_set_flags(ctx_, api_.output_get_flags(ctx_) | NFT_CTX_OUTPUT_JSON);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { api_.ctx_free(ctx_); }

  // Runs `commands`; on failure throws Error(kInternal) "operation: <nft's first error line>".
  void run(const std::string& commands, std::string_view operation) {
    if (api_.run_cmd_from_buffer(ctx_, commands.c_str()) == 0) return;
    const char* buffer = api_.get_error_buffer(ctx_);
    std::string text = buffer ? buffer : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // nft prints "Error: cause" lines, each followed by the offending input and a caret line.
    std::string cause = "failed";
    if (const auto at = text.find("Error: "); at != std::string::npos) {
      const auto start = at + 7;
      cause = text.substr(start, text.find('\n', start) - start);
    } else if (!text.empty()) {
      cause = text.substr(0, text.find('\n'));
    }
    throw Error(ErrorCode::kInternal, std::string(operation) + ": " + cause, text);
  }

  [[nodiscard]] std::string output() const {
    const char* buffer = api_.get_output_buffer(ctx_);
    return buffer ? buffer : "";
  }

 private:
  const NftApi& api_;
  std::lock_guard<std::mutex> lock_;
  nft_ctx* ctx_;
};

}  // namespace

void ensure_nftables_loaded() { (void)api(); }

void run_batch(const std::string& nft_script) {
  log::debug("nft batch:\n{}", nft_script);
  Context ctx(/*json=*/false);
  ctx.run(nft_script, "run nftables batch");
}

nlohmann::json list_json(const std::string& command) {
  log::debug("nft -j {}", command);
  Context ctx(/*json=*/true);
  ctx.run(command, "nft " + command);
  const std::string out = ctx.output();
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kInternal, "nft " + command + ": parse JSON output: " + e.what());
  }
}

}  // namespace netcore::fw
