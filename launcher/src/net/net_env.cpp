#include "net/net_env.hpp"

#include <openssl/sha.h>

#include <cstdlib>
#include <filesystem>

#include <netcore/base/error.hpp>
#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/json.hpp>

namespace nsnet::net {

namespace cni = netcore::cni;
namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;

std::vector<std::pair<std::string, std::string>> parse_cni_args(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> args;
  while (true) {
    const auto semicolon = text.find(';');
    const std::string_view pair = text.substr(0, semicolon);
    const auto equals = pair.find('=');
    if (equals == 0 || equals == std::string_view::npos || equals + 1 == pair.size() ||
        pair.find('=', equals + 1) != std::string_view::npos)
      throw Error(ErrorCode::kInvalidEnvironment,
                  "invalid CNI_ARGS pair \"" + std::string(pair) + "\" (want KEY=VALUE;...)");
    args.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
  return args;
}

nlohmann::json parse_capability_args(std::string_view text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json args;
  try {
    args = cni::parse_json(text, "CAP_ARGS");
  } catch (const Error& e) {
    throw Error(ErrorCode::kDecodingFailure, e.msg());
  }
  if (args.is_null()) return nlohmann::json::object();
  if (!args.is_object())
    throw Error(ErrorCode::kInvalidEnvironment, "CAP_ARGS: not a JSON object");
  return args;
}

std::string absolute_netns_path(const std::string& path) {
  if (path.empty()) return path;
  fs::path joined = fs::path(path).is_absolute() ? fs::path(path) : fs::current_path() / path;
  std::string clean = joined.lexically_normal().string();
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return clean;
}

std::string cnitool_container_id(std::string_view netns_path) {
  unsigned char digest[SHA512_DIGEST_LENGTH];
  ::SHA512(reinterpret_cast<const unsigned char*>(netns_path.data()), netns_path.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "cnitool-";
  for (int i = 0; i < 10; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}

NetEnv NetEnv::from_process() {
  const auto get = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  return {.container_id = get("CNI_CONTAINERID"),
          .ifname = get("CNI_IFNAME"),
          .cni_args = get("CNI_ARGS"),
          .cap_args = get("CAP_ARGS")};
}

cni::RuntimeConf runtime_conf(const NetEnv& env, const std::string& netns_path) {
  cni::RuntimeConf rt;
  rt.netns = absolute_netns_path(netns_path);
  if (env.container_id && !env.container_id->empty()) {
    rt.container_id = *env.container_id;
  } else if (rt.netns.empty()) {
    throw Error(ErrorCode::kInvalidEnvironment,
                "no netns path to derive the container ID from: set CNI_CONTAINERID");
  } else {
    rt.container_id = cnitool_container_id(rt.netns);
  }
  if (!cni::is_valid_cni_name(rt.container_id))
    throw Error(ErrorCode::kInvalidEnvironment,
                "invalid CNI_CONTAINERID \"" + rt.container_id +
                    "\": must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  rt.ifname = env.ifname && !env.ifname->empty() ? *env.ifname : "eth0";
  if (env.cni_args && !env.cni_args->empty()) rt.args = parse_cni_args(*env.cni_args);
  if (env.cap_args) rt.capability_args = parse_capability_args(*env.cap_args);
  return rt;
}

}  // namespace nsnet::net
