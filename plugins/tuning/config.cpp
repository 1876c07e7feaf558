#include "config.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/state_dir.hpp>
#include <netcore/net/sysctl.hpp>

namespace plugins::tuning {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::throw_invalid_config;
using nlohmann::json;

namespace {

// Finds a key given twice in the "sysctl" object (top level or under args.cni). A parsed json
// keeps only the last of duplicate keys, so this walks the raw text with nlohmann's SAX
// interface. The reference refuses duplicates too: which value would win is otherwise unclear.
class DuplicateSysctlFinder final : public json::json_sax_t {
 public:
  bool null() override { return value(); }
  bool boolean(bool /*unused*/) override { return value(); }
  bool number_integer(number_integer_t /*unused*/) override { return value(); }
  bool number_unsigned(number_unsigned_t /*unused*/) override { return value(); }
  bool number_float(number_float_t /*unused*/, const string_t& /*unused*/) override {
    return value();
  }
  bool string(string_t& /*unused*/) override { return value(); }
  bool binary(binary_t& /*unused*/) override { return value(); }
  bool start_object(std::size_t /*unused*/) override { return open(true); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t /*unused*/) override { return open(false); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    Frame& frame = frames_.back();
    if ((frame.path == ".sysctl" || frame.path == ".args.cni.sysctl") &&
        !frame.keys.insert(key).second) {
      duplicate_ = key;
      return false;  // stops the parse
    }
    frame.pending_key = key;
    return true;
  }
  bool parse_error(std::size_t /*unused*/, const std::string& /*unused*/,
                   const nlohmann::detail::exception& /*unused*/) override {
    return false;  // CmdArgs::parse already accepted the text; nothing to report here
  }

  [[nodiscard]] const std::optional<std::string>& duplicate() const noexcept { return duplicate_; }

 private:
  struct Frame {
    bool object = false;
    std::string path;  // ".args.cni" for the object at config["args"]["cni"]
    std::string pending_key;
    std::set<std::string> keys;  // only filled for the sysctl objects
  };

  bool value() { return true; }
  bool open(bool object) {
    std::string path;
    if (!frames_.empty()) {
      const Frame& parent = frames_.back();
      path = parent.path + (parent.object ? "." + parent.pending_key : std::string("[]"));
    }
    frames_.push_back({.object = object, .path = std::move(path)});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

void reject_duplicate_sysctls(const std::string& text) {
  DuplicateSysctlFinder finder;
  (void)json::sax_parse(text, &finder);
  if (finder.duplicate())
    throw_invalid_config("sysctl: key \"" + *finder.duplicate() + "\" is given more than once");
}

// Copies the string entries of a sysctl object into `out` (later calls override earlier keys).
void read_sysctls(const json& object, const std::string& path,
                  std::map<std::string, std::string>& out) {
  if (object.is_null()) return;
  if (!object.is_object())
    throw netcore::Error(netcore::ErrorCode::kDecodingFailure,
                         path + ": must be an object of strings, not " + object.type_name());
  for (const auto& item : object.items()) {
    const std::string& name = item.key();
    out[name] =
        cni::at_json_path(path, [&] { return cni::required_field<std::string>(object, name); });
  }
}

net::MacAddress parse_mac(const std::string& text, const std::string& key) {
  const auto mac = cni::at_json_path(key, [&] { return net::MacAddress::parse(text); });
  if ((mac.bytes()[0] & 0x01) != 0)
    throw_invalid_config(key + ": " + text + " is a multicast address");
  if (mac == net::MacAddress{}) throw_invalid_config(key + ": " + text + " is all zero");
  return mac;
}

std::optional<unsigned> parse_mtu(std::optional<unsigned> mtu, const std::string& key) {
  if (!mtu || *mtu == 0) return std::nullopt;  // the reference's "not set"
  if (*mtu < 68 || *mtu > 65535)
    throw_invalid_config(key + ": " + std::to_string(*mtu) + " is out of range (68-65535)");
  return mtu;
}

// args.cni's value when present, else the top level's.
template <class T>
std::optional<T> arg_or_top(const cni::CmdArgs& args, const std::string& key) {
  if (auto value = args.args_field<T>(key)) return value;
  return cni::optional_field<T>(args.config, key);
}

}  // namespace

std::string resolve_sysctl_key(const std::string& name, const std::string& ifname) {
  std::string key = name;
  for (char& c : key)
    if (c == '.') c = '/';
  if (const auto at = key.find("IFNAME"); at != std::string::npos) key.replace(at, 6, ifname);
  try {
    (void)net::sysctl_path(key);
  } catch (netcore::Error& e) {
    e.prefix("sysctl \"" + name + "\"");
    throw;
  }
  return key;
}

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  reject_duplicate_sysctls(args.stdin_data);
  std::map<std::string, std::string> sysctls;
  if (const auto it = conf.find("sysctl"); it != conf.end()) read_sysctls(*it, "sysctl", sysctls);
  if (const auto it = args.args_cni().find("sysctl"); it != args.args_cni().end())
    read_sysctls(*it, "args.cni.sysctl", sysctls);
  for (auto& [name, value] : sysctls)
    config.sysctls.push_back(
        {.name = name, .key = resolve_sysctl_key(name, args.ifname), .value = std::move(value)});

