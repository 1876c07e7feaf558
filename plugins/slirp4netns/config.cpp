#include "config.hpp"

#include <unistd.h>

#include <set>
#include <stdexcept>
#include <utility>

#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/net/ip.hpp>
#include <netcore/net/link.hpp>
#include <netcore/proc/daemon.hpp>

namespace plugins::slirp4netns {
namespace cni = netcore::cni;
namespace net = netcore::net;
namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using netcore::throw_invalid_config;

namespace {

// outboundAddr(6): an address of `family` or an interface name, as slirp4netns takes it.
void check_outbound(const std::string& key, const std::string& value, bool v4) {
  if (value.empty()) return;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(value, ec);
  if (!ec) {
    if (ip.is_v4() != v4)
      throw_invalid_config(key + ": \"" + value + "\" is not an IPv" + (v4 ? "4" : "6") +
                           " address");
    return;
  }
  try {
    net::validate_link_name(value);
  } catch (const Error&) {
    throw_invalid_config(key + ": \"" + value +
                         "\" is neither an IP address nor an interface name");
  }
}

std::uint16_t port_field(const nlohmann::json& entry, const std::string& key,
                         const std::string& where) {
  const auto port =
      cni::at_json_path(where, [&] { return cni::optional_field<std::int64_t>(entry, key); });
  if (!port) throw_invalid_config(where + ": missing \"" + key + "\"");
  if (*port < 1 || *port > 65535)
    throw_invalid_config(where + "." + key + ": " + std::to_string(*port) +
                         " is not a port (1-65535)");
  return static_cast<std::uint16_t>(*port);
}

PortMapping parse_mapping(const nlohmann::json& entry, const std::string& where) {
  if (!entry.is_object())
    throw Error(ErrorCode::kDecodingFailure, where + ": expected an object, got " + entry.dump());
  PortMapping m;
  m.host_port = port_field(entry, "hostPort", where);
  m.container_port = port_field(entry, "containerPort", where);
  const auto protocol =
      cni::at_json_path(where, [&] { return cni::optional_field<std::string>(entry, "protocol"); });
  if (protocol && !protocol->empty()) {
    if (*protocol != "tcp" && *protocol != "udp")
      throw_invalid_config(where + ".protocol: \"" + *protocol +
                           "\" is not tcp or udp (slirp4netns forwards nothing else)");
    m.protocol = *protocol;
  }
  const auto host_ip =
      cni::at_json_path(where, [&] { return cni::optional_field<std::string>(entry, "hostIP"); });
  if (host_ip && !host_ip->empty()) {
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(*host_ip, ec);
    if (ec) throw_invalid_config(where + ".hostIP: \"" + *host_ip + "\" is not an IP address");
    if (!ip.is_v4())
      throw_invalid_config(where + ".hostIP: " + *host_ip +
                           " is IPv6; slirp4netns can forward IPv4 host addresses only");
    m.host_ip = ip.to_string();
  }
  return m;
}

void check_component(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw_invalid_config(what + " \"" + name + "\" cannot name a state directory");
}

}  // namespace

fs::path default_data_dir(const cni::Environment& env) {
  if (const auto xdg = env.find("XDG_RUNTIME_DIR"); xdg != env.end() && !xdg->second.empty())
    return fs::path(xdg->second) / "cni" / "slirp4netns";
  return "/var/lib/cni/slirp4netns";
}

fs::path parse_data_dir(const cni::CmdArgs& args) {
  const auto dir = cni::optional_field<std::string>(args.config, "dataDir");
  if (!dir) return default_data_dir(args.env);
  if (dir->empty() || fs::path(*dir).is_relative())
    throw_invalid_config("dataDir: \"" + *dir + "\" is not an absolute path");
  return fs::path(*dir).lexically_normal();
}

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  auto& o = config.options;
  o.mtu = cni::optional_field<unsigned>(conf, "mtu").value_or(o.mtu);
  o.cidr = cni::optional_field<std::string>(conf, "cidr").value_or(o.cidr);
  o.allow_host_loopback =
      cni::optional_field<bool>(conf, "allowHostLoopback").value_or(o.allow_host_loopback);
  o.enable_ipv6 = cni::optional_field<bool>(conf, "enableIPv6").value_or(o.enable_ipv6);
  o.outbound_addr = cni::optional_field<std::string>(conf, "outboundAddr").value_or("");
  o.outbound_addr6 = cni::optional_field<std::string>(conf, "outboundAddr6").value_or("");
  o.enable_sandbox = cni::optional_field<bool>(conf, "enableSandbox").value_or(o.enable_sandbox);
  o.enable_seccomp = cni::optional_field<bool>(conf, "enableSeccomp").value_or(o.enable_seccomp);
  try {
    netcore::usernet::validate(o);  // "mtu ..." / "cidr ...": the message names the key
  } catch (const std::invalid_argument& e) {
    throw_invalid_config(e.what());
  }
  check_outbound("outboundAddr", o.outbound_addr, true);
  check_outbound("outboundAddr6", o.outbound_addr6, false);
  if (!o.outbound_addr6.empty() && !o.enable_ipv6)
    throw_invalid_config("outboundAddr6: needs enableIPv6");
  config.data_dir = parse_data_dir(args);
  config.binary = cni::optional_field<std::string>(conf, "binary").value_or(config.binary);
  if (config.binary.empty()) throw_invalid_config("binary: empty");
  return config;
}

std::vector<PortMapping> parse_port_mappings(const cni::CmdArgs& args) {
  std::vector<PortMapping> out;
  const auto& runtime = args.runtime_config();
  const auto mappings = runtime.find("portMappings");
  if (mappings == runtime.end() || mappings->is_null()) return out;
  if (!mappings->is_array())
    throw Error(ErrorCode::kDecodingFailure,
                "runtimeConfig.portMappings: expected an array, got " + mappings->dump());
  std::set<std::pair<std::uint16_t, std::string>> seen;  // slirp4netns binds port+proto once
  for (std::size_t i = 0; i < mappings->size(); ++i) {
    const std::string where = "runtimeConfig.portMappings[" + std::to_string(i) + "]";
    auto m = parse_mapping((*mappings)[i], where);
    if (!seen.emplace(m.host_port, m.protocol).second)
      throw_invalid_config(where + ": host port " + std::to_string(m.host_port) + "/" + m.protocol +
                           " is already mapped");
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<fs::path> find_binary(const Config& config, const cni::Environment& env) {
  const auto path = env.find("PATH");
  return netcore::proc::find_program(
      config.binary, (path != env.end() ? path->second + ":" : std::string()) + "/usr/bin");
}

fs::path network_dir(const fs::path& data_dir, const std::string& network) {
  check_component("network name", network);
  return data_dir / network;
}

fs::path attachment_dir(const fs::path& data_dir, const std::string& network,
                        const std::string& container_id, const std::string& ifname) {
  check_component("container ID", container_id);
  check_component("interface name", ifname);
  return network_dir(data_dir, network) / (container_id + "-" + ifname);
}

}  // namespace plugins::slirp4netns
