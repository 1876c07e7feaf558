#include "netcore/usernet/slirp4netns.hpp"

#include <stdexcept>

#include "netcore/base/error.hpp"
#include "options.hpp"

namespace netcore::usernet {

SlirpOptions parse_slirp_options(std::string_view text) {
  SlirpOptions options;
  for (const auto& [key, value] : detail::split_options(text)) {
    if (key == "mtu") options.mtu = detail::parse_mtu(value);
    else if (key == "cidr") options.cidr = value;
    else if (key == "allow_host_loopback") options.allow_host_loopback = detail::parse_bool(key, value);
    else if (key == "enable_ipv6") options.enable_ipv6 = detail::parse_bool(key, value);
    else if (key == "outbound_addr") options.outbound_addr = value;
    else if (key == "outbound_addr6") options.outbound_addr6 = value;
    else if (key == "enable_sandbox") options.enable_sandbox = detail::parse_bool(key, value);
    else if (key == "enable_seccomp") options.enable_seccomp = detail::parse_bool(key, value);
    else if (key == "port_handler") {
      // rootlesskit's handler (podman's default) is not built: refuse rather than ignore it.
      if (value != "slirp4netns")
        throw std::invalid_argument("option port_handler: only slirp4netns is supported, got \"" + value + "\"");
    } else {
      throw std::invalid_argument("unknown slirp4netns option \"" + key + "\"");
    }
  }
  validate(options);
  return options;
}

void validate(const SlirpOptions& options) {
  if (options.mtu < 68 || options.mtu > 65521)
    throw std::invalid_argument("mtu " + std::to_string(options.mtu) + " is outside 68..65521");
  net::Prefix cidr;
  try {
    cidr = net::Prefix::parse(options.cidr);
  } catch (const Error&) {
    throw std::invalid_argument("cidr \"" + options.cidr + "\" is not an IPv4 CIDR");
  }
  if (!cidr.is_v4() || cidr.length() > 25)
    throw std::invalid_argument("cidr \"" + options.cidr + "\" must be IPv4 with room for .100 (at most /25)");
  if (cidr.network() != cidr)
    throw std::invalid_argument("cidr \"" + options.cidr + "\" has host bits set");
}

SlirpAddresses slirp_addresses(const SlirpOptions& options) {
  const net::Prefix cidr = net::Prefix::parse(options.cidr);
  const auto base = cidr.address().to_v4().to_uint();
  auto host = [&](unsigned n) -> net::IpAddress { return boost::asio::ip::address_v4(base + n); };
  return {.container = net::Prefix(host(100), cidr.length()), .gateway = host(2), .dns = host(3)};
}

std::vector<std::string> slirp_arguments(const SlirpOptions& options, const SlirpTarget& target,
                                         const std::string& tap_name, int ready_fd, int exit_fd,
                                         const std::string& api_socket) {
  std::vector<std::string> args = {"--mtu=" + std::to_string(options.mtu),
                                   "--cidr=" + options.cidr,
                                   "--ready-fd=" + std::to_string(ready_fd)};
  if (exit_fd >= 0) args.push_back("--exit-fd=" + std::to_string(exit_fd));
  if (!api_socket.empty()) args.push_back("--api-socket=" + api_socket);
  if (!options.allow_host_loopback) args.emplace_back("--disable-host-loopback");
  if (options.enable_ipv6) args.emplace_back("--enable-ipv6");
  if (options.enable_sandbox) args.emplace_back("--enable-sandbox");
  if (options.enable_seccomp) args.emplace_back("--enable-seccomp");
  if (options.disable_dns) args.emplace_back("--disable-dns");
  if (!options.outbound_addr.empty()) args.push_back("--outbound-addr=" + options.outbound_addr);
  if (!options.outbound_addr6.empty()) args.push_back("--outbound-addr6=" + options.outbound_addr6);
  if (target.pid) {
    args.push_back(std::to_string(*target.pid));
  } else {
    args.emplace_back("--netns-type=path");
    if (!target.userns_path.empty()) args.push_back("--userns-path=" + target.userns_path);
    args.push_back(target.netns_path);
  }
  args.push_back(tap_name);
  return args;
}

}  // namespace netcore::usernet
