#pragma once

#include <cstdint>
#include <netcore/net/tc.hpp>
#include <nlohmann/json.hpp>
#include <optional>

// The bandwidth plugin's configuration: the reference plugin's keys (rates in bits per second,
// bursts in bits) and how they become the kernel's tbf parameters. Pure functions; thread-safe.
namespace plugins::bandwidth {

// One direction's shaping as configured. rate == 0 (and then burst == 0) means "not shaped".
struct Shaping {
  std::uint64_t rate = 0;   // bits per second
  std::uint64_t burst = 0;  // bits
  [[nodiscard]] bool shaped() const noexcept { return rate != 0; }
  friend bool operator==(const Shaping&, const Shaping&) = default;
};

struct Config {
  Shaping ingress;  // ingressRate/ingressBurst: traffic to the container
  Shaping egress;   // egressRate/egressBurst: traffic from the container
  [[nodiscard]] bool shaped() const noexcept { return ingress.shaped() || egress.shaped(); }
};

// The reference's latency bound for the tbf queue: limit = rate × 25 ms + burst.
inline constexpr std::uint64_t kLatencyMicros = 25'000;

// Reads the four keys from the config, or, when none of them is present, from
// runtimeConfig.bandwidth (the reference's precedence: static values win). Throws Error:
//   kDecodingFailure (6)       a value that is not a non-negative integer
//   kUnsupportedField (2)      shapedSubnets / unshapedSubnets (in newer reference releases
//                              only; not built here)
//   kInvalidNetworkConfig (7)  a rate without a burst or the reverse; a burst of 4 GiB or more
//                              (the reference's bound); a rate below 8 bits/s; values the
//                              kernel interface through libnl cannot carry (a rate above
//                              17179869176 bits/s, a burst or queue limit above 2 GiB, a burst
//                              that takes longer than the psched clock can count at its rate)
[[nodiscard]] Config parse_config(const nlohmann::json& conf);

// The tbf for one shaped direction in kernel terms: rate/8 bytes per second, burst/8 bytes,
// limit = rate/8 × 25 ms + burst/8 bytes (truncated like the reference). Precondition: the
// direction passed parse_config.
[[nodiscard]] netcore::net::TbfSpec tbf_spec(const Shaping& shaping);

}  // namespace plugins::bandwidth
