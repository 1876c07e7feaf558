// The user-mode networking options of `nsnet run --network slirp4netns:OPTS|pasta:OPTS` and the
// slirp4netns plugin (netcore/usernet): parse_slirp_options, validate, slirp_addresses and
// slirp_arguments; parse_pasta_options and pasta_arguments. Nothing is started. Both parsers
// throw std::invalid_argument for bad options (documented), and only that is expected.

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include <netcore/usernet/pasta.hpp>
#include <netcore/usernet/slirp4netns.hpp>

#include "support.hpp"

namespace usernet = netcore::usernet;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = nsnet::fuzz::as_text(data, size);
  try {
    const auto options = usernet::parse_slirp_options(text);
    usernet::validate(options);
    (void)usernet::slirp_addresses(options);
    (void)usernet::slirp_arguments(options, {.pid = 1234}, "tap0", 3, 4, "/run/fuzz/api.sock");
  } catch (const std::invalid_argument&) {
  }
  try {
    const auto options = usernet::parse_pasta_options(text);
    (void)usernet::pasta_arguments(options, "/proc/1234/ns/user", "/proc/1234/ns/net",
                                   "/run/fuzz/pid", {{.host_port = 8080, .container_port = 80}});
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
