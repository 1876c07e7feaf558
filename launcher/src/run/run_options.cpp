#include "run/run_options.hpp"
#include "run/user_db.hpp"

#include <getopt.h>
#include <sched.h>
#include <signal.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace nsnet {

namespace {

// Long-only options get codes above the char range.
enum : int {
  kKillChild = 1000,
  kMapUser,
  kMapGroup,
  kMapUsers,
  kMapGroups,
  kMapAuto,
  kSetgroups,
  kMountProc,
  kPropagation,
  kKeepCaps,
  kMonotonic,
  kBoottime,
  kHostname,
  kNetwork,
  kPublish,
  kDns,
  kCniPath,
  kName,
};

// getopt_long rather than CLI11: unshare's namespace options take an optional value only when it
// is attached (`--net=FILE`), so `nsnet run --net sh` runs sh; CLI11 would take "sh" as the
// value. getopt is what unshare itself parses with, so combined flags (-mipfnuUr) work the same.
constexpr option kLongOptions[] = {
    {"mount", optional_argument, nullptr, 'm'},
    {"uts", optional_argument, nullptr, 'u'},
    {"ipc", optional_argument, nullptr, 'i'},
    {"net", optional_argument, nullptr, 'n'},
    {"pid", optional_argument, nullptr, 'p'},
    {"user", optional_argument, nullptr, 'U'},
    {"cgroup", optional_argument, nullptr, 'C'},
    {"time", optional_argument, nullptr, 'T'},
    {"fork", no_argument, nullptr, 'f'},
    {"kill-child", optional_argument, nullptr, kKillChild},
    {"map-root-user", no_argument, nullptr, 'r'},
    {"map-current-user", no_argument, nullptr, 'c'},
    {"map-user", required_argument, nullptr, kMapUser},
    {"map-group", required_argument, nullptr, kMapGroup},
    {"map-users", required_argument, nullptr, kMapUsers},
    {"map-groups", required_argument, nullptr, kMapGroups},
    {"map-auto", no_argument, nullptr, kMapAuto},
    {"setgroups", required_argument, nullptr, kSetgroups},
    {"mount-proc", optional_argument, nullptr, kMountProc},
    {"propagation", required_argument, nullptr, kPropagation},
    {"root", required_argument, nullptr, 'R'},
    {"wd", required_argument, nullptr, 'w'},
    {"setuid", required_argument, nullptr, 'S'},
    {"setgid", required_argument, nullptr, 'G'},
    {"keep-caps", no_argument, nullptr, kKeepCaps},
    {"monotonic", required_argument, nullptr, kMonotonic},
    {"boottime", required_argument, nullptr, kBoottime},
    {"hostname", required_argument, nullptr, kHostname},
    {"network", required_argument, nullptr, kNetwork},
    {"publish", required_argument, nullptr, kPublish},
    {"dns", required_argument, nullptr, kDns},
    {"cni-path", required_argument, nullptr, kCniPath},
    {"name", required_argument, nullptr, kName},
    {"detach", no_argument, nullptr, 'd'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};
// As unshare: only the long forms take a file (`--net=FILE`); `-mipfnuUr` is eight flags.
constexpr const char* kShortOptions = "+muinpUCTfrcR:w:S:G:dh";

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument(message); }

template <class Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::uint32_t parse_id(std::string_view option, const std::string& text, bool is_group) {
  if (auto id = parse_int<std::uint32_t>(text)) return *id;
  if (const auto id = is_group ? group_id(text) : user_id(text)) return *id;
  bad(std::string(option) + ": no such " + (is_group ? "group" : "user") + " '" + text + "'");
}

// "slirp4netns" or "pasta" for a user-mode --network value (with or without ":OPTIONS"), else
// empty.
std::string_view user_mode_of(std::string_view network) {
  const std::string_view mode = network.substr(0, network.find(':'));
  return mode == "slirp4netns" || mode == "pasta" ? mode : std::string_view();
}

int parse_signal(const std::string& text) {
  if (auto number = parse_int<int>(text); number && *number > 0 && *number < NSIG) return *number;
  std::string_view name = text;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  bad("--kill-child: unknown signal '" + text + "'");
}

void check_range_syntax(std::string_view option, const std::string& value) {
  if (value == "auto") return;
  std::string_view rest = value;
  for (int part = 0; part < 3; ++part) {
    const auto comma = rest.find(',');
    if ((part < 2) == (comma == std::string_view::npos) ||
        !parse_int<std::uint32_t>(rest.substr(0, comma)))
      bad(std::string(option) + ": expected OUTER,INNER,COUNT or auto, got '" + value + "'");
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
}

std::int64_t parse_offset(std::string_view option, const char* text) {
  if (auto value = parse_int<std::int64_t>(text)) return *value;
  bad(std::string(option) + ": expected whole seconds, got '" + text + "'");
}

Namespace namespace_of_flag(int flag) {
  switch (flag) {
    case 'm': return Namespace::kMount;
    case 'u': return Namespace::kUts;
    case 'i': return Namespace::kIpc;
    case 'n': return Namespace::kNet;
    case 'p': return Namespace::kPid;
    case 'U': return Namespace::kUser;
    case 'C': return Namespace::kCgroup;
    default: return Namespace::kTime;
  }
}

}  // namespace

RunOptions parse_run_options(int argc, char** argv) {
  RunOptions options;
  ::optind = 0;  // glibc: a full re-initialisation, so the parser can run more than once
  ::opterr = 0;
  for (;;) {
    const int opt = ::getopt_long(argc, argv, kShortOptions, kLongOptions, nullptr);
    if (opt == -1) break;
    const std::string value = ::optarg != nullptr ? ::optarg : "";
    switch (opt) {
      case 'm': case 'u': case 'i': case 'n': case 'p': case 'U': case 'C': case 'T': {
        auto& request = options.ns(namespace_of_flag(opt));
        request.create = true;
        request.persist_path = value;
        options.explicit_namespaces = true;
        break;
      }
      case 'f': break;  // nsnet always forks: it stays outside to tear the networks down
      case kKillChild: options.kill_child_signal = value.empty() ? SIGKILL : parse_signal(value); break;
      case 'r': options.id_map.inner_uid = 0; options.id_map.inner_gid = 0; break;
      case 'c':
        options.id_map.inner_uid = ::geteuid();
        options.id_map.inner_gid = ::getegid();
        break;
      case kMapUser: options.id_map.inner_uid = parse_id("--map-user", value, false); break;
      case kMapGroup: options.id_map.inner_gid = parse_id("--map-group", value, true); break;
      case kMapUsers:
        check_range_syntax("--map-users", value);
        options.id_map.uid_range = value;
        break;
      case kMapGroups:
        check_range_syntax("--map-groups", value);
        options.id_map.gid_range = value;
        break;
      case kMapAuto: options.id_map.uid_range = options.id_map.gid_range = "auto"; break;
      case kSetgroups:
        if (value != "allow" && value != "deny")
          bad("--setgroups: expected allow or deny, got '" + value + "'");
        options.setgroups_allow = value == "allow";
        break;
      case kMountProc: options.mount_proc = value.empty() ? "/proc" : value; break;
      case kPropagation:
        if (value != "private" && value != "shared" && value != "slave" && value != "unchanged")
          bad("--propagation: expected private, shared, slave or unchanged, got '" + value + "'");
        options.propagation = value;
        break;
      case 'R': options.root = value; break;
      case 'w': options.wd = value; break;
      case 'S': options.setuid = parse_id("--setuid", value, false); break;
      case 'G': options.setgid = parse_id("--setgid", value, true); break;
      case kKeepCaps: options.keep_caps = true; break;
      case kMonotonic: options.monotonic_offset = parse_offset("--monotonic", ::optarg); break;
      case kBoottime: options.boottime_offset = parse_offset("--boottime", ::optarg); break;
      case kHostname: options.hostname = value; break;
      case kNetwork: options.networks.push_back(value); break;
      case kPublish: options.publish.push_back(value); break;
      case kDns: options.dns.push_back(value); break;
      case kCniPath: options.cni_path.push_back(value); break;
      case kName: options.name = value; break;
      case 'd': options.detach = true; break;
      case 'h': options.help = true; break;
      default: {
        const std::string arg = ::optind > 0 && ::optind <= argc ? argv[::optind - 1] : "";
        if (::optopt != 0 && std::strchr("RwSG", ::optopt) != nullptr)
          bad(std::string("option -") + static_cast<char>(::optopt) + " needs a value");
        bad(arg.starts_with("--") || ::optopt == 0
                ? "unknown option '" + arg + "' (see 'nsnet run --help')"
                : std::string("unknown option -") + static_cast<char>(::optopt) +
                      " (see 'nsnet run --help')");
      }
    }
  }
  for (int i = ::optind; i < argc; ++i) options.command.emplace_back(argv[i]);
  return options;
}

void resolve_defaults(RunOptions& options, bool is_root) {
  const bool wants_user_ns = options.id_map.inner_uid || options.id_map.inner_gid ||
                             options.id_map.uid_range || options.id_map.gid_range;
  if (!options.explicit_namespaces) {
    for (Namespace n : {Namespace::kMount, Namespace::kUts, Namespace::kIpc, Namespace::kPid,
                        Namespace::kCgroup})
      options.ns(n).create = true;
    const bool host_network = !options.networks.empty() && options.networks.front() == "host";
    options.ns(Namespace::kNet).create = !host_network;
    if (!options.mount_proc) options.mount_proc = "/proc";
    if (!is_root) {
      options.ns(Namespace::kUser).create = true;
      if (!wants_user_ns) options.id_map.inner_uid = options.id_map.inner_gid = 0;
    }
  }
  if (options.mount_proc) options.ns(Namespace::kMount).create = true;
  // Without its own uts namespace, sethostname() would rename the caller's (the machine's).
  if (!options.hostname.empty()) options.ns(Namespace::kUts).create = true;
  if (wants_user_ns) options.ns(Namespace::kUser).create = true;

  for (const auto& network : options.networks) {
    const std::string_view user_mode = user_mode_of(network);
    const bool exclusive = network == "none" || network == "host" || !user_mode.empty();
    if (exclusive && options.networks.size() > 1)
      bad("--network " + std::string(user_mode.empty() ? network : user_mode) +
          " cannot be combined with other networks");
  }
  const bool host_network = !options.networks.empty() && options.networks.front() == "host";
  if (host_network && options.creates(Namespace::kNet))
    bad("--network host shares the caller's network namespace: it cannot be combined with --net");
  if (!options.networks.empty() && !host_network) options.ns(Namespace::kNet).create = true;
  if (options.networks.empty() && options.creates(Namespace::kNet))
    options.networks.emplace_back(is_root ? "nsnet" : "slirp4netns");

  if (!options.publish.empty() && !options.attaches_networks() &&
      options.user_mode_network().empty())
    bad("--publish needs a network to publish on (not --network none or host)");
  if (options.user_mode_network() == "pasta" && !options.creates(Namespace::kUser))
    bad("--network pasta needs a user namespace (run it rootless, or add --user)");
  if (options.attaches_networks() && !is_root)
    bad("CNI networks need root; run as root or use --network none");
  if ((options.monotonic_offset || options.boottime_offset) && !options.creates(Namespace::kTime))
    bad("--monotonic and --boottime need a time namespace (--time)");
  if (options.setgroups_allow == true && !is_root &&
      (options.id_map.inner_gid && !options.id_map.gid_range))
    bad("--setgroups=allow cannot be combined with a single-group map as a regular user");
  if (options.command.empty()) {
    const char* shell = std::getenv("SHELL");
    options.command.emplace_back(shell != nullptr && *shell != '\0' ? shell : "/bin/sh");
  }
}

std::string_view RunOptions::user_mode_network() const {
  if (!creates(Namespace::kNet) || networks.size() != 1) return {};
  return user_mode_of(networks.front());
}

std::string_view RunOptions::user_mode_options() const {
  const std::string_view network = networks.empty() ? std::string_view() : networks.front();
  if (user_mode_network().empty() || network.find(':') == std::string_view::npos) return {};
  return network.substr(network.find(':') + 1);
}

std::string_view namespace_file_name(Namespace n) {
  constexpr std::string_view kNames[] = {"mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"};
  return kNames[static_cast<std::size_t>(n)];
}

int namespace_clone_flag(Namespace n) {
  constexpr int kFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS,  CLONE_NEWIPC,    CLONE_NEWNET,
                            CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWTIME};
  return kFlags[static_cast<std::size_t>(n)];
}

