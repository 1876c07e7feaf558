#include "slirp4netns.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/base/log.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/base/unique_fd.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/proc/daemon.hpp>
#include <netcore/usernet/slirp4netns.hpp>
#include <netcore/usernet/slirp_api.hpp>
#include <netcore/usernet/tap_setup.hpp>

#include "config.hpp"

namespace plugins::slirp4netns {
namespace cni = netcore::cni;
namespace net = netcore::net;
namespace proc = netcore::proc;
namespace usernet = netcore::usernet;
namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kReadyTimeout{5000};
constexpr milliseconds kStopGrace{1000};
constexpr const char* kStateFile = "state.json";
constexpr const char* kSocketName = "api.sock";
constexpr const char* kLogName = "slirp4netns.log";

// What ADD leaves for DEL, CHECK and GC (state.json).
struct State {
  proc::ProcessId process;
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string api_socket;
  std::vector<int> hostfwd_ids;
};

nlohmann::json to_json(const State& s) {
  return {{"pid", s.process.pid},
          {"start_time", s.process.start_time},
          {"container_id", s.container_id},
          {"ifname", s.ifname},
          {"netns", s.netns},
          {"api_socket", s.api_socket},
          {"hostfwd_ids", s.hostfwd_ids}};
}

// The state in `dir`; nullopt when there is none or it cannot be read (a crash mid-ADD).
// A symbolic link planted in place of `dir` (or of its state file) is never read through: its
// "state" could name any process for tear_down to stop.
std::optional<State> read_state(const fs::path& dir) {
  std::error_code link_ec;
  if (fs::is_symlink(dir, link_ec)) {
    netcore::log::warn("slirp4netns: {} is a symbolic link, not our state; ignoring it",
                       dir.string());
    return std::nullopt;
  }
  std::optional<std::string> text;
  try {
    text = netcore::find_state_file_content(dir / kStateFile);
  } catch (const Error& e) {
    netcore::log::warn("slirp4netns: {}, ignoring", e.what());
  }
  if (!text) return std::nullopt;
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  try {
    if (j.is_discarded() || !j.is_object()) throw std::runtime_error("not a JSON object");
    State s;
    s.process.pid = j.at("pid").get<pid_t>();
    s.process.start_time = j.at("start_time").get<std::uint64_t>();
    s.container_id = j.at("container_id").get<std::string>();
    s.ifname = j.at("ifname").get<std::string>();
    s.netns = j.value("netns", "");
    s.api_socket = j.value("api_socket", "");
    s.hostfwd_ids = j.value("hostfwd_ids", std::vector<int>{});
    return s;
  } catch (const std::exception& e) {
    netcore::log::warn("slirp4netns: unreadable {}: {}, ignoring", (dir / kStateFile).string(),
                       e.what());
    return std::nullopt;
  }
}

// Stops the daemon `dir`'s state names (if it still runs) and removes `dir`.
void tear_down(const fs::path& dir) {
  std::error_code link_ec;
  if (fs::is_symlink(dir, link_ec)) {  // not ours: only the link goes, nothing behind it
    if (!fs::remove(dir, link_ec) && link_ec)
      throw Error(ErrorCode::kInternal, "remove " + dir.string() + ": " + link_ec.message());
    return;
  }
  if (const auto state = read_state(dir)) {
    if (proc::stop_process(state->process, kStopGrace))
      netcore::log::debug("slirp4netns: stopped pid {} of {}", state->process.pid, dir.string());
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) throw Error(ErrorCode::kInternal, "remove " + dir.string() + ": " + ec.message());
}

// An open directory; paths below it via /proc/self/fd/N stay short whatever the directory's
// own path is (a unix socket's path has at most 107 bytes, and container IDs alone are often
// 64). The same number works in a daemon that inherits the fd.
netcore::UniqueFd open_dir(const fs::path& dir) {
  netcore::UniqueFd fd(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!fd) netcore::throw_errno("open " + dir.string());
  return fd;
}
std::string via_fd(const netcore::UniqueFd& dir, const char* name) {
  return "/proc/self/fd/" + std::to_string(dir.get()) + "/" + name;
}

void make_state_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec)
    throw Error(ErrorCode::kInternal, "create " + dir.parent_path().string() + ": " + ec.message());
  if (::mkdir(dir.c_str(), 0700) != 0) netcore::throw_errno("create " + dir.string());
}

