#include "netcore/usernet/pasta.hpp"

#include <stdexcept>
#include <tuple>

#include "options.hpp"

namespace netcore::usernet {

PastaOptions parse_pasta_options(std::string_view text) {
  PastaOptions options;
  for (const auto& [key, value] : detail::split_options(text)) {
    if (key.starts_with("-")) {
      // "--flag=value" for long options, "-Fvalue" for short ones (getopt reads "-F=v" as "=v").
      options.extra.push_back(key);
      if (!value.empty()) options.extra.back() += (key.starts_with("--") ? "=" : "") + value;
    } else if (key == "mtu") {
      options.mtu = detail::parse_mtu(value);
    } else if (key == "map_gw" || key == "allow_host_loopback") {
      options.map_gateway = detail::parse_bool(key, value);
    } else if (key == "dns_forward") {
      options.dns_forward = value;
    } else {
      throw std::invalid_argument("unknown pasta option \"" + key + "\"");
    }
  }
  return options;
}

std::vector<std::string> pasta_arguments(const PastaOptions& options, const std::string& userns,
                                         const std::string& netns, const std::string& pid_file,
                                         const std::vector<PastaPort>& ports) {
  std::vector<std::string> args = {"--foreground", "--quiet", "--config-net",
                                   "--mtu", std::to_string(options.mtu),
                                   "--pid", pid_file};
  if (!options.map_gateway) args.emplace_back("--no-map-gw");
  if (!options.dns_forward.empty()) {
    args.emplace_back("--dns-forward");
    args.push_back(options.dns_forward);
  }
  std::string tcp, udp;
  for (const auto& port : ports) {
    std::string& spec = port.proto == "udp" ? udp : tcp;
    if (!spec.empty()) spec += ",";
    if (!port.host_addr.empty()) spec += port.host_addr + "/";
    spec += std::to_string(port.host_port) + ":" + std::to_string(port.container_port);
  }
  // pasta refuses "none" next to a specific port: a forwarding flag among the extra options
  // replaces our default for it.
  auto given = [&](std::string_view short_flag, std::string_view long_flag) {
    for (const auto& arg : options.extra)
      if (arg.starts_with(short_flag) || arg.starts_with(long_flag)) return true;
    return false;
  };
  for (const auto& [flag, long_flag, spec] :
       {std::tuple{"-t", "--tcp-ports", tcp}, {"-u", "--udp-ports", udp},
        {"-T", "--tcp-ns", std::string()}, {"-U", "--udp-ns", std::string()}}) {
    if (spec.empty() && given(flag, long_flag)) continue;
    args.emplace_back(flag);
    args.push_back(spec.empty() ? "none" : spec);
  }
  args.insert(args.end(), options.extra.begin(), options.extra.end());
  if (!userns.empty()) {
    args.emplace_back("--userns");
    args.push_back(userns);
  }
  args.emplace_back("--netns");
  args.push_back(netns);
  return args;
}

}  // namespace netcore::usernet
