#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// static: an IPAM plugin that hands out exactly the addresses it is given (config, CNI_ARGS,
// args.cni.ips, runtimeConfig.ips; see config.hpp) with the configured routes and DNS. It keeps
// no state, so the same config always gives the same result. The C++ namespace is static_ipam
// because `static` is a keyword; the plugin's name is "static".
namespace plugins::static_ipam {

// The configured addresses, routes and DNS. Throws like parse_config().
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Nothing to release: succeeds without reading the config, as the reference does.
void cmd_del(const netcore::cni::CmdArgs& args);
// Recomputes the addresses from the config and requires each in prevResult's ips with the same
// prefix length and, where one is configured, the same gateway. Throws like parse_config(), and
// Error(kInternal) for no prevResult ("static: required prevResult missing") or an address
// missing from or different in prevResult (named).
void cmd_check(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::static_ipam
