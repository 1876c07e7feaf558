#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/ip.hpp"

// JSON for the net value types, as CNI writes them: addresses and prefixes as strings, MACs as
// "aa:bb:cc:dd:ee:ff". A value that is not a string throws Error(kDecodingFailure); a string that
// does not parse throws Error(kInvalidNetworkConfig) quoting it.
namespace nlohmann {

template <>
struct adl_serializer<boost::asio::ip::address> {
  static void to_json(json& j, const boost::asio::ip::address& ip);
  static void from_json(const json& j, boost::asio::ip::address& ip);
};

template <>
struct adl_serializer<netcore::net::Prefix> {
  static void to_json(json& j, const netcore::net::Prefix& prefix);
  static void from_json(const json& j, netcore::net::Prefix& prefix);
};

template <>
struct adl_serializer<netcore::net::MacAddress> {
  static void to_json(json& j, const netcore::net::MacAddress& mac);
  static void from_json(const json& j, netcore::net::MacAddress& mac);
};

}  // namespace nlohmann

namespace netcore::cni {

// Deepest nesting of arrays and objects accepted from outside (stdin, a delegated plugin).
inline constexpr std::size_t kMaxJsonDepth = 64;

// Parses untrusted JSON text. Nesting deeper than kMaxJsonDepth is refused before parsing, so
// hostile input cannot exhaust the stack of later recursive walks. Throws
// Error(kDecodingFailure, "decode <what>: <cause>").
[[nodiscard]] nlohmann::json parse_json(std::string_view text, std::string_view what);

// The compact text of a JSON value; invalid UTF-8 in strings is replaced, never thrown.
[[nodiscard]] std::string dump_json(const nlohmann::json& j);
// Writes dump_json(j) and a newline in one piece. Stream errors are the stream's business.
void print(std::ostream& out, const nlohmann::json& j);

namespace detail {

// The message of a nlohmann exception without its "[json.exception.x.N] " tag.
[[nodiscard]] std::string json_error_message(const std::exception& e);
[[noreturn]] void throw_wrong_type(std::string_view key, std::string_view expected,
                                   const nlohmann::json& j);

// j as T, strictly: integers must be JSON integers in T's range, strings strings, bools bools.
// Throws Error naming `key`: kDecodingFailure for a wrong type, or the serializer's own Error.
template <class T>
T get_field_value(const nlohmann::json& j, std::string_view key) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) throw_wrong_type(key, "a boolean", j);
    return j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (j.is_number_unsigned()) {
      const auto v = j.get<std::uint64_t>();
      if (v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(v);
    } else if (j.is_number_integer()) {
      const auto v = j.get<std::int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max())
          return static_cast<T>(v);
      } else if (v >= 0 && static_cast<std::uint64_t>(v) <=
                               static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        return static_cast<T>(v);
      }
    }
    throw_wrong_type(key, std::is_signed_v<T> ? "an integer" : "a non-negative integer", j);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) throw_wrong_type(key, "a string", j);
    return j.get<std::string>();
  } else {
    try {
      return j.get<T>();
    } catch (Error& e) {
      e.prefix(key);
      throw;
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kDecodingFailure, std::string(key) + ": " + json_error_message(e));
    }
  }
}

}  // namespace detail

// Runs fn and returns its value; an Error it throws gets `path` (the JSON path being read, e.g.
// "ipam.ranges[0][1]") as its prefix.
template <class Fn>
auto at_json_path(const std::string& path, Fn&& fn) {
  try {
    return fn();
  } catch (Error& e) {
    e.prefix(path);
    throw;
  }
}

// The value at j[key] as T, or nullopt when the key is absent or null. A wrong type or bad value
// throws Error naming the key (see detail::get_field_value); j that is not an object has no keys.
template <class T>
[[nodiscard]] std::optional<T> optional_field(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return detail::get_field_value<T>(*it, key);
}

// Like optional_field, but absent or null throws Error(kDecodingFailure, "missing field \"key\"").
template <class T>
[[nodiscard]] T required_field(const nlohmann::json& j, const std::string& key) {
  auto value = optional_field<T>(j, key);
  if (!value) throw Error(ErrorCode::kDecodingFailure, "missing field \"" + key + "\"");
  return *std::move(value);
}

// j[key] as a list of T (absent or null = empty); errors name the element ("routes[2]: ...").
template <class T>
[[nodiscard]] std::vector<T> array_field(const nlohmann::json& j, const std::string& key) {
  std::vector<T> out;
  if (!j.is_object()) return out;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) detail::throw_wrong_type(key, "an array", *it);
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i)
    out.push_back(detail::get_field_value<T>((*it)[i], key + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace netcore::cni
