// The plugins' config parsers on a plugin's stdin, one fuzz target per plugin. As the plugins are
// links to one nsnet-cni, the targets are links to this one executable, fuzz_<plugin>_config
// (tests/fuzz/CMakeLists.txt makes them), and the name it runs as picks the parser: thirteen
// targets compile and link once. Every input goes through the skel's CmdArgs::parse first (bounded
// read, parse_json, the cniVersion and name checks); the plugin's parser sees only what passed.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bandwidth/config.hpp"
#include "bridge/config.hpp"
#include "firewall/config.hpp"
#include "host-device/config.hpp"
#include "host-local/config.hpp"
#include "macvlan/config.hpp"
#include "portmap/config.hpp"
#include "ptp/config.hpp"
#include "slirp4netns/config.hpp"
#include "static/config.hpp"
#include "support.hpp"
#include "tap/config.hpp"
#include "tuning/config.hpp"

namespace {

using netcore::cni::CmdArgs;
using nsnet::fuzz::expect_cni_errors;

// parse_config(args.config) and, for each shaped direction, tbf_spec (whose precondition
// parse_config establishes).
void bandwidth(const CmdArgs& args) {
  expect_cni_errors([&] {
    const auto config = plugins::bandwidth::parse_config(args.config);
    for (const auto& shaping : {config.ingress, config.egress}) {
      if (shaping.shaped()) (void)plugins::bandwidth::tbf_spec(shaping);
    }
  });
}

void bridge(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::bridge::parse_config(args); });
}

void firewall(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::firewall::parse_config(args.config); });
}

void host_device(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::host_device::parse_config(args); });
}

void host_local(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::host_local::parse_config(args); });
}

// Only what the skel reads, and prevResult, which an ADD returns as it is. Also the other
// accessors every plugin relies on: runtimeConfig, args.cni, CNI_ARGS and GC's attachments.
void loopback(const CmdArgs& args) {
  expect_cni_errors([&] {
    if (const auto prev = args.prev_result()) (void)prev->to_json(args.config_version);
  });
  expect_cni_errors([&] { (void)args.runtime_config(); });
  expect_cni_errors([&] { (void)args.args_cni(); });
  expect_cni_errors([&] { (void)args.cni_args(); });
  expect_cni_errors([&] { (void)args.valid_attachments(); });
}

void macvlan(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::macvlan::parse_config(args); });
}

// parse_config, then make_spec against the config's prevResult (the DNAT targets; pure).
void portmap(const CmdArgs& args) {
  expect_cni_errors([&] {
    const auto config = plugins::portmap::parse_config(args);
    if (const auto prev = args.prev_result())
      (void)plugins::portmap::make_spec(config, *prev, args.ifname);
  });
}

void ptp(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::ptp::parse_config(args); });
}

// parse_data_dir, parse_config and parse_port_mappings (runtimeConfig). Nothing is looked up or
// started (find_binary is not called).
void slirp4netns(const CmdArgs& args) {
  namespace slirp = plugins::slirp4netns;
  expect_cni_errors([&] {
    const auto dir = slirp::parse_data_dir(args);
    (void)slirp::attachment_dir(dir, args.network_name, args.container_id, args.ifname);
  });
  expect_cni_errors([&] { (void)slirp::parse_config(args); });
  expect_cni_errors([&] { (void)slirp::parse_port_mappings(args); });
}

void static_ipam(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::static_ipam::parse_config(args); });
}

void tap(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::tap::parse_config(args); });
}

// parse_data_dir and parse_config, and the parsed sysctls against a fixed allowlist
// (check_allowlist; the system's allowlist file is not read).
void tuning(const CmdArgs& args) {
  expect_cni_errors([&] { (void)plugins::tuning::parse_data_dir(args); });
  expect_cni_errors([&] {
    const auto config = plugins::tuning::parse_config(args);
    plugins::tuning::check_allowlist(
        config.sysctls, "^net\\.ipv4\\.conf\\.IFNAME\\..*\n^net\\.core\\.somaxconn$\n",
        "fuzz allowlist");
  });
}

struct Target {
  std::string_view name;  // the executable is fuzz_<name>
  void (*fuzz)(const CmdArgs&);
};

// Keep in step with NSNET_FUZZ_PLUGIN_CONFIG_TARGETS in tests/fuzz/CMakeLists.txt: a name missing
// here fails at start-up, which scripts/fuzz.sh reports.
constexpr Target kTargets[] = {
    {"bandwidth_config", bandwidth},     {"bridge_config", bridge},
    {"firewall_config", firewall},       {"host_device_config", host_device},
    {"host_local_config", host_local},   {"loopback_config", loopback},
    {"macvlan_config", macvlan},         {"portmap_config", portmap},
    {"ptp_config", ptp},                 {"slirp4netns_config", slirp4netns},
    {"static_config", static_ipam},      {"tap_config", tap},
    {"tuning_config", tuning},
};

const Target* chosen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** argv) {
  nsnet::fuzz::quiet_logging();
  std::string_view name = (*argv)[0];
  name.remove_prefix(name.find_last_of('/') + 1);  // npos + 1 == 0: no directory
  for (const auto& target : kTargets) {
    if (name == "fuzz_" + std::string(target.name)) chosen = &target;
  }
  if (chosen == nullptr) {
    std::fprintf(stderr, "%.*s: run this as fuzz_<plugin>_config, a link to it\n",
                 static_cast<int>(name.size()), name.data());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = nsnet::fuzz::parse_stdin(data, size);
  if (args) chosen->fuzz(*args);
  return 0;
}
