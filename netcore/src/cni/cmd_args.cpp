#include "netcore/cni/cmd_args.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "netcore/base/log.hpp"

#include "netcore/cni/version.hpp"

namespace netcore::cni {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIfnameBytes = 15;  // IFNAMSIZ - 1

struct CommandName {
  Command command;
  std::string_view name;
};
constexpr std::array<CommandName, 6> kCommands = {{{Command::kAdd, "ADD"},
                                                   {Command::kDel, "DEL"},
                                                   {Command::kCheck, "CHECK"},
                                                   {Command::kStatus, "STATUS"},
                                                   {Command::kGc, "GC"},
                                                   {Command::kVersion, "VERSION"}}};

// Which commands require a variable, as the reference skel has it (spec §a2): CNI_PATH for all
// but VERSION; CNI_NETNS not for DEL.
struct RequiredVar {
  std::string_view name;
  bool add, del, check, status, gc;
  [[nodiscard]] bool required_for(Command c) const noexcept {
    switch (c) {
      case Command::kAdd:
        return add;
      case Command::kDel:
        return del;
      case Command::kCheck:
        return check;
      case Command::kStatus:
        return status;
      case Command::kGc:
        return gc;
      case Command::kVersion:
        return false;
    }
    return false;
  }
};
constexpr std::array<RequiredVar, 4> kRequiredVars = {{
    {"CNI_CONTAINERID", true, true, true, false, false},
    {"CNI_NETNS", true, false, true, false, false},
    {"CNI_IFNAME", true, true, true, false, false},
    {"CNI_PATH", true, true, true, true, true},
}};

std::string get_env(const Environment& env, std::string_view name) {
  const auto it = env.find(std::string(name));
  return it == env.end() ? std::string() : it->second;
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}


// Length in bytes of a whitespace character (Go's unicode.IsSpace) starting at s[i], or 0.
std::size_t space_at(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  const unsigned b0 = byte(0);
  if (b0 == ' ' || (b0 >= '\t' && b0 <= '\r')) return 1;
  if (b0 == 0xc2 && (byte(1) == 0x85 || byte(1) == 0xa0)) return 2;  // U+0085, U+00A0
  if (b0 == 0xe1 && byte(1) == 0x9a && byte(2) == 0x80) return 3;    // U+1680
  if (b0 == 0xe2 && byte(1) == 0x80) {                               // U+2000..200A, 2028,
    const unsigned b2 = byte(2);                                     // 2029, 202F
    if ((b2 >= 0x80 && b2 <= 0x8a) || b2 == 0xa8 || b2 == 0xa9 || b2 == 0xaf) return 3;
  }
  if (b0 == 0xe2 && byte(1) == 0x81 && byte(2) == 0x9f) return 3;  // U+205F
  if (b0 == 0xe3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;  // U+3000
  return 0;
}

void validate_container_id(const std::string& id) {
  if (!is_valid_cni_name(id))
    throw Error(
        ErrorCode::kInvalidEnvironment,
        "invalid CNI_CONTAINERID \"" + id + "\": must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
}

void validate_ifname(const std::string& name) {
  const auto fail = [&](std::string_view cause) {
    throw Error(ErrorCode::kInvalidEnvironment,
                "invalid CNI_IFNAME \"" + name + "\": " + std::string(cause));
  };
  if (name.size() > kMaxIfnameBytes) fail("longer than 15 bytes");
  if (name == "." || name == "..") fail("is . or ..");
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '/' || name[i] == ':' || space_at(name, i) != 0)
      fail("contains / or : or whitespace");
  }
}


// ["0.1.0" "0.2.0"], as the reference's %q prints a list.
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ' ';
    out += '"' + item + '"';
  }
  return out + "]";
}

void check_version(const CmdArgs& args, const std::vector<std::string>& supported) {
  const auto& version = args.config_version;
  const auto gate = [&](bool allowed, std::string_view what) {
    if (parse_spec_version(version) && !allowed)
      throw Error(ErrorCode::kIncompatibleVersion,
                  "config version does not allow " + std::string(what),
                  "config is \"" + version + "\"");
  };
  if (args.command == Command::kCheck) gate(supports_check(version), "CHECK");
  if (args.command == Command::kGc) gate(supports_gc(version), "GC");
  if (args.command == Command::kStatus) gate(supports_status(version), "STATUS");
  if (std::find(supported.begin(), supported.end(), version) == supported.end())
    throw Error(ErrorCode::kIncompatibleVersion, "incompatible CNI versions",
                "config is \"" + version + "\", plugin supports " + quoted_list(supported));
}

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

const json& object_at(const json& j, const std::string& key) {
  const auto it = j.is_object() ? j.find(key) : j.end();
  if (!j.is_object() || it == j.end() || it->is_null()) return empty_object();
  if (!it->is_object()) detail::throw_wrong_type(key, "an object", *it);
  return *it;
}

std::string newest_version(const std::vector<std::string>& versions) {
  std::string newest(kLatestSpecVersion);
  std::optional<SpecVersion> best;
  for (const auto& v : versions) {
    const auto parsed = parse_spec_version(v);
    if (parsed && (!best || *parsed > *best)) {
      best = parsed;
      newest = v;
    }
  }
  return newest;
}

// VERSION answers whatever it can: no error past the command check.
void parse_version_request(CmdArgs& args, std::istream& in,
                           const std::vector<std::string>& supported) {
  args.config_version = newest_version(supported);
  try {
    args.stdin_data = read_bounded(in);
    args.config = parse_json(args.stdin_data, "network config");
    const auto version = optional_field<std::string>(args.config, "cniVersion");
    if (version && std::find(supported.begin(), supported.end(), *version) != supported.end())
      args.config_version = *version;
  } catch (const Error& e) {
    log::debug("VERSION: ignoring stdin: {}", e.what());
  }
}

}  // namespace

