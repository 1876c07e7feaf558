#include "netcore/cni/skel.hpp"

#include <sys/stat.h>

#include <csignal>

#include <iostream>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/base/log.hpp"
#include "netcore/cni/error_json.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/version.hpp"

// The build may pass the project version; this fallback keeps the about text meaningful.
#ifndef NSNET_VERSION
#define NSNET_VERSION "0.1.0"
#endif

namespace netcore::cni {
namespace {

std::vector<std::string> versions_of(const PluginSpec& spec) {
  return spec.versions.empty() ? all_spec_versions() : spec.versions;
}

void call(const std::function<void(const CmdArgs&)>& handler, const CmdArgs& args) {
  if (handler) handler(args);
}

bool is_true(const std::string& text) {
  return text == "1" || text == "true" || text == "TRUE" || text == "True";
}

// The Go library's skel refuses an ADD whose CNI_NETNS is the plugin's own network namespace
// (code 8), unless CNI_NETNS_OVERRIDE is true: "inside the container" would then be the host,
// reconfigured in its place. A path that is no namespace at all is left to the plugin to report.
void refuse_own_netns(const CmdArgs& args) {
  if (args.command != Command::kAdd || args.netns.empty()) return;
  if (const auto it = args.env.find("CNI_NETNS_OVERRIDE");
      it != args.env.end() && is_true(it->second))
    return;
  struct stat target {};
  struct stat own {};
  if (::stat(args.netns.c_str(), &target) != 0 || ::stat("/proc/thread-self/ns/net", &own) != 0)
    return;
  if (target.st_dev == own.st_dev && target.st_ino == own.st_ino)
    throw Error(ErrorCode::kInvalidNetns,
                "CNI_NETNS \"" + args.netns +
                    "\": plugin's netns and netns from CNI_NETNS should not be the same");
}

}  // namespace

std::string about_text(const PluginSpec& spec) {
  std::string text = "CNI " + spec.name + " plugin (nsnet " NSNET_VERSION ")\n";
  text += "CNI protocol versions supported: ";
  bool first = true;
  for (const auto& v : versions_of(spec)) {
    if (!first) text += ", ";
    text += v;
    first = false;
  }
  return text + "\n";
}

int run_plugin(const PluginSpec& spec, const Environment& env, std::istream& in, std::ostream& out,
               std::ostream& err) noexcept {
  std::string version(kLatestSpecVersion);  // the error document needs one too
  try {
    const auto versions = versions_of(spec);
    if (const auto it = env.find("CNI_COMMAND"); it == env.end() || it->second.empty()) {
      const std::string text = about_text(spec);
      err.write(text.data(), static_cast<std::streamsize>(text.size()));
      err.flush();
      return 0;
    }
    CmdArgs args = CmdArgs::parse(env, in, versions);
    args.builtins = spec.builtins;
    version = args.config_version;
    switch (args.command) {
      case Command::kVersion:
        print(out, {{"cniVersion", version}, {"supportedVersions", versions}});
        break;
      case Command::kAdd:
        if (!spec.add)
          throw Error(ErrorCode::kInvalidEnvironment,
                      "plugin " + spec.name + " does not support CNI_COMMAND ADD");
        refuse_own_netns(args);
        print(out, spec.add(args).to_json(version));
        break;
      case Command::kDel:
        call(spec.del, args);
        break;
      case Command::kCheck:
        call(spec.check, args);
        break;
      case Command::kStatus:
        call(spec.status, args);
        break;
      case Command::kGc:
        call(spec.gc, args);
        break;
    }
    return 0;
  } catch (...) {
    try {
      const Error error = to_error(std::current_exception());
      log::debug("{}: failed with code {}: {}", spec.name, static_cast<int>(error.code()),
                    error.what());
      print(out, error_json(version, error));
    } catch (...) {
      // Not even the error document could be written; the exit status still says it failed.
    }
  }
  return 1;
}

int plugin_main(const PluginSpec& spec) noexcept {
  // A delegated plugin that exits without reading its whole config must not kill us through
  // SIGPIPE; the failed write shows up as its error instead.
  std::signal(SIGPIPE, SIG_IGN);
  setup_logging(spec.name, "warn");
  Environment env;
  try {
    env = proc::current_environment();
  } catch (...) {
    try {
      print(std::cout,
            error_json(std::string(kLatestSpecVersion), to_error(std::current_exception())));
    } catch (...) {
      // As above: the exit status alone says it failed.
    }
    return 1;
  }
  return run_plugin(spec, env, std::cin, std::cout, std::cerr);
}

}  // namespace netcore::cni
