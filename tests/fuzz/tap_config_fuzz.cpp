// The tap plugin's config parser on a plugin's stdin: the skel's CmdArgs::parse, then
// plugins::tap::parse_config(args).

#include <cstddef>
#include <cstdint>

#include "tap/config.hpp"
#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] { (void)plugins::tap::parse_config(*args); });
  return 0;
}
