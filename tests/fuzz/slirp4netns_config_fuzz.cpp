// The slirp4netns plugin's config parsers on a plugin's stdin: the skel's CmdArgs::parse, then
// plugins::slirp4netns::parse_data_dir, parse_config and parse_port_mappings (runtimeConfig).
// Nothing is looked up or started (find_binary is not called).

#include <cstddef>
#include <cstdint>

#include "slirp4netns/config.hpp"
#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace slirp = plugins::slirp4netns;
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (!args) return 0;
  nsnet::fuzz::expect_cni_errors([&] {
    const auto dir = slirp::parse_data_dir(*args);
    (void)slirp::attachment_dir(dir, args->network_name, args->container_id, args->ifname);
  });
  nsnet::fuzz::expect_cni_errors([&] { (void)slirp::parse_config(*args); });
  nsnet::fuzz::expect_cni_errors([&] { (void)slirp::parse_port_mappings(*args); });
  return 0;
}
