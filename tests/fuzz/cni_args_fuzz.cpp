// CNI_ARGS and CAP_ARGS: the plugin side (netcore::cni::CniArgs) and the runtime side (`nsnet
// net`'s parse_cni_args and parse_capability_args, and runtime_conf over both). The input's first
// line is CNI_ARGS and the rest CAP_ARGS for runtime_conf; each parser also gets the whole input.
// Invariants: the runtime's pairs joined with '=' and ';' give the text back; CniArgs::find
// returns the last value of a repeated key.

#include <cstddef>
#include <cstdint>
#include <string>

#include <netcore/cni/cni_args.hpp>

#include "net/net_env.hpp"
#include "support.hpp"

namespace {

using nsnet::fuzz::fail;

void check_plugin_side(const std::string& text) {
  netcore::cni::CniArgs args;
  try {
    args = netcore::cni::CniArgs::parse(text);
  } catch (const netcore::Error&) {
    return;
  }
  for (const auto& [key, value] : args.pairs()) {
    if (key.empty()) fail("CniArgs accepted an empty key: " + text);
    std::string last;
    for (const auto& [k, v] : args.pairs())
      if (k == key) last = v;
    if (args.find(key) != last) fail("CniArgs::find(\"" + key + "\") is not the last value");
  }
  try {
    args.check_known({"IgnoreUnknown", "IP", "MAC", "K8S_POD_NAME"});
  } catch (const netcore::Error&) {
  }
}

void check_runtime_side(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  try {
    pairs = nsnet::net::parse_cni_args(text);
  } catch (const netcore::Error&) {
    return;
  }
  std::string joined;
  for (const auto& [key, value] : pairs) {
    if (key.empty() || value.empty()) fail("parse_cni_args accepted an empty part: " + text);
    if (!joined.empty()) joined += ';';
    joined += key + "=" + value;
  }
  if (joined != text) fail("parse_cni_args lost text: \"" + text + "\" -> \"" + joined + "\"");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(nsnet::fuzz::as_text(data, size));
  check_plugin_side(text);
  check_runtime_side(text);
  nsnet::fuzz::expect_cni_errors([&] { (void)nsnet::net::parse_capability_args(text); });

  const auto newline = text.find('\n');
  nsnet::net::NetEnv env{.cni_args = text.substr(0, newline)};
  if (newline != std::string::npos) env.cap_args = text.substr(newline + 1);
  nsnet::fuzz::expect_cni_errors([&] { (void)nsnet::net::runtime_conf(env, "/run/netns/fuzz"); });
  return 0;
}
