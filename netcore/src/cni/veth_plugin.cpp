#include "netcore/cni/veth_plugin.hpp"

#include <string>

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/net/link.hpp"

namespace netcore::cni {

ContainerSide open_container_for_add(const CmdArgs& args) {
  auto netns = net::Netns::open(args.netns);
  auto nl = netns.run([] { return net::Netlink::connect(); });
  if (net::find_link(nl, args.ifname))
    throw Error(ErrorCode::kInternal,
                "container veth name provided (" + args.ifname + ") already exists");
  return {std::move(netns), std::move(nl)};
}

std::optional<unsigned> parse_mtu(const nlohmann::json& conf) {
  const auto mtu = optional_field<unsigned>(conf, "mtu");
  if (!mtu || *mtu == 0) return std::nullopt;
  if (*mtu < 68 || *mtu > 65535)
    throw_invalid_config("mtu " + std::to_string(*mtu) + " is out of range (68-65535)");
  return mtu;
}

void check_masq_backend(const nlohmann::json& conf) {
  if (const auto backend = optional_field<std::string>(conf, "ipMasqBackend");
      backend && *backend != "nftables")
    throw Error(ErrorCode::kUnsupportedField,
                "ipMasqBackend \"" + *backend +
                    "\" is not supported: nsnet masquerades with nftables only");
}

}  // namespace netcore::cni
