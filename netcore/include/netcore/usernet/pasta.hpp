#pragma once

// User-mode networking through pasta (package passt): like slirp4netns, but pasta copies the
// host's addresses and routes into the namespace itself (--config-net), and forwards ports given
// at start (-t/-u), splicing loopback connections.

#include <string>
#include <string_view>
#include <vector>

namespace netcore::usernet {

struct PastaOptions {
  unsigned mtu = 65520;
  bool map_gateway = false;              // the gateway address reaches the host's loopback
  std::string dns_forward = "169.254.1.1";  // DNS queries to this address go to the host's resolver
  std::vector<std::string> extra;        // further pasta arguments, passed as given

  friend bool operator==(const PastaOptions&, const PastaOptions&) = default;
};

// Parses `pasta:` options: mtu=N, map_gw / allow_host_loopback=BOOL, dns_forward=ADDR, and
// anything starting with '-' (passed on to pasta verbatim, comma-separated like podman's).
// Throws std::invalid_argument.
[[nodiscard]] PastaOptions parse_pasta_options(std::string_view text);

// A published port, in pasta's terms.
struct PastaPort {
  std::string proto = "tcp";
  std::string host_addr;  // empty: every address
  unsigned host_port = 0;
  unsigned container_port = 0;
};

// pasta's arguments (without argv[0]) for the namespaces of `userns`/`netns` (nsfs paths),
// staying in the foreground so that it remains our child, writing its pid to `pid_file` (a pipe
// the caller reads: pasta writes it once the namespace is configured) and forwarding only
// `ports` (pasta's default would forward every bound port) plus what a forwarding flag among the
// extra options asks for ("-T=5201" becomes -T5201: the host's port 5201 reaches the
// container's).
[[nodiscard]] std::vector<std::string> pasta_arguments(const PastaOptions& options,
                                                       const std::string& userns,
                                                       const std::string& netns,
                                                       const std::string& pid_file,
                                                       const std::vector<PastaPort>& ports);

}  // namespace netcore::usernet