  args.cni_args().check_known({"MAC"});
  if (const auto mac = args.args_field<std::string>("mac"); mac && !mac->empty()) {
    config.mac = parse_mac(*mac, "args.cni.mac");
  } else if (const auto rt = args.runtime_config_field<std::string>("mac"); rt && !rt->empty()) {
    config.mac = parse_mac(*rt, "runtimeConfig.mac");
  } else if (const auto env = args.cni_args().find("MAC"); env && !env->empty()) {
    config.mac = parse_mac(*env, "CNI_ARGS MAC");
  } else if (const auto top = cni::optional_field<std::string>(conf, "mac"); top && !top->empty()) {
    config.mac = parse_mac(*top, "mac");
  }

  if (const auto mtu = args.args_field<unsigned>("mtu")) {
    config.mtu = parse_mtu(mtu, "args.cni.mtu");
  } else {
    config.mtu = parse_mtu(cni::optional_field<unsigned>(conf, "mtu"), "mtu");
  }
  config.promisc = arg_or_top<bool>(args, "promisc");
  config.allmulti = arg_or_top<bool>(args, "allmulti");
  config.txqlen = arg_or_top<std::uint32_t>(args, "txQLen");
  config.data_dir = parse_data_dir(args);
  return config;
}

std::filesystem::path parse_data_dir(const cni::CmdArgs& args) {
  return cni::optional_dir_field(args.config, "dataDir").value_or(kDefaultDataDir);
}

void check_allowlist(const std::vector<SysctlSetting>& sysctls, std::string_view allowlist,
                     const std::string& source) {
  std::vector<std::pair<std::string, std::regex>> patterns;
  std::size_t start = 0;
  while (start < allowlist.size()) {
    auto end = allowlist.find('\n', start);
    if (end == std::string_view::npos) end = allowlist.size();
    std::string line(allowlist.substr(start, end - start));
    start = end + 1;
    const auto first = line.find_first_not_of(" \t\r\f\v");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r\f\v") - first + 1);
    try {
      patterns.emplace_back(line, std::regex(line, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      throw_invalid_config("sysctl allowlist " + source + ": invalid pattern \"" + line +
                           "\": " + e.what());
    }
  }
  for (const auto& sysctl : sysctls) {
    const bool allowed = std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) {
      return std::regex_search(sysctl.name, p.second);
    });
    if (!allowed)
      throw_invalid_config("sysctl \"" + sysctl.name + "\" is not allowed by " + source);
  }
}

void check_system_allowlist(const std::vector<SysctlSetting>& sysctls) {
  if (sysctls.empty()) return;
  if (const auto text = netcore::find_file_content(kAllowlistPath))
    check_allowlist(sysctls, *text, kAllowlistPath.string());
}

}  // namespace plugins::tuning