cni::Result make_result(const cni::CmdArgs& args, const usernet::SlirpAddresses& addresses,
                        const std::string& mac, unsigned mtu) {
  cni::Result result;
  result.interfaces = {{.name = args.ifname, .mac = mac, .sandbox = args.netns, .mtu = mtu}};
  result.ips = {{.address = addresses.container, .gateway = addresses.gateway, .interface = 0}};
  result.routes = {
      {.dst = net::Prefix(boost::asio::ip::address_v4::any(), 0), .gw = addresses.gateway}};
  result.dns.nameservers = {addresses.dns.to_string()};
  return result;
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto mappings = parse_port_mappings(args);
  const fs::path dir =
      attachment_dir(config.data_dir, args.network_name, args.container_id, args.ifname);
  const auto binary = find_binary(config, args.env);
  if (!binary)
    throw Error(ErrorCode::kInternal,
                "slirp4netns: binary \"" + config.binary + "\" not found (PATH, /usr/bin)");
  // The runtime must DEL before it ADDs the same attachment again (spec: ADD is not
  // idempotent). A daemon still running for it is that mistake; state whose daemon is gone is a
  // leftover of a crash, and goes.
  if (fs::exists(fs::symlink_status(dir))) {  // a dangling link too: tear_down removes it
    if (const auto state = read_state(dir); state && proc::process_alive(state->process))
      throw Error(ErrorCode::kInternal, "slirp4netns: attachment " + args.container_id + "/" +
                                            args.ifname +
                                            " already has a running slirp4netns (pid " +
                                            std::to_string(state->process.pid) + ")");
    tear_down(dir);
  }
  const auto [container, ctr_nl] = cni::open_container_for_add(args);

  netcore::Undo undo;  // declared before the daemon: the daemon stops first, then this runs
  make_state_dir(dir);
  undo.push([&] { fs::remove_all(dir); });
  const netcore::UniqueFd dir_fd = open_dir(dir);

  auto [ready_read, ready_write] = proc::make_pipe();

  const std::string api_socket = via_fd(dir_fd, kSocketName);
  proc::DaemonRequest request{
      .program = *binary,
      .args = usernet::slirp_arguments(config.options, {.netns_path = args.netns}, args.ifname,
                                       ready_write.get(), -1, api_socket),
      .inherit_fds = {ready_write.get(), dir_fd.get()},
      .log = dir / kLogName,
      .die_with_owner = false,  // it must outlive the plugin
      .new_session = true,
  };
  proc::Daemon daemon = proc::Daemon::spawn(request);  // its destructor stops it unless released
  ready_write.reset();  // else our own copy would keep the pipe open past the daemon's death
  // Recorded at once: if the plugin is killed before it finishes, DEL and GC still find the
  // daemon (by pid and start time) and stop it.
  State state{.process = daemon.id(),
              .container_id = args.container_id,
              .ifname = args.ifname,
              .netns = args.netns,
              .api_socket = (dir / kSocketName).string(),
              .hostfwd_ids = {}};
  netcore::write_file_atomic(dir / kStateFile, to_json(state).dump(), 0600);
  daemon.wait_readable(ready_read.get(), kReadyTimeout);

  const auto addresses = usernet::slirp_addresses(config.options);
  container.run([&] {
    const auto nl = net::Netlink::connect();
    usernet::configure_tap(nl, {.name = args.ifname,
                                .address = addresses.container,
                                .gateway = addresses.gateway,
                                .mtu = config.options.mtu,
                                .ipv6 = config.options.enable_ipv6});
  });
  const auto tap = net::get_link(ctr_nl, args.ifname);

  const usernet::SlirpApi api(api_socket);
  for (const auto& m : mappings) {
    state.hostfwd_ids.push_back(
        api.add_hostfwd({.proto = m.protocol,
                         .host_addr = m.host_ip,
                         .host_port = m.host_port,
                         .guest_addr = addresses.container.address().to_string(),
                         .guest_port = m.container_port}));
  }
  netcore::write_file_atomic(dir / kStateFile, to_json(state).dump(), 0600);

  (void)daemon.release();
  undo.commit();
  return make_result(args, addresses, tap.mac.to_string(), config.options.mtu);
}

