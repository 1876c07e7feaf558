// The bandwidth plugin's config parser on a plugin's stdin: the skel's CmdArgs::parse, then
// plugins::bandwidth::parse_config(args.config) and, for each shaped direction, tbf_spec (whose
// precondition parse_config establishes).

#include <cstddef>
#include <cstdint>

#include "bandwidth/config.hpp"
#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] {
    const auto config = plugins::bandwidth::parse_config(args->config);
    for (const auto& shaping : {config.ingress, config.egress}) {
      if (shaping.shaped()) (void)plugins::bandwidth::tbf_spec(shaping);
    }
  });
  return 0;
}
