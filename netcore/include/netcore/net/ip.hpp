#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace netcore::net {

using IpAddress = boost::asio::ip::address;

// Parses an IPv4 or IPv6 address ("10.0.0.1", "fd00::1"). Throws Error(kInvalidNetworkConfig)
// quoting the text.
[[nodiscard]] IpAddress parse_ip_address(std::string_view text);

[[nodiscard]] inline int address_family(const IpAddress& ip) noexcept {
  return ip.is_v4() ? AF_INET : AF_INET6;
}

// The address after `ip` (wrapping from the family's last address to its first).
[[nodiscard]] IpAddress next_address(const IpAddress& ip) noexcept;

// An address with a prefix length, as CNI writes it: "10.1.0.5/24" keeps its host bits (the
// interface address), network() clears them (the subnet). Value type.
class Prefix final {
 public:
  Prefix() = default;
  // Throws Error(kInvalidNetworkConfig) if `length` exceeds the family's width.
  Prefix(IpAddress address, unsigned length);

  // Parses "ADDR/LEN". Throws Error(kInvalidNetworkConfig) quoting the text.
  [[nodiscard]] static Prefix parse(std::string_view text);
  // ADDR/32 or ADDR/128.
  [[nodiscard]] static Prefix host(const IpAddress& address);

  [[nodiscard]] const IpAddress& address() const noexcept { return address_; }
  [[nodiscard]] unsigned length() const noexcept { return length_; }
  [[nodiscard]] bool is_v4() const noexcept { return address_.is_v4(); }
  [[nodiscard]] int family() const noexcept { return address_family(address_); }
  [[nodiscard]] unsigned max_length() const noexcept { return is_v4() ? 32 : 128; }

  // The same prefix with the host bits cleared.
  [[nodiscard]] Prefix network() const;
  // The prefix's last address (all host bits set: the IPv4 broadcast address).
  [[nodiscard]] IpAddress last_address() const;
  [[nodiscard]] bool contains(const IpAddress& ip) const noexcept;
  // True when both prefixes share at least one address.
  [[nodiscard]] bool overlaps(const Prefix& other) const noexcept;
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Prefix&, const Prefix&) = default;

 private:
  IpAddress address_;
  unsigned length_ = 0;
};

// A 48-bit Ethernet address. Value type.
class MacAddress final {
 public:
  MacAddress() = default;
  explicit MacAddress(const std::array<std::uint8_t, 6>& bytes) : bytes_(bytes) {}

  // Parses "aa:bb:cc:dd:ee:ff" (case-insensitive). Throws Error(kInvalidNetworkConfig).
  [[nodiscard]] static MacAddress parse(std::string_view text);

  [[nodiscard]] const std::array<std::uint8_t, 6>& bytes() const noexcept { return bytes_; }
  // Lowercase, colon-separated, like the kernel and the reference plugins print it.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const MacAddress&, const MacAddress&) = default;

 private:
  std::array<std::uint8_t, 6> bytes_{};
};

}  // namespace netcore::net