void cmd_del(const cni::CmdArgs& args) {
  const fs::path dir =
      attachment_dir(parse_data_dir(args), args.network_name, args.container_id, args.ifname);
  if (!fs::exists(fs::symlink_status(dir))) return;
  tear_down(dir);
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const fs::path dir =
      attachment_dir(config.data_dir, args.network_name, args.container_id, args.ifname);
  const auto state = read_state(dir);
  if (!state)
    throw Error(ErrorCode::kInternal, "slirp4netns: no state for attachment " + args.container_id +
                                          "/" + args.ifname + " in " + dir.string());
  if (!proc::process_alive(state->process))
    throw Error(ErrorCode::kInternal,
                "slirp4netns: daemon (pid " + std::to_string(state->process.pid) +
                    ") of attachment " + args.container_id + "/" + args.ifname + " is not running");
  const auto container = net::Netns::open(args.netns);
  const auto nl = container.run([] { return net::Netlink::connect(); });
  const auto link = net::find_link(nl, args.ifname);
  if (!link)
    throw Error(ErrorCode::kInternal,
                "slirp4netns: interface " + args.ifname + " not found in " + args.netns);
  const auto expected = usernet::slirp_addresses(config.options).container;
  const auto addresses = net::list_addresses(nl, link->index, AF_INET);
  if (std::none_of(addresses.begin(), addresses.end(),
                   [&](const net::AddressInfo& a) { return a.prefix == expected; }))
    throw Error(ErrorCode::kInternal,
                "slirp4netns: interface " + args.ifname + " lacks address " + expected.to_string());
}

void cmd_gc(const cni::CmdArgs& args) {
  const auto valid = args.valid_attachments();
  if (!valid) {
    netcore::log::warn("GC without cni.dev/valid-attachments: keeping every slirp4netns");
    return;
  }
  const fs::path dir = network_dir(parse_data_dir(args), args.network_name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::set<std::pair<std::string, std::string>> keep;
  for (const auto& a : *valid) keep.emplace(a.container_id, a.ifname);
  netcore::ErrorList errors;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec)) continue;
    const auto state = read_state(entry.path());
    // No readable state: what an ADD that crashed half-way left (GC runs alone, so no ADD is
    // in flight); its daemon, if any, cannot be identified safely and is left alone.
    if (state && keep.contains({state->container_id, state->ifname})) continue;
    netcore::log::debug("gc: removing slirp4netns attachment {}", entry.path().string());
    errors.attempt([&] { tear_down(entry.path()); });
  }
  if (ec) errors.add(Error(ErrorCode::kInternal, "list " + dir.string() + ": " + ec.message()));
  errors.throw_if_any("slirp4netns gc");
}

void cmd_status(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  if (!find_binary(config, args.env))
    throw Error(ErrorCode::kNotReady, "slirp4netns: binary \"" + config.binary +
                                          "\" not found (PATH, /usr/bin); install slirp4netns "
                                          "or set \"binary\"");
}

cni::PluginSpec spec() {
  return {.name = "slirp4netns",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::slirp4netns
