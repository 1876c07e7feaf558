#include "run/user_mode_network.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include <netcore/base/error.hpp>
#include <netcore/usernet/slirp_api.hpp>

namespace nsnet {

namespace fs = std::filesystem;
namespace usernet = netcore::usernet;

namespace {

// slirp4netns was measured ready in 21-57 ms and pasta in 80-680 ms: a second is a hang.
constexpr std::chrono::milliseconds kReadyTimeout(5000);

std::string string_field(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j[key].get<std::string>() : std::string();
}

}  // namespace

UserModeNetwork UserModeNetwork::plan(std::string_view mode, std::string_view options,
                                      const std::vector<nlohmann::json>& ports) {
  UserModeNetwork network;
  network.mode_ = mode;
  if (mode == "slirp4netns") {
    network.slirp_ = usernet::parse_slirp_options(options);
    network.sandbox_requested_ = options.find("enable_sandbox") != std::string_view::npos;
  } else {
    network.pasta_ = usernet::parse_pasta_options(options);
  }
  for (const auto& port : ports) {
    const std::string proto = port.at("protocol").get<std::string>();
    const std::string host_ip = string_field(port, "hostIP");
    if (proto != "tcp" && proto != "udp")
      throw std::invalid_argument("--publish: " + std::string(mode) + " forwards tcp and udp, not " + proto);
    if (mode == "slirp4netns" && host_ip.find(':') != std::string::npos)
      throw std::invalid_argument("--publish: slirp4netns cannot forward IPv6 (" + host_ip + ")");
    network.forwards_.push_back({.proto = proto,
                                 .host_addr = host_ip.empty() ? "0.0.0.0" : host_ip,
                                 .host_port = port.at("hostPort").get<std::uint16_t>(),
                                 .guest_addr = {},
                                 .guest_port = port.at("containerPort").get<std::uint16_t>()});
  }
  const auto program = netcore::proc::find_program(std::string(mode));
  if (!program)
    throw std::runtime_error(std::string(mode) + " is not installed (Debian package " +
                             (mode == "pasta" ? "passt" : "slirp4netns") +
                             "); or choose --network none");
  network.program_ = *program;
  return network;
}

netcore::cni::Result UserModeNetwork::result() const {
  netcore::cni::Result result;
  if (mode_ == "slirp4netns") {
    const auto addresses = usernet::slirp_addresses(slirp_);
    result.interfaces = {{.name = "tap0"}};
    result.ips = {{.address = addresses.container, .gateway = addresses.gateway, .interface = 0}};
    if (!slirp_.disable_dns) result.dns.nameservers = {addresses.dns.to_string()};
  } else if (!pasta_.dns_forward.empty()) {
    result.dns.nameservers = {pasta_.dns_forward};
  }
  return result;
}

std::optional<usernet::TapSetup> UserModeNetwork::tap_setup() const {
  if (mode_ != "slirp4netns") return std::nullopt;
  const auto addresses = usernet::slirp_addresses(slirp_);
  return usernet::TapSetup{.name = "tap0",
                           .address = addresses.container,
                           .gateway = addresses.gateway,
                           .mtu = slirp_.mtu,
                           .ipv6 = slirp_.enable_ipv6};
}

void UserModeNetwork::start(pid_t pid, bool join_userns, bool userns_maps_root,
                            const fs::path& state_dir) {
  // slirp4netns's sandbox becomes root in the joined user namespace, which only works when the
  // caller is root there (not with --map-current-user or --map-auto alone).
  if (mode_ == "slirp4netns" && join_userns && !userns_maps_root && slirp_.enable_sandbox) {
    if (sandbox_requested_)
      throw std::runtime_error(
          "slirp4netns: enable_sandbox needs you mapped to uid and gid 0 in the user namespace "
          "(--map-root-user)");
    slirp_.enable_sandbox = false;
  }
  netcore::proc::Pipe ready = netcore::proc::make_pipe();
  netcore::proc::DaemonRequest request{.program = program_,
                                       .args = {},
                                       .inherit_fds = {ready.write.get()},
                                       .log = state_dir / (mode_ + ".log")};
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/";
  if (mode_ == "slirp4netns") {
    netcore::proc::Pipe exit = netcore::proc::make_pipe();
    api_socket_ = state_dir / "slirp.sock";
    request.inherit_fds.push_back(exit.read.get());
    // By pid, slirp4netns joins the process's user namespace too; by path only the netns.
    const usernet::SlirpTarget target = join_userns ? usernet::SlirpTarget{.pid = pid}
                                                    : usernet::SlirpTarget{.netns_path = ns + "net"};
    request.args = usernet::slirp_arguments(slirp_, target, "tap0", ready.write.get(),
                                            exit.read.get(), api_socket_.string());
    daemon_.emplace(netcore::proc::Daemon::spawn(request));
    exit_hold_ = std::move(exit.write);
  } else {
    std::vector<usernet::PastaPort> ports;
    for (const auto& f : forwards_)
      ports.push_back({.proto = f.proto,
                       .host_addr = f.host_addr == "0.0.0.0" ? "" : f.host_addr,
                       .host_port = f.host_port,
                       .container_port = f.guest_port});
    // pasta has no ready fd, but writes its pid once the namespace is configured: a pipe as
    // its pid file is the handshake.
    request.args = usernet::pasta_arguments(
        pasta_, join_userns ? ns + "user" : "", ns + "net",
        "/proc/self/fd/" + std::to_string(ready.write.get()), ports);
    daemon_.emplace(netcore::proc::Daemon::spawn(request));
  }
  ready_ = std::move(ready.read);
}

HelperState UserModeNetwork::helper_state() const {
  return {.program = mode_,
          .pid = daemon_ ? daemon_->pid() : 0,
          .start_time = daemon_ ? daemon_->id().start_time : 0,
          .api_socket = api_socket_.string(),
          .address = mode_ == "slirp4netns" ? usernet::slirp_addresses(slirp_).container.to_string()
                                            : std::string()};
}

void UserModeNetwork::wait_ready() {
  try {
    (void)daemon_->wait_readable(ready_.get(), kReadyTimeout);
    ready_.reset();
    if (mode_ == "slirp4netns") {
      const usernet::SlirpApi api(api_socket_);
      for (const auto& forward : forwards_) forward_ids_.push_back(api.add_hostfwd(forward));
    }
  } catch (const netcore::Error& error) {
    throw std::runtime_error(error.what());
  }
}

void UserModeNetwork::stop() noexcept {
  // Removed first, so the host ports are free when nsnet returns, not only once the kernel has
  // finished the helper's exit.
  for (const int id : forward_ids_) {
    try {
      usernet::SlirpApi(api_socket_).remove_hostfwd(id);
    } catch (const std::exception&) {
      // The helper is gone already: so are its ports.
    }
  }
  forward_ids_.clear();
  exit_hold_.reset();
  if (daemon_) daemon_->kill();
}

}  // namespace nsnet
