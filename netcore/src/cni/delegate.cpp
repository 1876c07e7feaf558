#include "netcore/cni/delegate.hpp"

#include <sys/stat.h>

#include <sstream>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/cni/error_json.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/skel.hpp"
#include "netcore/proc/process.hpp"

namespace netcore::cni {
namespace {

constexpr std::size_t kMaxStderrDetails = 4096;

bool is_blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string trimmed(std::string_view s, std::size_t limit) {
  const auto end = s.find_last_not_of(" \t\r\n");
  s = end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
  if (s.size() > limit) return std::string(s.substr(0, limit)) + "...";
  return std::string(s);
}

// `text` with each NUL written as \0, for messages.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

Error failure(const std::filesystem::path& plugin, const proc::RunResult& run,
              const DelegateOptions& options) {
  if (run.timed_out)
    return Error(ErrorCode::kInternal, "netplugin " + plugin.string() + " timed out after " +
                                           std::to_string(options.timeout.count()) + " ms");
  if (is_blank(run.out)) {
    std::string details = plugin.string() + ": " + run.describe();
    if (!is_blank(run.err)) details += ": " + trimmed(run.err, kMaxStderrDetails);
    return Error(ErrorCode::kInternal, "netplugin failed with no error message",
                 std::move(details));
  }
  try {
    const auto doc = parse_json(run.out, "error");
    if (!doc.is_object()) throw Error(ErrorCode::kDecodingFailure, "not an object");
    return error_from_json(doc);
  } catch (const Error& e) {
    return Error(ErrorCode::kInternal,
                 "netplugin failed but error parsing its diagnostic message \"" +
                     trimmed(run.out, kMaxStderrDetails) + "\": " + e.msg());
  }
}

std::string delegate(const std::string& type, Command command, const CmdArgs& args,
                     const DelegateOptions& options) {
  return exec_plugin(find_plugin(type, args.path), command, args, options);
}

// The built-in plugin `plugin` names when `plugin` is this executable itself, else nullptr.
const PluginSpec* find_builtin(const std::filesystem::path& plugin, const CmdArgs& args) {
  if (!args.builtins) return nullptr;
  struct stat self{}, candidate{};
  if (::stat("/proc/self/exe", &self) != 0 || ::stat(plugin.c_str(), &candidate) != 0)
    return nullptr;
  if (self.st_dev != candidate.st_dev || self.st_ino != candidate.st_ino) return nullptr;
  return args.builtins(plugin.filename().string());
}

}  // namespace

// Besides the header's cases, a type containing a NUL is refused with kInvalidNetworkConfig.
std::filesystem::path find_plugin(const std::string& type, const std::vector<std::string>& dirs) {
  if (type.empty()) throw Error(ErrorCode::kInvalidNetworkConfig, "find plugin: no plugin name");
  // A NUL would end the path the kernel sees early: "host-local\0x" would run host-local.
  if (type.find('/') != std::string::npos || type.find('\0') != std::string::npos)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "find plugin: invalid plugin name \"" + printable(type) + "\"");
  std::string searched;
  for (const auto& dir : dirs) {
    if (!searched.empty()) searched += ' ';
    searched += dir;
    std::filesystem::path candidate = std::filesystem::path(dir) / type;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  throw Error(ErrorCode::kInternal,
              "failed to find plugin \"" + type + "\" in path [" + searched + "]");
}

std::string exec_plugin(const std::filesystem::path& plugin, Command command, const CmdArgs& args,
                        const DelegateOptions& options) {
  if (const PluginSpec* builtin = find_builtin(plugin, args)) {
    auto env = args.env;
    env["CNI_COMMAND"] = std::string(to_string(command));
    std::istringstream in(args.stdin_data);
    std::ostringstream out;
    std::ostringstream err;
    log::debug("delegate {} to {} (in-process)", to_string(command), plugin.string());
    proc::RunResult run;
    run.exit_code = run_plugin(*builtin, env, in, out, err);
    run.out = out.str();
    run.err = err.str();
    if (!run.succeeded()) throw failure(plugin, run, options);
    return std::move(run.out);
  }
  proc::RunRequest request{.program = plugin,
                           .args = {},
                           .env = args.env,
                           .input = args.stdin_data,
                           .timeout = options.timeout};
  request.env["CNI_COMMAND"] = std::string(to_string(command));
  log::debug("delegate {} to {}", to_string(command), plugin.string());
  auto run = proc::run(request);
  if (!run.succeeded() || run.timed_out) throw failure(plugin, run, options);
  if (!is_blank(run.err)) log::debug("{} stderr: {}", plugin.string(), trimmed(run.err, 4096));
  return std::move(run.out);
}

Result delegate_add(const std::string& type, const CmdArgs& args, const DelegateOptions& options) {
  const std::string out = delegate(type, Command::kAdd, args, options);
  try {
    return Result::from_json(parse_json(out, "result"), args.config_version);
  } catch (Error& e) {
    e.prefix("delegate " + type);
    throw;
  }
}

void delegate_del(const std::string& type, const CmdArgs& args, const DelegateOptions& options) {
  (void)delegate(type, Command::kDel, args, options);
}

void delegate_check(const std::string& type, const CmdArgs& args, const DelegateOptions& options) {
  (void)delegate(type, Command::kCheck, args, options);
}

void delegate_status(const std::string& type, const CmdArgs& args, const DelegateOptions& options) {
  (void)delegate(type, Command::kStatus, args, options);
}

void delegate_gc(const std::string& type, const CmdArgs& args, const DelegateOptions& options) {
  (void)delegate(type, Command::kGc, args, options);
}

}  // namespace netcore::cni
