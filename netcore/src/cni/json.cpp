#include "netcore/cni/json.hpp"

namespace netcore::cni {
namespace {

[[noreturn]] void throw_not_string(std::string_view what, const nlohmann::json& j) {
  throw Error(ErrorCode::kDecodingFailure,
              std::string("expected a string for ") + std::string(what) + ", got " + j.type_name());
}

// Counts the nesting of arrays and objects outside strings; no validation beyond that (the parser
// does it). Stops at the first level past `max_depth`.
bool nesting_within(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, std::string_view what) {
  const std::string context = "decode " + std::string(what);
  if (!nesting_within(text, kMaxJsonDepth))
    throw Error(ErrorCode::kDecodingFailure,
                context + ": nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kDecodingFailure, context + ": " + detail::json_error_message(e));
  }
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(4, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print(std::ostream& out, const nlohmann::json& j) {
  std::string text = dump_json(j);
  text += '\n';
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
}

namespace detail {

std::string json_error_message(const std::exception& e) {
  std::string_view text = e.what();
  if (text.starts_with("[json.exception.")) {
    const auto end = text.find("] ");
    if (end != std::string_view::npos) text.remove_prefix(end + 2);
  }
  return std::string(text);
}

void throw_wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& j) {
  throw Error(ErrorCode::kDecodingFailure,
              std::string(key) + ": expected " + std::string(expected) + ", got " + j.type_name());
}

}  // namespace detail
}  // namespace netcore::cni

namespace nlohmann {

void adl_serializer<boost::asio::ip::address>::to_json(json& j,
                                                       const boost::asio::ip::address& ip) {
  j = ip.to_string();
}

void adl_serializer<boost::asio::ip::address>::from_json(const json& j,
                                                         boost::asio::ip::address& ip) {
  if (!j.is_string()) netcore::cni::throw_not_string("IP address", j);
  ip = netcore::net::parse_ip_address(j.get_ref<const std::string&>());
}

void adl_serializer<netcore::net::Prefix>::to_json(json& j, const netcore::net::Prefix& prefix) {
  j = prefix.to_string();
}

void adl_serializer<netcore::net::Prefix>::from_json(const json& j, netcore::net::Prefix& prefix) {
  if (!j.is_string()) netcore::cni::throw_not_string("CIDR address", j);
  prefix = netcore::net::Prefix::parse(j.get_ref<const std::string&>());
}

void adl_serializer<netcore::net::MacAddress>::to_json(json& j,
                                                       const netcore::net::MacAddress& mac) {
  j = mac.to_string();
}

void adl_serializer<netcore::net::MacAddress>::from_json(const json& j,
                                                         netcore::net::MacAddress& mac) {
  if (!j.is_string()) netcore::cni::throw_not_string("MAC address", j);
  mac = netcore::net::MacAddress::parse(j.get_ref<const std::string&>());
}

}  // namespace nlohmann
