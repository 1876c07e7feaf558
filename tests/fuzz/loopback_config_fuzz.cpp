// What the loopback plugin parses: only what the skel reads (CmdArgs::parse: CNI_* and the
// config's cniVersion and name) and prevResult, which an ADD returns as it is. Also the other
// accessors every plugin relies on: runtimeConfig, args.cni, CNI_ARGS and GC's attachments.

#include <cstddef>
#include <cstdint>

#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] {
    if (const auto prev = args->prev_result()) (void)prev->to_json(args->config_version);
  });
  nsnet::fuzz::expect_cni_errors([&] { (void)args->runtime_config(); });
  nsnet::fuzz::expect_cni_errors([&] { (void)args->args_cni(); });
  nsnet::fuzz::expect_cni_errors([&] { (void)args->cni_args(); });
  nsnet::fuzz::expect_cni_errors([&] { (void)args->valid_attachments(); });
  return 0;
}
