#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/cni/types.hpp"

namespace netcore::cni {

// What a plugin binary is: its name and its command handlers. Handlers throw Error (any other
// exception becomes code 999). An empty handler means:
//   add                  the plugin cannot ADD: Error(kInvalidEnvironment, "... does not support
//                        CNI_COMMAND ADD") -- a runtime needs a result, so success would lie;
//   del                  nothing to undo: success, no output (as the reference skel does);
//   check, status, gc    success, no output (the reference skel's answer for a nil function).
struct PluginSpec {
  std::string name;
  std::function<Result(const CmdArgs&)> add;
  std::function<void(const CmdArgs&)> del, check, status, gc;
  std::vector<std::string> versions;  // the spec versions supported; empty = all of kSpecVersions
  // The other plugins of the same executable: a delegation to one of them found on CNI_PATH as
  // this very executable runs in-process (passed on to CmdArgs::builtins).
  BuiltinPlugins builtins;
};

// The testable core of a plugin binary (STYLE §3.7). With CNI_COMMAND unset it writes the about
// text to `err` and returns 0. Otherwise `out` receives exactly one JSON document or nothing:
// the ADD result in the config's version, the VERSION answer, or on any failure the error
// document (exit code 1); DEL/CHECK/STATUS/GC success writes nothing. Returns the exit code.
// VERSION ignores the environment and answers {"cniVersion": <stdin's cniVersion if supported,
// else the newest supported>, "supportedVersions": [...]}.
[[nodiscard]] int run_plugin(const PluginSpec& spec, const Environment& env, std::istream& in,
                             std::ostream& out, std::ostream& err) noexcept;

// "CNI <name> plugin (nsnet <version>)\nCNI protocol versions supported: 0.1.0, ...\n"
[[nodiscard]] std::string about_text(const PluginSpec& spec);

// main() of a plugin: installs stderr logging (NSNET_LOG_LEVEL, default warn), then runs
// run_plugin on the process's environment, stdin, stdout and stderr.
[[nodiscard]] int plugin_main(const PluginSpec& spec) noexcept;

}  // namespace netcore::cni
