#include "netcore/cni/container_link.hpp"

#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"

namespace netcore::cni {

void delete_container_link_if_exists(const CmdArgs& args) {
  const auto container = net::Netns::open_if_exists(args.netns);
  if (!container) return;
  const auto nl = container->run([] { return net::Netlink::connect(); });
  (void)net::delete_link_if_exists(nl, args.ifname);
}

}  // namespace netcore::cni