std::string_view run_usage() {
  return R"(Usage: nsnet run [OPTIONS] [--] [COMMAND [ARGS...]]

Runs COMMAND (default: $SHELL) in new namespaces with networking, and tears everything down when
it ends. Without a namespace option: a full set like `unshare -mipfnuUr --mount-proc`
(mount, uts, ipc, net, pid with a fresh /proc, cgroup; user with root mapped when not root), on
the default network ("nsnet": bridge nsnet0, 10.88.0.0/16, masquerade) as root, or through
slirp4netns (10.0.2.100, gateway 10.0.2.2, DNS 10.0.2.3) when not root.

Namespaces (as unshare(1); FILE keeps the namespace bind-mounted there while it runs):
  -m, --mount[=FILE]        -u, --uts[=FILE]       -i, --ipc[=FILE]      -n, --net[=FILE]
  -p, --pid[=FILE]          -U, --user[=FILE]      -C, --cgroup[=FILE]   -T, --time[=FILE]
  -f, --fork                accepted; nsnet always runs COMMAND as a child
      --kill-child[=SIG]    signal COMMAND gets if nsnet dies (default: SIGKILL, always on)
      --mount-proc[=DIR]    mount a fresh proc at DIR (default /proc); implies --mount
      --propagation MODE    private (default) | shared | slave | unchanged
  -R, --root DIR            chroot to DIR          -w, --wd DIR          working directory
  -S, --setuid UID          -G, --setgid GID       --keep-caps           keep capabilities
      --monotonic SECONDS   --boottime SECONDS     clock offsets in the time namespace
      --hostname NAME       set the hostname (in a new uts namespace); implies --uts

Ids (imply --user):
  -r, --map-root-user       map your uid/gid to 0    -c, --map-current-user  map them to themselves
      --map-user UID|NAME   --map-group GID|NAME
      --map-users OUTER,INNER,COUNT|auto   --map-groups OUTER,INNER,COUNT|auto   (newuidmap)
      --map-auto            map your first /etc/subuid and /etc/subgid ranges from 0
      --setgroups allow|deny

Networking:
      --network MODE        none | host | slirp4netns[:OPTS] | pasta[:OPTS] |
                            NAME (a network in the CNI config dir) | FILE.conflist;
                            repeat to attach several CNI networks (eth0, eth1, ...)
        slirp4netns OPTS:   mtu=N (65520), cidr=A/N (10.0.2.0/24), allow_host_loopback=BOOL,
                            enable_ipv6=BOOL, outbound_addr=IP|IF, outbound_addr6=IP|IF,
                            enable_sandbox=BOOL, enable_seccomp=BOOL (both true),
                            port_handler=slirp4netns
        pasta OPTS:         mtu=N, map_gw=BOOL, dns_forward=IP (169.254.1.1), and pasta's own
                            -F[=VALUE] / --flag[=VALUE] (e.g. -T=5201)
      --publish [HOSTIP:]HOSTPORT:CTRPORT[/PROTO]   publish a port (CNI portMappings capability,
                            slirp4netns's API socket, or pasta -t/-u)
      --dns IP              nameserver for the container's /etc/resolv.conf (repeatable)
      --cni-path DIR        where plugins are (then $CNI_PATH, /opt/cni/bin, nsnet's own)
  Config dir: $NETCONFPATH, default /etc/cni/net.d. The default network "nsnet" comes from
  there, else from nsnet's installed share/nsnet/conf/00-nsnet.conflist, else is built in.

Containers:
      --name ID             the container's id (default: random)
  -d, --detach              run in the background; see nsnet ps, exec, stop
  -h, --help                this text

Exit status: COMMAND's, 128+N if it was killed by signal N, 125 if nsnet itself failed,
126/127 if COMMAND could not be run or found.
)";
}

}  // namespace nsnet
