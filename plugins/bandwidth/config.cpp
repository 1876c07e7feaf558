#include "bandwidth/config.hpp"

#include <limits>
#include <netcore/base/error.hpp>
#include <string>

namespace plugins::bandwidth {
namespace {

using netcore::Error;
using netcore::ErrorCode;

constexpr const char* kKeys[] = {"ingressRate", "ingressBurst", "egressRate", "egressBurst"};
// The reference refuses a burst whose byte count does not fit in 32 bits.
constexpr std::uint64_t kMaxBurstBytes = std::numeric_limits<std::uint32_t>::max();

std::uint64_t read_value(const nlohmann::json& j, const std::string& key, const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  // Built in code rather than parsed, a positive integer may be stored signed.
  const bool non_negative =
      it->is_number_unsigned() || (it->is_number_integer() && it->get<std::int64_t>() >= 0);
  if (!non_negative)
    throw Error(ErrorCode::kDecodingFailure,
                "bandwidth: " + path + key + " must be a non-negative integer, not " + it->dump());
  return it->get<std::uint64_t>();
}

bool has_any_key(const nlohmann::json& j) {
  for (const char* key : kKeys)
    if (j.contains(key)) return true;
  return false;
}

Shaping read_direction(const nlohmann::json& j, const std::string& prefix,
                       const std::string& path) {
  Shaping s{read_value(j, prefix + "Rate", path), read_value(j, prefix + "Burst", path)};
  const std::string rate_key = path + prefix + "Rate";
  const std::string burst_key = path + prefix + "Burst";
  if (s.rate != 0 && s.burst == 0)
    netcore::throw_invalid_config("bandwidth: " + rate_key + " is set, so " + burst_key +
                                  " must be set too");
  if (s.rate == 0 && s.burst != 0)
    netcore::throw_invalid_config("bandwidth: " + burst_key + " is set, so " + rate_key +
                                  " must be set too");
  if (!s.shaped()) return s;
  if (s.burst / 8 >= kMaxBurstBytes)
    netcore::throw_invalid_config("bandwidth: " + burst_key + " must be below 4 GiB (" +
                                  std::to_string(kMaxBurstBytes * 8) + " bits)");
  if (s.rate < 8)
    netcore::throw_invalid_config("bandwidth: " + rate_key + " must be at least 8 bits/s");
  if (s.burst < 8)
    netcore::throw_invalid_config("bandwidth: " + burst_key + " must be at least 8 bits");
  if (s.rate / 8 > netcore::net::kMaxTbfValue)
    netcore::throw_invalid_config("bandwidth: " + rate_key + " above " +
                                  std::to_string(netcore::net::kMaxTbfValue * 8) +
                                  " bits/s is not supported");
  const auto tbf = tbf_spec(s);
  if (tbf.burst > netcore::net::kMaxTbfValue || tbf.limit > netcore::net::kMaxTbfValue)
    netcore::throw_invalid_config("bandwidth: " + burst_key + " gives a queue above " +
                                  std::to_string(netcore::net::kMaxTbfValue) +
                                  " bytes, which is not supported");
  // The kernel stores the bucket as the time it takes to send at the rate, in psched ticks
  // (u32, 15.625 per microsecond here); libnl computes the microseconds as an int first.
  const double micros = static_cast<double>(tbf.burst) * 1e6 / static_cast<double>(tbf.rate);
  if (micros > static_cast<double>(std::numeric_limits<std::int32_t>::max()) / 16)
    netcore::throw_invalid_config(
        "bandwidth: " + burst_key + " takes more than " +
        std::to_string(std::numeric_limits<std::int32_t>::max() / 16 / 1'000'000) +
        " s to send at " + rate_key + ", too long for the kernel's tbf");
  return s;
}

Config read_config(const nlohmann::json& j, const std::string& path) {
  for (const char* key : {"shapedSubnets", "unshapedSubnets"}) {
    if (const auto it = j.find(key); it != j.end() && !it->is_null())
      throw Error(ErrorCode::kUnsupportedField,
                  "bandwidth: " + path + key + " is not supported by nsnet's bandwidth plugin");
  }
  return {read_direction(j, "ingress", path), read_direction(j, "egress", path)};
}

}  // namespace

Config parse_config(const nlohmann::json& conf) {
  // shapedSubnets/unshapedSubnets are refused wherever they appear, even when unused.
  Config config = read_config(conf, "");
  const auto runtime = conf.find("runtimeConfig");
  if (runtime == conf.end() || runtime->is_null()) return config;
  if (!runtime->is_object())
    throw Error(ErrorCode::kDecodingFailure, "bandwidth: runtimeConfig must be an object");
  const auto bandwidth = runtime->find("bandwidth");
  if (bandwidth == runtime->end() || bandwidth->is_null()) return config;
  if (!bandwidth->is_object())
    throw Error(ErrorCode::kDecodingFailure,
                "bandwidth: runtimeConfig.bandwidth must be an object");
  const Config runtime_config = read_config(*bandwidth, "runtimeConfig.bandwidth.");
  if (has_any_key(conf)) return config;  // static values win, as in the reference
  return runtime_config;
}

netcore::net::TbfSpec tbf_spec(const Shaping& shaping) {
  return netcore::net::tbf_with_latency(shaping.rate / 8, shaping.burst / 8, kLatencyMicros);
}

}  // namespace plugins::bandwidth
