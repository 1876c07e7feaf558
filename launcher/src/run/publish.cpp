#include "run/publish.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace nsnet {

namespace {

int parse_port(std::string_view text, const std::string& spec) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535)
    throw std::invalid_argument("--publish " + spec + ": '" + std::string(text) +
                                "' is not a port (1-65535)");
  return port;
}

bool is_ip(const std::string& text, int family) {
  unsigned char buffer[16];
  return ::inet_pton(family, text.c_str(), buffer) == 1;
}

}  // namespace

nlohmann::json parse_publish(const std::string& spec) {
  std::string_view rest = spec;
  std::string protocol = "tcp";
  if (const auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    protocol = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
      throw std::invalid_argument("--publish " + spec + ": protocol must be tcp, udp or sctp");
  }
  std::string host_ip;
  if (rest.starts_with('[')) {  // [v6]:HOSTPORT:CTRPORT
    const auto close = rest.find("]:");
    if (close == std::string_view::npos)
      throw std::invalid_argument("--publish " + spec + ": unterminated [IPv6 address]");
    host_ip = rest.substr(1, close - 1);
    if (!is_ip(host_ip, AF_INET6))
      throw std::invalid_argument("--publish " + spec + ": '" + host_ip + "' is not an IPv6 address");
    rest = rest.substr(close + 2);
  } else if (const auto first = rest.find(':'), last = rest.rfind(':');
             first != last && first != std::string_view::npos) {
    host_ip = rest.substr(0, first);
    if (!is_ip(host_ip, AF_INET))
      throw std::invalid_argument("--publish " + spec + ": '" + host_ip + "' is not an IPv4 address");
    rest = rest.substr(first + 1);
  }
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos)
    throw std::invalid_argument("--publish " + spec +
                                ": expected [HOSTIP:]HOSTPORT:CTRPORT[/PROTO]");
  nlohmann::json mapping = {{"hostPort", parse_port(rest.substr(0, colon), spec)},
                            {"containerPort", parse_port(rest.substr(colon + 1), spec)},
                            {"protocol", protocol}};
  if (!host_ip.empty()) mapping["hostIP"] = host_ip;
  return mapping;
}

}  // namespace nsnet