std::vector<std::string> split_path(std::string_view text) {
  std::vector<std::string> dirs;
  while (!text.empty()) {
    const auto colon = text.find(':');
    if (const auto dir = text.substr(0, colon); !dir.empty()) dirs.emplace_back(dir);
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
  }
  return dirs;
}

bool is_valid_cni_name(std::string_view s) noexcept {
  if (s.empty() || !is_alnum(s.front())) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::optional<Command> parse_command(std::string_view text) noexcept {
  for (const auto& c : kCommands)
    if (c.name == text) return c.command;
  return std::nullopt;
}

std::string_view to_string(Command command) noexcept {
  for (const auto& c : kCommands)
    if (c.command == command) return c.name;
  return "?";
}

std::string read_bounded(std::istream& in, std::size_t limit) {
  std::string data;
  std::array<char, std::size_t{64} * 1024> chunk;
  while (in) {
    in.read(chunk.data(), chunk.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    if (data.size() + n > limit)
      throw Error(ErrorCode::kIoFailure,
                  "read stdin: network config larger than " + std::to_string(limit) + " bytes");
    data.append(chunk.data(), n);
  }
  if (in.bad()) throw Error(ErrorCode::kIoFailure, "read stdin: stream error");
  return data;
}

CmdArgs CmdArgs::parse(const Environment& env, std::istream& in,
                       const std::vector<std::string>& supported_versions) {
  const std::vector<std::string> supported =
      supported_versions.empty() ? all_spec_versions() : supported_versions;

  CmdArgs args;
  const std::string command = get_env(env, "CNI_COMMAND");
  if (command.empty())
    throw Error(ErrorCode::kInvalidEnvironment, "required env variables [CNI_COMMAND] missing");
  const auto parsed = parse_command(command);
  if (!parsed) throw Error(ErrorCode::kInvalidEnvironment, "unknown CNI_COMMAND: " + command);
  args.command = *parsed;
  args.env = env;
  if (args.command == Command::kVersion) {
    parse_version_request(args, in, supported);
    return args;
  }

  std::string missing;
  for (const auto& var : kRequiredVars) {
    if (var.required_for(args.command) && get_env(env, var.name).empty()) {
      if (!missing.empty()) missing += ',';
      missing += var.name;
    }
  }
  if (!missing.empty())
    throw Error(ErrorCode::kInvalidEnvironment, "required env variables [" + missing + "] missing");

  args.container_id = get_env(env, "CNI_CONTAINERID");
  args.netns = get_env(env, "CNI_NETNS");
  args.ifname = get_env(env, "CNI_IFNAME");
  args.args = get_env(env, "CNI_ARGS");
  args.path = split_path(get_env(env, "CNI_PATH"));
  if (args.command == Command::kAdd || args.command == Command::kDel ||
      args.command == Command::kCheck) {
    validate_container_id(args.container_id);
    validate_ifname(args.ifname);
  }

  args.stdin_data = read_bounded(in);
  args.config = parse_json(args.stdin_data, "network config");
  try {
    if (!args.config.is_object())
      throw Error(ErrorCode::kDecodingFailure,
                  std::string("expected an object, got ") + args.config.type_name());
    args.config_version = optional_field<std::string>(args.config, "cniVersion").value_or("");
    if (args.config_version.empty()) args.config_version = kDefaultConfigVersion;
    args.network_name = optional_field<std::string>(args.config, "name").value_or("");
  } catch (Error& e) {
    e.prefix("decode network config");
    throw;
  }
  if (args.network_name.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig, "missing network name");
  if (!is_valid_cni_name(args.network_name))
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "invalid network name \"" + args.network_name +
                    "\": must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  check_version(args, supported);
  log::debug("{} container {} ifname {} netns {} network {} version {}", command,
                args.container_id, args.ifname, args.netns, args.network_name, args.config_version);
  return args;
}

std::optional<Result> CmdArgs::prev_result() const {
  const auto it = config.is_object() ? config.find("prevResult") : config.end();
  if (!config.is_object() || it == config.end() || it->is_null()) return std::nullopt;
  try {
    return Result::from_json(*it, config_version);
  } catch (Error& e) {
    e.prefix("prevResult");
    throw;
  }
}

const json& CmdArgs::runtime_config() const { return object_at(config, "runtimeConfig"); }

const json& CmdArgs::args_cni() const {
  const json& args_object = object_at(config, "args");
  try {
    return object_at(args_object, "cni");
  } catch (Error& e) {
    e.prefix("args");
    throw;
  }
}

CniArgs CmdArgs::cni_args() const { return CniArgs::parse(args); }

std::optional<std::vector<Attachment>> CmdArgs::valid_attachments() const {
  for (const std::string key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    const auto entries = optional_field<json>(config, key);
    if (!entries) continue;
    if (!entries->is_array()) detail::throw_wrong_type(key, "an array", *entries);
    std::vector<Attachment> out;
    out.reserve(entries->size());
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const auto& entry = (*entries)[i];
      try {
        out.push_back({.container_id = required_field<std::string>(entry, "containerID"),
                       .ifname = required_field<std::string>(entry, "ifname")});
      } catch (Error& e) {
        e.prefix(key + "[" + std::to_string(i) + "]");
        throw;
      }
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace netcore::cni
