#include "netcore/cni/conflist.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "netcore/base/log.hpp"
#include "netcore/cni/delegate.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/version.hpp"

namespace netcore::cni {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// libcni reads these keys as bools or as the strings "true"/"false" (cni#877).
bool bool_key(const json& list, const std::string& key) {
  const auto it = list.find(key);
  if (it == list.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string() && (*it == "true" || *it == "false")) return *it == "true";
  throw_invalid_config("network list: \"" + key + "\" must be a bool");
}

// The highest version of "cniVersion" and "cniVersions" that nsnet speaks.
std::string negotiate_version(const json& list) {
  std::vector<std::string> offered;
  if (const auto it = list.find("cniVersion"); it != list.end() && !it->is_null()) {
    if (!it->is_string()) throw_invalid_config("network list: \"cniVersion\" must be a string");
    offered.push_back(it->get<std::string>());
  }
  if (const auto it = list.find("cniVersions"); it != list.end() && !it->is_null()) {
    if (!it->is_array()) throw_invalid_config("network list: \"cniVersions\" must be an array");
    for (const auto& v : *it) {
      if (!v.is_string()) throw_invalid_config("network list: \"cniVersions\" holds a non-string");
      offered.push_back(v.get<std::string>());
    }
  }
  if (offered.empty()) return std::string(kDefaultConfigVersion);
  std::optional<std::string> best;
  for (const auto& v : offered) {
    if (!is_known_version(v)) continue;  // newer (or unknown) versions are dropped
    if (!best || compare_versions(v, *best) > 0) best = v;
  }
  if (!best) {
    std::string all;
    for (const auto& v : offered) all += (all.empty() ? "" : ", ") + v;
    throw Error(ErrorCode::kIncompatibleVersion,
                "network list: no supported cniVersion among [" + all + "]");
  }
  return *best;
}

// The environment of one plugin call (spec §a2).
Environment plugin_env(const PluginRunner& runner, const RuntimeConf& rt, Command command) {
  Environment env = runner.env;
  env["CNI_COMMAND"] = std::string(to_string(command));
  std::string path;
  for (const auto& dir : runner.path) path += (path.empty() ? "" : ":") + dir;
  env["CNI_PATH"] = path;
  if (command == Command::kGc || command == Command::kStatus) return env;
  env["CNI_CONTAINERID"] = rt.container_id;
  env["CNI_NETNS"] = rt.netns;
  env["CNI_IFNAME"] = rt.ifname;
  std::string args;
  for (const auto& [key, value] : rt.args) args += (args.empty() ? "" : ";") + key + "=" + value;
  if (!args.empty()) env["CNI_ARGS"] = args;
  return env;
}

// Runs one plugin of the list; an error is prefixed with its type.
std::string invoke(const json& plugin, const json& config, const Environment& env,
                   Command command, const PluginRunner& runner) {
  const std::string type = plugin.at("type").get<std::string>();
  try {
    CmdArgs args;
    args.command = command;
    args.env = env;
    args.stdin_data = dump_json(config);
    return exec_plugin(find_plugin(type, runner.path), command, args, {.timeout = runner.timeout});
  } catch (Error& e) {
    e.prefix("plugin " + type);
    throw;
  }
}

json list_config_for(const NetworkList& list, const json& plugin) {
  json config = plugin;
  config["name"] = list.name;
  config["cniVersion"] = list.cni_version;
  return config;
}

}  // namespace

NetworkList NetworkList::parse(const std::string& text, bool is_single_plugin) {
  json doc = parse_json(text, "network list");
  if (!doc.is_object()) throw Error(ErrorCode::kDecodingFailure, "network list: not an object");
  NetworkList list;
  list.bytes = text;
  if (is_single_plugin) {
    // libcni's ConfListFromConf: the plugin config becomes the only plugin of a list that takes
    // the plugin's name and version, and the list's bytes are that list's JSON (what a result
    // cache entry records as "config").
    json wrapped = json::object();
    if (doc.contains("name")) wrapped["name"] = doc["name"];
    if (doc.contains("cniVersion")) wrapped["cniVersion"] = doc["cniVersion"];
    wrapped["plugins"] = json::array({doc});
    doc = std::move(wrapped);
    list.bytes = dump_json(doc);
  }
  const auto name = doc.find("name");
  if (name == doc.end() || !name->is_string() || !is_valid_cni_name(name->get<std::string>()))
    throw_invalid_config("network list: missing or invalid \"name\" (must match "
                         "^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$)");
  list.name = name->get<std::string>();
  list.cni_version = negotiate_version(doc);
  list.disable_check = bool_key(doc, "disableCheck");
  list.disable_gc = bool_key(doc, "disableGC");
  const auto plugins = doc.find("plugins");
  if (plugins == doc.end() || !plugins->is_array() || plugins->empty())
    throw_invalid_config("network list " + list.name + ": no \"plugins\"");
  for (std::size_t i = 0; i < plugins->size(); ++i) {
    const json& plugin = (*plugins)[i];
    const std::string where = "network list " + list.name + ": plugins[" + std::to_string(i) + "]";
    if (!plugin.is_object()) throw_invalid_config(where + ": not an object");
    const auto type = plugin.find("type");
    if (type == plugin.end() || !type->is_string() || type->get<std::string>().empty() ||
        type->get<std::string>().find('/') != std::string::npos)
      throw_invalid_config(where + ": missing or invalid \"type\"");
    list.plugins.push_back(plugin);
  }
  return list;
}

