#include "netcore/net/ip.hpp"

#include <charconv>
#include <cstdio>

#include "netcore/base/error.hpp"

namespace netcore::net {
namespace {

[[noreturn]] void throw_invalid(std::string_view what, std::string_view text) {
  throw Error(ErrorCode::kInvalidNetworkConfig,
              "invalid " + std::string(what) + " \"" + std::string(text) + "\"");
}

// The address bytes in network order: 4 for IPv4, 16 for IPv6.
template <class Fn>
auto with_bytes(const IpAddress& ip, Fn&& fn) {
  if (ip.is_v4()) {
    auto bytes = ip.to_v4().to_bytes();
    return fn(bytes.data(), bytes.size());
  }
  auto bytes = ip.to_v6().to_bytes();
  return fn(bytes.data(), bytes.size());
}

bool same_leading_bits(const IpAddress& a, const IpAddress& b, unsigned bits) noexcept {
  if (a.is_v4() != b.is_v4()) return false;
  return with_bytes(a, [&](const unsigned char* pa, size_t) {
    return with_bytes(b, [&](const unsigned char* pb, size_t) {
      unsigned i = 0;
      for (; bits >= 8; bits -= 8, ++i)
        if (pa[i] != pb[i]) return false;
      if (bits == 0) return true;
      const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
      return (pa[i] & mask) == (pb[i] & mask);
    });
  });
}

}  // namespace

IpAddress parse_ip_address(std::string_view text) {
  boost::system::error_code ec;
  // An IPv6 zone ("fe80::1%eth0") is not an address CNI can carry.
  if (text.find('%') != std::string_view::npos) throw_invalid("IP address", text);
  IpAddress ip = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) throw_invalid("IP address", text);
  return ip;
}

Prefix::Prefix(IpAddress address, unsigned length) : address_(std::move(address)), length_(length) {
  if (length_ > max_length())
    throw Error(ErrorCode::kInvalidNetworkConfig, "invalid prefix length " +
                                                      std::to_string(length_) + " for " +
                                                      address_.to_string());
}

Prefix Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) throw_invalid("CIDR address", text);
  const auto len_text = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty() ||
      len_text.size() > 3)
    throw_invalid("CIDR address", text);
  IpAddress ip;
  try {
    ip = parse_ip_address(text.substr(0, slash));
  } catch (const Error&) {
    throw_invalid("CIDR address", text);
  }
  if (length > (ip.is_v4() ? 32u : 128u)) throw_invalid("CIDR address", text);
  return Prefix(std::move(ip), length);
}

Prefix Prefix::host(const IpAddress& address) {
  return Prefix(address, address.is_v4() ? 32 : 128);
}

IpAddress next_address(const IpAddress& ip) noexcept {
  auto increment = [](auto bytes) {
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it)
      if (++*it != 0) break;
    return bytes;
  };
  if (ip.is_v4()) return boost::asio::ip::address_v4(increment(ip.to_v4().to_bytes()));
  return boost::asio::ip::address_v6(increment(ip.to_v6().to_bytes()));
}

IpAddress Prefix::last_address() const {
  auto fill = [this](auto bytes) {
    unsigned bits = length_;
    for (auto& b : bytes) {
      if (bits >= 8) {
        bits -= 8;
      } else {
        b = static_cast<unsigned char>(b | (0xff >> bits));
        bits = 0;
      }
    }
    return bytes;
  };
  if (is_v4()) return boost::asio::ip::address_v4(fill(address_.to_v4().to_bytes()));
  return boost::asio::ip::address_v6(fill(address_.to_v6().to_bytes()));
}

Prefix Prefix::network() const {
  auto clear = [this](auto bytes) {
    unsigned bits = length_;
    for (auto& b : bytes) {
      if (bits >= 8) {
        bits -= 8;
      } else {
        b = static_cast<unsigned char>(b & (0xff << (8 - bits)));
        bits = 0;
      }
    }
    return bytes;
  };
  if (is_v4()) return Prefix(boost::asio::ip::address_v4(clear(address_.to_v4().to_bytes())), length_);
  return Prefix(boost::asio::ip::address_v6(clear(address_.to_v6().to_bytes())), length_);
}

bool Prefix::contains(const IpAddress& ip) const noexcept {
  return same_leading_bits(address_, ip, length_);
}

bool Prefix::overlaps(const Prefix& other) const noexcept {
  return same_leading_bits(address_, other.address_, std::min(length_, other.length_));
}

std::string Prefix::to_string() const {
  return address_.to_string() + "/" + std::to_string(length_);
}

MacAddress MacAddress::parse(std::string_view text) {
  std::array<std::uint8_t, 6> bytes{};
  if (text.size() != 17) throw_invalid("MAC address", text);
  for (size_t i = 0; i < 6; ++i) {
    const auto part = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') throw_invalid("MAC address", text);
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), bytes[i], 16);
    if (ec != std::errc() || end != part.data() + part.size()) throw_invalid("MAC address", text);
  }
  return MacAddress(bytes);
}

std::string MacAddress::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes_[0], bytes_[1], bytes_[2],
                bytes_[3], bytes_[4], bytes_[5]);
  return buf;
}

}  // namespace netcore::net
