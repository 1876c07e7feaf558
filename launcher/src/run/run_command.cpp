// nsnet run: parse, spawn the namespaced child, wire its networks, start it, wait, tear down.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/cni/runtime.hpp>

#include "cni_setup.hpp"
#include "commands.hpp"
#include "run/container_process.hpp"
#include "run/etc_files.hpp"
#include "run/id_map.hpp"
#include "run/publish.hpp"
#include "run/run_options.hpp"
#include "run/user_mode_network.hpp"
#include "state/container_state.hpp"
#include "state/teardown.hpp"

namespace nsnet {

namespace cni = netcore::cni;
namespace fs = std::filesystem;

namespace {

constexpr int kLauncherFailure = 125;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string current_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// Bind-mounts the child's namespace at `path` (created when missing), as unshare --net=FILE.
// Returns whether nsnet created the file (and so removes it afterwards).
bool persist_namespace(const fs::path& ns, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool created = fd < 0 && errno == ENOENT;
  if (created) fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) throw netcore::SysError("creating " + path, errno);
  ::close(fd);
  if (::mount(ns.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    const int err = errno;
    if (created) ::unlink(path.c_str());
    throw netcore::SysError(
        "persisting " + ns.filename().string() + " at " + path +
            (err == EINVAL ? " (a mount namespace needs a non-shared mount there)" : ""),
        err);
  }
  return created;
}

// Whether `outer` (the caller's id) is 0 in the user namespace.
bool maps_to_root(const std::vector<IdRange>& ranges, std::uint32_t outer) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const IdRange& r) { return r.inner == 0 && r.outer == outer && r.count > 0; });
}

// Everything between "the id is ours" and "the command runs"; on failure the caller tears down
// what `state` records.
class Launch {
 public:
  Launch(const RunOptions& options, StateDir& dir, ContainerState& state,
         std::optional<UserModeNetwork> user_mode)
      : options_(options), dir_(dir), state_(state), user_mode_(std::move(user_mode)) {}

  pid_t start(const std::vector<cni::NetworkList>& lists, const IdMapPlan& id_maps) {
    const ChildSpec spec{.options = &options_,
                         .resolv_conf = dir_.file("resolv.conf"),
                         .hosts = dir_.file("hosts"),
                         .waits_for_network = user_mode_.has_value(),
                         .tap = user_mode_ ? user_mode_->tap_setup() : std::nullopt};
    process_.emplace(ContainerProcess::spawn(spec));
    if (options_.creates(Namespace::kUser) && !id_maps.empty())
      write_id_maps(process_->pid(), id_maps);
    for (std::size_t i = 0; i < kNamespaceCount; ++i) {
      const auto n = static_cast<Namespace>(i);
      const auto& request = options_.ns(n);
      if (!request.create || request.persist_path.empty()) continue;
      // Recorded first: a failure half-way still gets unmounted.
      state_.persisted.push_back(request.persist_path);
      if (persist_namespace(process_->namespace_path(n), request.persist_path))
        state_.created_files.push_back(request.persist_path);
    }
    if (options_.creates(Namespace::kNet))
      state_.netns = process_->namespace_path(Namespace::kNet).string();
    dir_.save(state_);

    if (user_mode_) {
      // Started now so that its start-up overlaps everything below and the child's own setup.
      user_mode_->start(process_->pid(), options_.creates(Namespace::kUser),
                        maps_to_root(id_maps.uids, ::geteuid()) && maps_to_root(id_maps.gids, ::getegid()),
                        dir_.path());
      state_.helper = user_mode_->helper_state();
      dir_.save(state_);
    }
    std::vector<cni::Result> results = attach(lists);
    if (user_mode_) results.push_back(user_mode_->result());
    if (options_.creates(Namespace::kMount) && !options_.networks.empty() &&
        options_.networks.front() != "host") {
      const std::string hostname = options_.hostname.empty() ? current_hostname() : options_.hostname;
      netcore::write_file_atomic(dir_.file("hosts"), hosts_text(hostname, results), 0644);
      if (!results.empty())
        netcore::write_file_atomic(
            dir_.file("resolv.conf"),
            resolv_conf_text(results, options_.dns,
                             netcore::find_file_content("/etc/resolv.conf").value_or("")),
            0644);
    }
    if (user_mode_) {
      process_->begin_setup();
      user_mode_->wait_ready();
      process_->network_ready();
    }
    state_.pid = process_->start();
    dir_.save(state_);
    return state_.pid;
  }

  [[nodiscard]] int supervise() { return process_->supervise(); }
  void abandon() noexcept {
    if (process_) process_->abandon();
  }
  // Ends the user-mode network helper, if any; tear_down then need not (it would wait for the
  // exit to complete).
  void stop_helper() noexcept {
    if (!user_mode_) return;
    user_mode_->stop();
    state_.helper.reset();
  }

