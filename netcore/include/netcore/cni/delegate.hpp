#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/cni/types.hpp"

// Running a delegated plugin (an IPAM plugin under a main plugin), as the reference's pkg/invoke
// does: the delegate gets the complete stdin config unchanged and the same environment with
// CNI_COMMAND set (spec §a4).
namespace netcore::cni {

struct DelegateOptions {
  std::chrono::milliseconds timeout{0};  // 0 = wait forever; else the delegate is killed
};

// The first regular file (symlinks followed) named `type` in `dirs`, in order. Throws
// Error(kInvalidNetworkConfig) for an empty type or one containing '/', and
// Error(kInternal, `failed to find plugin "X" in path [/a /b]`) when there is none.
[[nodiscard]] std::filesystem::path find_plugin(const std::string& type,
                                                const std::vector<std::string>& dirs);

// Runs the plugin at `plugin` for `command` with args.stdin_data on stdin and args.env (with
// CNI_COMMAND replaced); returns its stdout. When `plugin` is this very executable (the
// multi-call binary under another name) and args.builtins knows its name, the plugin runs
// in-process through the same protocol — the same env, stdin and stdout, parsed the same way —
// and saves an exec; the timeout does not apply then.
// Throws, when the plugin fails, an Error carrying the plugin's own code, msg and details from its
// error document; Error(kInternal, "netplugin failed with no error message", <exit status and
// stderr>) when it printed nothing; Error(kInternal) when it timed out, printed something else,
// or could not be started.
[[nodiscard]] std::string exec_plugin(const std::filesystem::path& plugin, Command command,
                                      const CmdArgs& args, const DelegateOptions& options = {});

// find_plugin(type, args.path) + exec_plugin. delegate_add parses the delegate's result with
// args.config_version (Error(kDecodingFailure) prefixed "delegate <type>" when it is bad).
[[nodiscard]] Result delegate_add(const std::string& type, const CmdArgs& args,
                                  const DelegateOptions& options = {});
void delegate_del(const std::string& type, const CmdArgs& args,
                  const DelegateOptions& options = {});
void delegate_check(const std::string& type, const CmdArgs& args,
                    const DelegateOptions& options = {});
void delegate_status(const std::string& type, const CmdArgs& args,
                     const DelegateOptions& options = {});
void delegate_gc(const std::string& type, const CmdArgs& args, const DelegateOptions& options = {});

}  // namespace netcore::cni
