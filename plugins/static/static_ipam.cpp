#include "static_ipam.hpp"

#include <algorithm>
#include <netcore/base/error.hpp>

#include "config.hpp"

namespace plugins::static_ipam {
namespace cni = netcore::cni;
using netcore::Error;
using netcore::ErrorCode;

cni::Result cmd_add(const cni::CmdArgs& args) {
  Config config = parse_config(args);
  cni::Result result;
  for (const auto& a : config.addresses)
    result.ips.push_back({.address = a.address, .gateway = a.gateway, .interface = {}});
  result.routes = std::move(config.routes);
  result.dns = std::move(config.dns);
  return result;
}

void cmd_del(const cni::CmdArgs& /*args*/) {
  // ADD reserved nothing, so there is nothing to release; like the reference, DEL does not even
  // read the config, so it succeeds however often and with whatever config it is sent.
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInternal, "static: required prevResult missing");
  // Later plugins in a chain may add addresses or set a gateway we left out (bridge with
  // isGateway does), so only what we configured is required.
  for (const auto& want : config.addresses) {
    const auto& ip = want.address.address();
    const auto found =
        std::find_if(prev->ips.begin(), prev->ips.end(),
                     [&](const cni::IpConfig& c) { return c.address.address() == ip; });
    const auto name =
        "static: address " + want.address.to_string() + " on interface " + args.ifname;
    if (found == prev->ips.end())
      throw Error(ErrorCode::kInternal, name + ": missing from prevResult");
    if (found->address.length() != want.address.length())
      throw Error(ErrorCode::kInternal, name + ": prevResult has prefix length " +
                                            std::to_string(found->address.length()));
    if (want.gateway && found->gateway != want.gateway)
      throw Error(ErrorCode::kInternal,
                  name + ": prevResult has gateway " +
                      (found->gateway ? found->gateway->to_string() : std::string("none")) +
                      ", want " + want.gateway->to_string());
  }
}

cni::PluginSpec spec() {
  return {.name = "static",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          // static keeps no state and depends on nothing: it is always ready to ADD and has
          // nothing to collect, so the defaults (success) are the complete answers for STATUS
          // and GC.
          .status = {},
          .gc = {}};
}

}  // namespace plugins::static_ipam