 private:
  std::vector<cni::Result> attach(const std::vector<cni::NetworkList>& lists) {
    std::vector<cni::Result> results;
    if (lists.empty()) return results;
    const cni::Runtime runtime(cni_plugin_runner(state_.cni_path), cni::ResultCache());
    for (std::size_t i = 0; i < lists.size(); ++i) {
      const auto& list = lists[i];
      const cni::RuntimeConf rt{.container_id = state_.id,
                                .netns = state_.netns,
                                .ifname = "eth" + std::to_string(i),
                                .capability_args = {{"portMappings", state_.port_mappings}}};
      // Recorded before the ADD: if nsnet dies during it, gc still owes it a DEL.
      state_.networks.push_back({.network = list.name, .ifname = rt.ifname, .conflist = list.bytes});
      dir_.save(state_);
      try {
        results.push_back(runtime.add(list, rt));
      } catch (netcore::Error& error) {
        error.prefix("network " + list.name);
        throw;
      }
      state_.networks.back().result = results.back().to_json(list.cni_version);
      dir_.save(state_);
    }
    return results;
  }

  const RunOptions& options_;
  StateDir& dir_;
  ContainerState& state_;
  std::optional<UserModeNetwork> user_mode_;
  std::optional<ContainerProcess> process_;
};

void report_failure(int report_fd, const std::string& message) {
  if (report_fd >= 0) {
    const std::string line = "!" + message + "\n";
    (void)!::write(report_fd, line.data(), line.size());
  } else {
    std::fprintf(stderr, "nsnet run: %s\n", message.c_str());
  }
}

// Runs the container to its end. `report_fd` (detached mode) gets "ID\n" once it runs, or
// "!message\n" if it could not be started; stdio then goes to the state dir's log.
int run_container(const RunOptions& options, int report_fd) {
  std::vector<cni::NetworkList> lists;
  std::vector<nlohmann::json> ports;
  std::optional<UserModeNetwork> user_mode;
  IdMapPlan id_maps;
  try {
    collect_abandoned_containers();  // what a killed nsnet left behind
    if (options.attaches_networks()) {
      const fs::path conf_dir = cni_conf_dir();
      for (const auto& spec : options.networks) lists.push_back(find_network_spec(spec, conf_dir));
    }
    for (const auto& spec : options.publish) ports.push_back(parse_publish(spec));
    if (!options.user_mode_network().empty())
      user_mode = UserModeNetwork::plan(options.user_mode_network(), options.user_mode_options(), ports);
    if (options.creates(Namespace::kUser))
      id_maps = plan_id_maps(options.id_map, options.setgroups_allow, ::geteuid(), ::getegid());
  } catch (const std::exception& error) {
    report_failure(report_fd, error.what());
    return kLauncherFailure;
  }

  std::optional<StateDir> dir;
  ContainerState state{.id = options.name.empty() ? new_container_id() : options.name,
                       .supervisor_pid = ::getpid(),
                       .command = options.command,
                       .created = utc_now(),
                       .hostname = options.hostname,
                       .cni_path = cni_plugin_path(options.cni_path),
                       .port_mappings = ports,
                       .detached = report_fd >= 0};
  try {
    dir.emplace(StateDir::create(state.id));
    dir->save(state);
  } catch (const std::exception& error) {
    report_failure(report_fd, error.what());
    return kLauncherFailure;
  }

  if (report_fd >= 0) {  // detached: the command's output (and nsnet's) go to the log
    const int log = ::open(dir->file("log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log >= 0 && null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    if (log >= 0) ::close(log);
    if (null >= 0) ::close(null);
  }

  Launch launch(options, *dir, state, std::move(user_mode));
  int status = kLauncherFailure;
  try {
    launch.start(lists, id_maps);
    if (report_fd >= 0) {
      const std::string line = state.id + "\n";
      (void)!::write(report_fd, line.data(), line.size());
      ::close(report_fd);
      report_fd = -1;
    }
    status = launch.supervise();
  } catch (const ExecFailure& failure) {
    report_failure(report_fd, failure.what());
    status = failure.exit_code();
  } catch (const std::exception& error) {
    launch.abandon();
    report_failure(report_fd, error.what());
    status = kLauncherFailure;
  }
  launch.stop_helper();
  for (const auto& failure : tear_down(state, *dir))
    std::fprintf(stderr, "nsnet run: teardown: %s\n", failure.c_str());
  return status;
}

// --detach: a daemon (new session, no terminal) supervises the container; this process waits
// until it runs, prints its id and returns.
int run_detached(const RunOptions& options) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::perror("nsnet run: pipe");
    return kLauncherFailure;
  }
  const pid_t daemon = ::fork();
  if (daemon < 0) {
    std::perror("nsnet run: fork");
    return kLauncherFailure;
  }
  if (daemon == 0) {
    ::close(pipe_fds[0]);
    ::setsid();
    ::_exit(run_container(options, pipe_fds[1]));
  }
  ::close(pipe_fds[1]);
  std::string reply;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) reply.append(buffer, n);
  ::close(pipe_fds[0]);
  if (!reply.empty() && reply.front() != '!') {
    std::fputs(reply.c_str(), stdout);
    return 0;
  }
  if (reply.empty()) reply = "!the detached supervisor ended before the container ran\n";
  std::fprintf(stderr, "nsnet run: %s", reply.c_str() + 1);
  return kLauncherFailure;
}

}  // namespace

int run_command(int argc, char** argv) {
  RunOptions options;
  try {
    options = parse_run_options(argc, argv);
    if (options.help) {
      std::fputs(std::string(run_usage()).c_str(), stdout);
      return 0;
    }
    resolve_defaults(options, ::geteuid() == 0);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "nsnet run: %s\n", error.what());
    return kLauncherFailure;
  }
  std::fflush(stdout);
  return options.detach ? run_detached(options) : run_container(options, -1);
}

}  // namespace nsnet
