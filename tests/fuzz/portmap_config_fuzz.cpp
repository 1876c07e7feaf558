// The portmap plugin's config parser on a plugin's stdin: the skel's CmdArgs::parse, then
// plugins::portmap::parse_config(args), then make_spec against the config's prevResult (the
// DNAT targets; pure).

#include <cstddef>
#include <cstdint>

#include "portmap/config.hpp"
#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] {
    const auto config = plugins::portmap::parse_config(*args);
    if (const auto prev = args->prev_result())
      (void)plugins::portmap::make_spec(config, *prev, args->ifname);
  });
  return 0;
}
