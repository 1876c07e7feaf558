#pragma once

// nftables through libnftables, loaded with dlopen("libnftables.so.1") on first use: the library
// has no static archive, and a plugin that touches no firewall must not pay for loading it
// (DESIGN.md "Start-up cost"). Nothing here links against libnftables at build time.
//
// Namespaces: nft talks netlink in the network namespace of the *calling thread*. To act on
// another namespace, call these functions inside Netns::run. Each call makes its own nft context
// (created, used and freed on the calling thread), so calls are independent.
//
// Thread-safety: every function is thread-safe. The only process-wide state is the table of
// libnftables functions, loaded once under a mutex and immutable afterwards (a failed load is
// retried by the next call; the library is never unloaded), and a mutex that serializes calls
// into libnftables, which makes no thread-safety promise. Other processes may run nft at the same
// time: the kernel serializes transactions.
//
// Errors: Error(kNotReady) "nftables: libnftables.so.1 not found: <dlerror>" when the library
// or one of its functions is missing; Error(kInternal) for anything nft refuses, with nft's first
// "Error:" line in the message and its whole error output in details().

#include <nlohmann/json.hpp>
#include <string>

namespace netcore::fw {

// Loads libnftables now (a no-op once loaded): lets STATUS report a missing dependency.
// Throws Error(kNotReady).
void ensure_nftables_loaded();

// Runs `nft_script` (the text of an `nft -f` file) as one atomic transaction: either every
// command takes effect or none does. Never writes to stdout or stderr. Throws Error(kNotReady),
// Error(kInternal) "run nftables batch: <nft's error>".
void run_batch(const std::string& nft_script);

// Runs one read command ("list table ip nsnet") with JSON output, like `nft -j`, and returns the
// parsed document ({"nftables": [...]}). Throws Error(kNotReady), Error(kInternal)
// "nft COMMAND: <nft's error>" (a missing table is "... No such file or directory").
[[nodiscard]] nlohmann::json list_json(const std::string& command);

}  // namespace netcore::fw
