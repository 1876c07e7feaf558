// The tuning plugin's config parsers on a plugin's stdin: the skel's CmdArgs::parse, then
// plugins::tuning::parse_data_dir and parse_config, and the parsed sysctls against a fixed
// allowlist (check_allowlist; the system's allowlist file is not read).

#include <cstddef>
#include <cstdint>

#include "support.hpp"
#include "tuning/config.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tuning = plugins::tuning;
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] { (void)tuning::parse_data_dir(*args); });
  nsnet::fuzz::expect_cni_errors([&] {
    const auto config = tuning::parse_config(*args);
    tuning::check_allowlist(config.sysctls,
                            "^net\\.ipv4\\.conf\\.IFNAME\\..*\n^net\\.core\\.somaxconn$\n",
                            "fuzz allowlist");
  });
  return 0;
}
