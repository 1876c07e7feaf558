#pragma once

// slirp4netns's API socket: one JSON request per connection (QMP-like), used to publish ports
// while the daemon runs.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace netcore::usernet {

struct HostForward {
  std::string proto = "tcp";           // tcp | udp
  std::string host_addr = "0.0.0.0";   // IPv4 only (slirp4netns cannot forward IPv6)
  std::uint16_t host_port = 0;
  std::string guest_addr;              // empty: slirp4netns's default, the container's .100
  std::uint16_t guest_port = 0;
};

class SlirpApi final {
 public:
  explicit SlirpApi(std::filesystem::path socket) : socket_(std::move(socket)) {}

  // Adds a forwarding; returns its id. Throws Error(kInternal) with slirp4netns's reason
  // (a port already bound, ...).
  int add_hostfwd(const HostForward& forward) const;
  // Removes a forwarding by id. Throws Error(kInternal).
  void remove_hostfwd(int id) const;
  // The ids of the current forwardings.
  [[nodiscard]] std::vector<int> list_hostfwd() const;

 private:
  [[nodiscard]] std::string request(const std::string& json) const;
  std::filesystem::path socket_;
};

}  // namespace netcore::usernet
