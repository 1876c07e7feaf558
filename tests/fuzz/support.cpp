#include "support.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <netcore/base/log.hpp>

namespace nsnet::fuzz {

void quiet_logging() noexcept { netcore::setup_logging("fuzz", "off"); }

netcore::cni::Environment add_env() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "fuzz-container"},
          {"CNI_NETNS", "/var/run/netns/nsnet-fuzz-never-opened"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/nonexistent/nsnet-fuzz"},
          {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=fuzz"}};
}

std::optional<netcore::cni::CmdArgs> parse_stdin(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(as_text(data, size)));
  try {
    return netcore::cni::CmdArgs::parse(add_env(), in);
  } catch (const netcore::Error&) {
    return std::nullopt;
  }
}

void fail(const std::string& what) {
  std::fprintf(stderr, "nsnet fuzz: broken invariant: %s\n", what.c_str());
  std::abort();
}

}  // namespace nsnet::fuzz