NetworkList NetworkList::load(const fs::path& file) {
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error& e) {
    throw Error(ErrorCode::kIoFailure, e.msg(), e.details());
  }
  const auto ext = file.extension();
  try {
    return parse(text, ext == ".conf" || ext == ".json");
  } catch (Error& e) {
    e.prefix(file.string());
    throw;
  }
}

std::optional<NetworkList> find_network(const fs::path& conf_dir, const std::string& name) {
  std::vector<fs::path> lists, singles;
  std::error_code ec;
  fs::directory_iterator it(conf_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
    throw Error(ErrorCode::kIoFailure, "read config dir " + conf_dir.string() + ": " + ec.message());
  }
  for (const auto& entry : it) {
    const auto ext = entry.path().extension();
    if (ext == ".conflist") lists.push_back(entry.path());
    if (ext == ".conf" || ext == ".json") singles.push_back(entry.path());
  }
  std::sort(lists.begin(), lists.end());
  std::sort(singles.begin(), singles.end());
  for (const auto* group : {&lists, &singles}) {
    for (const auto& file : *group) {
      try {
        auto list = NetworkList::load(file);
        if (list.name == name) return list;
      } catch (const Error& e) {
        log::debug("skipping {}: {}", file.string(), e.what());
      }
    }
  }
  return std::nullopt;
}

json plugin_config(const NetworkList& list, const json& plugin, const RuntimeConf& rt,
                   const std::optional<json>& prev_result) {
  json config = list_config_for(list, plugin);
  json runtime_config = json::object();
  if (const auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    for (const auto& [capability, wanted] : caps->items()) {
      if (!wanted.is_boolean() || !wanted.get<bool>()) continue;
      if (const auto arg = rt.capability_args.find(capability); arg != rt.capability_args.end())
        runtime_config[capability] = *arg;
    }
  }
  if (!runtime_config.empty()) config["runtimeConfig"] = std::move(runtime_config);
  if (prev_result) config["prevResult"] = *prev_result;
  return config;
}

Result add_network_list(const NetworkList& list, const RuntimeConf& rt,
                        const PluginRunner& runner) {
  const Environment env = plugin_env(runner, rt, Command::kAdd);
  std::optional<json> prev;
  Result result;
  for (const auto& plugin : list.plugins) {
    const std::string out =
        invoke(plugin, plugin_config(list, plugin, rt, prev), env, Command::kAdd, runner);
    try {
      result = Result::from_json(parse_json(out, "result"), list.cni_version);
    } catch (Error& e) {
      e.prefix("plugin " + plugin.at("type").get<std::string>());
      throw;
    }
    prev = result.to_json(list.cni_version);
  }
  return result;
}

void check_network_list(const NetworkList& list, const RuntimeConf& rt, const Result& prev,
                        const PluginRunner& runner) {
  if (list.disable_check || !supports_check(list.cni_version)) return;
  const Environment env = plugin_env(runner, rt, Command::kCheck);
  const json prev_json = prev.to_json(list.cni_version);
  for (const auto& plugin : list.plugins)
    (void)invoke(plugin, plugin_config(list, plugin, rt, prev_json), env, Command::kCheck, runner);
}

void del_network_list(const NetworkList& list, const RuntimeConf& rt,
                      const std::optional<Result>& prev, const PluginRunner& runner) {
  const Environment env = plugin_env(runner, rt, Command::kDel);
  std::optional<json> prev_json;
  if (prev && supports_check(list.cni_version)) prev_json = prev->to_json(list.cni_version);
  ErrorList errors;
  for (auto it = list.plugins.rbegin(); it != list.plugins.rend(); ++it) {
    errors.attempt([&] {
      (void)invoke(*it, plugin_config(list, *it, rt, prev_json), env, Command::kDel, runner);
    });
  }
  errors.throw_if_any("del network " + list.name);
}

void gc_network_list(const NetworkList& list, const std::vector<Attachment>& valid,
                     const PluginRunner& runner) {
  if (list.disable_gc || !supports_gc(list.cni_version)) return;
  const Environment env = plugin_env(runner, {}, Command::kGc);
  json attachments = json::array();
  for (const auto& a : valid)
    attachments.push_back({{"containerID", a.container_id}, {"ifname", a.ifname}});
  ErrorList errors;
  for (const auto& plugin : list.plugins) {
    json config = list_config_for(list, plugin);
    config["cni.dev/valid-attachments"] = attachments;
    config["cni.dev/attachments"] = attachments;
    errors.attempt([&] { (void)invoke(plugin, config, env, Command::kGc, runner); });
  }
  errors.throw_if_any("gc network " + list.name);
}

void status_network_list(const NetworkList& list, const PluginRunner& runner) {
  if (!supports_status(list.cni_version)) return;
  const Environment env = plugin_env(runner, {}, Command::kStatus);
  for (const auto& plugin : list.plugins)
    (void)invoke(plugin, list_config_for(list, plugin), env, Command::kStatus, runner);
}

}  // namespace netcore::cni
