#include "lab/probe.hpp"

#include <arpa/inet.h>
#include <linux/icmp.h>  // ICMP_FILTER; not <netinet/ip_icmp.h>: both define struct icmphdr
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"

namespace nsnet::lab {
namespace {

using Clock = std::chrono::steady_clock;
using netcore::Error;
using netcore::ErrorCode;
using netcore::UniqueFd;
using netcore::net::address_family;
using netcore::net::IpAddress;
using netcore::net::Netns;

constexpr std::size_t kSendBurst = 128;  // echo requests sent between two drains of the replies
constexpr int kMaxEvents = 256;
constexpr int kListenBacklog = 4096;
constexpr int kIcmpReceiveBuffer = 1 << 20;  // replies to a whole burst, from one namespace
constexpr std::size_t kFdSlack = 64;         // fds left for the rest of the process
constexpr int kMaxWaitMs = 1000;
constexpr std::size_t kDrainLimit = 256;  // datagrams or connections handled per event

// What a probe's payload carries (echo data, UDP token): which call, which probe, when sent.
constexpr std::size_t kTokenSize = 24;
struct Token {
  std::uint64_t nonce = 0;
  std::uint32_t index = 0;
  std::int64_t sent_ns = 0;  // steady clock
};

void write_token(const Token& token, unsigned char* out) {
  std::memset(out, 0, kTokenSize);
  std::memcpy(out, &token.nonce, sizeof token.nonce);
  std::memcpy(out + 8, &token.index, sizeof token.index);
  std::memcpy(out + 16, &token.sent_ns, sizeof token.sent_ns);
}

std::optional<Token> read_token(const unsigned char* in, std::size_t length, std::uint64_t nonce) {
  if (length < kTokenSize) return std::nullopt;
  Token token;
  std::memcpy(&token.nonce, in, sizeof token.nonce);
  std::memcpy(&token.index, in + 8, sizeof token.index);
  std::memcpy(&token.sent_ns, in + 16, sizeof token.sent_ns);
  if (token.nonce != nonce) return std::nullopt;
  return token;
}

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SockAddr to_sockaddr(const IpAddress& ip, std::uint16_t port) {
  SockAddr out;
  if (ip.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    const auto bytes = ip.to_v4().to_bytes();
    std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
    std::memcpy(&out.storage, &sin, sizeof sin);
    out.length = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    const auto bytes = ip.to_v6().to_bytes();
    std::memcpy(&sin6.sin6_addr, bytes.data(), bytes.size());
    sin6.sin6_scope_id = ip.to_v6().scope_id();
    std::memcpy(&out.storage, &sin6, sizeof sin6);
    out.length = sizeof sin6;
  }
  return out;
}

// The address of a received packet's sender, as bytes comparable to an IpAddress's (scope
// ignored).
bool same_address(const sockaddr_storage& from, const IpAddress& ip) {
  if (from.ss_family == AF_INET && ip.is_v4()) {
    const auto bytes = ip.to_v4().to_bytes();
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, bytes.data(),
                       bytes.size()) == 0;
  }
  if (from.ss_family == AF_INET6 && ip.is_v6()) {
    const auto bytes = ip.to_v6().to_bytes();
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr, bytes.data(),
                       bytes.size()) == 0;
  }
  return false;
}

std::string endpoint_text(const IpAddress& ip, std::uint16_t port) {
  return ip.is_v4() ? ip.to_string() + ":" + std::to_string(port)
                    : "[" + ip.to_string() + "]:" + std::to_string(port);
}

std::string proto_text(Proto proto) { return std::string(to_string(proto)); }

// An outcome's detail for a failed send, connect or receive.
std::string describe_error(int error) {
  switch (error) {
    case ECONNREFUSED:
      return "connection refused";
    case ENETUNREACH:
      return "network unreachable";
    case EHOSTUNREACH:
      return "host unreachable";
    case ETIMEDOUT:
      return "timeout";
    default:
      break;
  }
  std::string text = std::system_category().message(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// The header length of the IPv4 packet at `packet`; 0 if it is not a whole IPv4 header.
std::size_t ipv4_header_length(const unsigned char* packet, std::size_t length) {
  if (length < 20 || (packet[0] >> 4) != 4) return 0;
  const std::size_t header = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  return header >= 20 && header <= length ? header : 0;
}

// An outcome's detail for an ICMP destination unreachable (v4) / ICMPv6 (v6) code.
std::string describe_unreachable(bool v4, unsigned code) {
  if (v4) {
    switch (code) {
      case ICMP_NET_UNREACH:
      case ICMP_NET_UNKNOWN:
        return "network unreachable";
      case ICMP_HOST_UNREACH:
      case ICMP_HOST_UNKNOWN:
        return "host unreachable";
      case ICMP_PROT_UNREACH:
        return "protocol unreachable";
      case ICMP_PORT_UNREACH:
        return "port unreachable";
      case ICMP_NET_ANO:
      case ICMP_HOST_ANO:
      case ICMP_PKT_FILTERED:
        return "administratively prohibited";
      default:
        return "destination unreachable (code " + std::to_string(code) + ")";
    }
  }
  switch (code) {
    case ICMP6_DST_UNREACH_NOROUTE:
      return "network unreachable";
    case ICMP6_DST_UNREACH_ADDR:
      return "host unreachable";
    case ICMP6_DST_UNREACH_NOPORT:
      return "port unreachable";
    case ICMP6_DST_UNREACH_ADMIN:
    case 5:  // source address failed ingress/egress policy (RFC 4443)
    case 6:  // reject route to destination
      return "administratively prohibited";
    default:
      return "destination unreachable (code " + std::to_string(code) + ")";
  }
}

bool is_transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == EINTR;
}

// The Internet checksum (RFC 1071) of an ICMPv4 message; ICMPv6's is the kernel's.
std::uint16_t inet_checksum(const unsigned char* data, std::size_t length) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (length % 2 != 0) sum += data[length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// A raw ICMP socket of `family` that only receives echo replies and destination unreachables. Call
// inside the namespace.
UniqueFd open_icmp_socket(int family) {
  const bool v4 = family == AF_INET;
  const int protocol = v4 ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  UniqueFd fd(::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd) netcore::throw_errno(v4 ? "create raw icmp socket" : "create raw icmpv6 socket");
  if (v4) {
    icmp_filter filter{};
    filter.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH));  // blocked types' bits
    if (::setsockopt(fd.get(), SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0)
      netcore::throw_errno("set ICMP_FILTER on raw icmp socket");
  } else {
    icmp6_filter filter{};
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
    if (::setsockopt(fd.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0)
      netcore::throw_errno("set ICMP6_FILTER on raw icmpv6 socket");
  }
  // Room for the replies to a burst: beyond net.core.rmem_max if we may (CAP_NET_ADMIN in the
  // initial user namespace), else as far as it goes. Either is only an optimisation (a lost reply
  // is resent), so failures are ignored.
  const int size = kIcmpReceiveBuffer;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

// A listener on address:port (tcp: listening; udp: bound), or an empty fd when the port is
// taken. Call inside the namespace.
UniqueFd open_listener(Proto proto, const IpAddress& address, std::uint16_t port) {
  const std::string name = proto_text(proto) + " listener " + endpoint_text(address, port);
  const int family = address_family(address);
  UniqueFd fd(::socket(
      family, (proto == Proto::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) netcore::throw_errno("create " + name);
  const int one = 1;
  // TCP: a connection of an earlier call in TIME_WAIT must not look like a listener (a live
  // listener still makes bind fail). Not for UDP: there it would share the port.
  if (proto == Proto::kTcp &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    netcore::throw_errno("set SO_REUSEADDR on " + name);
  if (family == AF_INET
          ? ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0
          : ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) != 0)
    netcore::throw_errno("set freebind on " + name);
  const SockAddr local = to_sockaddr(address, port);
  if (::bind(fd.get(), local.get(), local.length) != 0) {
    if (errno == EADDRINUSE) return {};
    netcore::throw_errno("bind " + name);
  }
  if (proto == Proto::kTcp && ::listen(fd.get(), kListenBacklog) != 0)
    netcore::throw_errno("listen " + name);
  return fd;
}

// Raises the soft RLIMIT_NOFILE to the hard limit when `needed` more fds do not fit; returns how
// many more fds fit now.
std::size_t make_room_for_fds(std::size_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) netcore::throw_errno("get RLIMIT_NOFILE");
  std::size_t open = 0;
  std::error_code ignored;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ignored);
       it != std::filesystem::directory_iterator(); it.increment(ignored)) {
    if (ignored) break;
    ++open;
  }
  if (open + needed > limit.rlim_cur && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) netcore::throw_errno("raise RLIMIT_NOFILE");
  }
  return limit.rlim_cur > open ? limit.rlim_cur - open : 0;
}

// epoll tags: what an fd is (high 32 bits) and its index (low 32 bits).
enum class Kind : std::uint64_t { kIcmpSocket = 1, kListener = 2, kStream = 3 };
std::uint64_t tag(Kind kind, std::size_t index) {
  return (static_cast<std::uint64_t>(kind) << 32) | static_cast<std::uint32_t>(index);
}

struct IcmpSocket {
  const Netns* netns = nullptr;
  int family = AF_INET;
  UniqueFd fd;
};

struct Listener {
  const Netns* netns = nullptr;
  Proto proto = Proto::kTcp;
  IpAddress address;
  std::uint16_t port = 0;
  UniqueFd fd;  // empty: the port was taken; whatever holds it answers
};

enum class Phase : std::uint8_t { kWaiting, kActive, kDone };

struct ProbeState {
  Phase phase = Phase::kWaiting;
  Clock::time_point started{};
  Clock::time_point deadline{};
  SockAddr destination;
  std::size_t icmp_socket = 0;  // icmp
  UniqueFd fd;                  // tcp and udp: the source socket
};

// One call of run_probes. Not thread-safe; used by one thread.
class ProbeRun final {
 public:
  ProbeRun(const std::vector<Probe>& probes, const ProbeOptions& options)
      : probes_(probes), options_(options), outcomes_(probes.size()), states_(probes.size()) {
    std::random_device random;
    nonce_ = (static_cast<std::uint64_t>(random()) << 32) | random();
    icmp_id_ = static_cast<std::uint16_t>(nonce_ ^ (nonce_ >> 16) ^ (nonce_ >> 32));
  }

  std::vector<ProbeOutcome> run() {
    validate();
    open_sockets();
    for (;;) {
      start_streams();
      send_echoes();
      if (done_ == probes_.size()) break;  // the last ones may have failed to send
      epoll_event events[kMaxEvents];
      const int count = ::epoll_wait(epoll_.get(), events, kMaxEvents, wait_ms());
      if (count < 0) {
        if (errno == EINTR) continue;
        netcore::throw_errno("wait for probe sockets");
      }
      for (int i = 0; i < count; ++i) handle(events[i]);
      fire_timers();
    }
    return std::move(outcomes_);
  }

 private:
  void validate() const {
    if (options_.timeout.count() <= 0 || options_.resend.count() <= 0)
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "probe options: timeout and resend must be positive");
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      const Probe& probe = probes_[i];
      if (probe.from == nullptr)
        throw Error(ErrorCode::kInvalidNetworkConfig,
                    "probe " + std::to_string(i) + ": no source namespace");
      if (probe.to.is_unspecified())
        throw Error(ErrorCode::kInvalidNetworkConfig,
                    "probe " + std::to_string(i) + ": no destination address");
      if (probe.proto != Proto::kIcmp && probe.port == 0)
        throw Error(
            ErrorCode::kInvalidNetworkConfig,
            "probe " + std::to_string(i) + ": " + proto_text(probe.proto) + " needs a port");
    }
  }

  // Listeners first (so that no probe starts before its listener), then the ICMP sockets: one
  // Netns::run per namespace each. TCP and UDP source sockets come later, in batches.
  void open_sockets() {
    std::map<std::tuple<const Netns*, Proto, IpAddress, std::uint16_t>, std::size_t> listener_of;
    std::map<std::pair<const Netns*, int>, std::size_t> icmp_of;
    std::size_t streams = 0;
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      const Probe& probe = probes_[i];
      ProbeState& state = states_[i];
      state.destination = to_sockaddr(probe.to, probe.proto == Proto::kIcmp ? 0 : probe.port);
      if (probe.proto == Proto::kIcmp) {
        const auto key = std::make_pair(probe.from, address_family(probe.to));
        auto [it, added] = icmp_of.try_emplace(key, icmp_sockets_.size());
        if (added) icmp_sockets_.push_back({.netns = probe.from, .family = key.second, .fd = {}});
        state.icmp_socket = it->second;
        echo_queue_.push_back(i);
        continue;
      }
      ++streams;
      stream_queue_.push_back(i);
      if (probe.target == nullptr) continue;
      const auto key = std::make_tuple(probe.target, probe.proto, probe.to, probe.port);
      if (listener_of.try_emplace(key, listeners_.size()).second)
        listeners_.push_back({.netns = probe.target,
                              .proto = probe.proto,
                              .address = probe.to,
                              .port = probe.port,
                              .fd = {}});
    }

    const std::size_t fixed = listeners_.size() + icmp_sockets_.size() + 1;
    const std::size_t wanted = std::min(options_.max_in_flight, streams);
    const std::size_t room = make_room_for_fds(fixed + wanted + kFdSlack);
    max_in_flight_ = std::max<std::size_t>(
        1, std::min(wanted, room > fixed + kFdSlack ? room - fixed - kFdSlack : 0));

    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) netcore::throw_errno("create epoll for probes");

    for (const auto& [netns, members] : group_by_netns(listeners_)) {
      netns->run([&, &members = members] {
        for (const std::size_t i : members) {
          Listener& l = listeners_[i];
          l.fd = open_listener(l.proto, l.address, l.port);
        }
      });
      for (const std::size_t i : members)
        if (listeners_[i].fd) watch(listeners_[i].fd.get(), EPOLLIN, tag(Kind::kListener, i));
    }
    for (const auto& [netns, members] : group_by_netns(icmp_sockets_)) {
      netns->run([&, &members = members] {
        for (const std::size_t i : members)
          icmp_sockets_[i].fd = open_icmp_socket(icmp_sockets_[i].family);
      });
      for (const std::size_t i : members)
        watch(icmp_sockets_[i].fd.get(), EPOLLIN, tag(Kind::kIcmpSocket, i));
    }
  }

  template <class T>
  static std::map<const Netns*, std::vector<std::size_t>> group_by_netns(const std::vector<T>& v) {
    std::map<const Netns*, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < v.size(); ++i) groups[v[i].netns].push_back(i);
    return groups;
  }

  void watch(int fd, std::uint32_t events, std::uint64_t data) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = data;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
      netcore::throw_errno("watch probe socket");
  }

  // Starts waiting TCP and UDP probes in batches: when at most half the slots are in use, fills
  // them all, with one Netns::run per source namespace for the batch's sockets.
  void start_streams() {
    if (stream_queue_.empty() || in_flight_ > max_in_flight_ / 2) return;
    const std::size_t count = std::min(max_in_flight_ - in_flight_, stream_queue_.size());
    std::map<const Netns*, std::vector<std::size_t>> batch;
    for (std::size_t n = 0; n < count; ++n) {
      const std::size_t i = stream_queue_.front();
      stream_queue_.pop_front();
      batch[probes_[i].from].push_back(i);
    }
    for (const auto& [netns, members] : batch) {
      // The init-capture: clang 14 cannot capture a structured binding.
      auto fds = netns->run([&, &members = members] {
        std::vector<UniqueFd> out;
        out.reserve(members.size());
        for (const std::size_t i : members) {
          const Probe& probe = probes_[i];
          UniqueFd fd(::socket(address_family(probe.to),
                               (probe.proto == Proto::kTcp ? SOCK_STREAM : SOCK_DGRAM) |
                                   SOCK_NONBLOCK | SOCK_CLOEXEC,
                               0));
          if (!fd)
            netcore::throw_errno("create " + proto_text(probe.proto) + " socket for probe " +
                                 endpoint_text(probe.to, probe.port));
          out.push_back(std::move(fd));
        }
        return out;
      });
      for (std::size_t n = 0; n < members.size(); ++n) begin_stream(members[n], std::move(fds[n]));
    }
  }

  void begin_stream(std::size_t i, UniqueFd fd) {
    const Probe& probe = probes_[i];
    ProbeState& state = states_[i];
    state.phase = Phase::kActive;
    state.started = Clock::now();
    state.deadline = state.started + options_.timeout;
    state.fd = std::move(fd);
    ++in_flight_;
    if (probe.proto == Proto::kTcp) {
      // Close with a reset: no TIME_WAIT left behind on either side.
      const linger reset{.l_onoff = 1, .l_linger = 0};
      (void)::setsockopt(state.fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    if (::connect(state.fd.get(), state.destination.get(), state.destination.length) != 0 &&
        errno != EINPROGRESS) {
      finish(i, false, describe_error(errno));
      return;
    }
    if (probe.proto == Proto::kTcp) {
      // Also on an immediate success: EPOLLOUT reports it at once.
      watch(state.fd.get(), EPOLLOUT, tag(Kind::kStream, i));
      timers_.emplace(state.deadline, i);
      return;
    }
    watch(state.fd.get(), EPOLLIN, tag(Kind::kStream, i));
    send_token(i);
  }

  void send_token(std::size_t i) {
    ProbeState& state = states_[i];
    const auto now = Clock::now();
    unsigned char payload[kTokenSize];
    write_token({.nonce = nonce_, .index = static_cast<std::uint32_t>(i), .sent_ns = to_ns(now)},
                payload);
    if (::send(state.fd.get(), payload, sizeof payload, MSG_NOSIGNAL) < 0 && !is_transient(errno)) {
      finish(i, false, describe_error(errno));
      return;
    }
    timers_.emplace(std::min(now + options_.resend, state.deadline), i);
  }

  // Sends up to kSendBurst due echo requests, so that replies are drained between bursts
  // rather than overflowing the receive buffers.
  void send_echoes() {
    const auto now = Clock::now();
    for (std::size_t n = 0; n < kSendBurst && !echo_queue_.empty(); ++n) {
      const std::size_t i = echo_queue_.front();
      echo_queue_.pop_front();
      ProbeState& state = states_[i];
      if (state.phase == Phase::kDone) continue;
      if (state.phase == Phase::kWaiting) {
        state.phase = Phase::kActive;
        state.started = now;
        state.deadline = now + options_.timeout;
      } else if (now >= state.deadline) {
        finish(i, false, "timeout");
        continue;
      }
      send_echo(i, now);
    }
  }

  void send_echo(std::size_t i, Clock::time_point now) {
    ProbeState& state = states_[i];
    const IcmpSocket& socket = icmp_sockets_[state.icmp_socket];
    const bool v4 = socket.family == AF_INET;
    std::array<unsigned char, 8 + kTokenSize> packet{};
    packet[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
    packet[4] = static_cast<unsigned char>(icmp_id_ >> 8);
    packet[5] = static_cast<unsigned char>(icmp_id_);
    packet[6] = static_cast<unsigned char>(i >> 8);
    packet[7] = static_cast<unsigned char>(i);
    write_token({.nonce = nonce_, .index = static_cast<std::uint32_t>(i), .sent_ns = to_ns(now)},
                packet.data() + 8);
    if (v4) {
      const std::uint16_t sum = inet_checksum(packet.data(), packet.size());
      packet[2] = static_cast<unsigned char>(sum >> 8);
      packet[3] = static_cast<unsigned char>(sum);
    }
    if (::sendto(socket.fd.get(), packet.data(), packet.size(), 0, state.destination.get(),
                 state.destination.length) < 0 &&
        !is_transient(errno)) {
      finish(i, false, describe_error(errno));  // e.g. no route: the kernel will not send it
      return;
    }
    timers_.emplace(std::min(now + options_.resend, state.deadline), i);
  }

  void handle(const epoll_event& event) {
    const auto kind = static_cast<Kind>(event.data.u64 >> 32);
    const std::size_t index = event.data.u64 & 0xffffffffu;
    switch (kind) {
      case Kind::kIcmpSocket:
        read_icmp(index);
        break;
      case Kind::kListener:
        if (listeners_[index].proto == Proto::kTcp)
          accept_connections(listeners_[index]);
        else
          echo_datagrams(listeners_[index]);
        break;
      case Kind::kStream:
        if (states_[index].phase != Phase::kActive) break;
        if (probes_[index].proto == Proto::kTcp)
          complete_connect(index, event.events);
        else
          read_token_echo(index);
        break;
    }
  }

  // Echo replies, and destination-unreachable errors quoting one of our echo requests.
  void read_icmp(std::size_t socket_index) {
    const IcmpSocket& socket = icmp_sockets_[socket_index];
    const bool v4 = socket.family == AF_INET;
    unsigned char buffer[2048];
    for (;;) {
      sockaddr_storage from{};
      socklen_t from_length = sizeof from;
      const ssize_t received = ::recvfrom(socket.fd.get(), buffer, sizeof buffer, 0,
                                          reinterpret_cast<sockaddr*>(&from), &from_length);
      if (received < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN: drained (a raw socket without IP_RECVERR reports no other errors)
      }
      const auto now = Clock::now();
      const auto length = static_cast<std::size_t>(received);
      // A raw IPv4 socket receives the IP header too; an IPv6 one starts at the ICMPv6 header.
      const std::size_t offset = v4 ? ipv4_header_length(buffer, length) : 0;
      if (offset == 0 && v4) continue;
      if (length < offset + 8) continue;
      const unsigned char* icmp = buffer + offset;
      const std::size_t icmp_length = length - offset;
      if (icmp[0] == (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY)) {
        const auto match = match_echo(icmp, icmp_length, socket_index);
        if (match && same_address(from, probes_[match->first].to))
          finish(match->first, true, {},
                 now - Clock::time_point(std::chrono::nanoseconds(match->second)));
        continue;
      }
      // Destination unreachable: its data is the start of the packet that failed (our echo
      // request, with its IP header). Sent by a router on the way or the destination itself
      // (a reject rule); the kernel rate-limits them, so other probes may still time out.
      if (icmp[0] != (v4 ? ICMP_DEST_UNREACH : ICMP6_DST_UNREACH)) continue;
      const unsigned char* inner = icmp + 8;
      const std::size_t inner_length = icmp_length - 8;
      std::size_t inner_header = 0;
      if (v4) {
        inner_header = ipv4_header_length(inner, inner_length);
      } else if (inner_length >= 40 && (inner[0] >> 4) == 6 && inner[6] == IPPROTO_ICMPV6) {
        inner_header = 40;  // no extension headers: we send none
      }
      if (inner_header == 0 || inner_length < inner_header + 8) continue;
      const unsigned char* echo = inner + inner_header;
      if (echo[0] != (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST)) continue;
      if (const auto match = match_echo(echo, inner_length - inner_header, socket_index))
        finish(match->first, false, describe_unreachable(v4, icmp[1]));
    }
  }

  // The active probe an echo message (request or reply: id, sequence, token) belongs to, and
  // when it was sent; nullopt when it is not one of this call's on this socket.
  [[nodiscard]] std::optional<std::pair<std::size_t, std::int64_t>> match_echo(
      const unsigned char* echo, std::size_t length, std::size_t socket_index) const {
    if (length < 8 || echo[1] != 0 || ((echo[4] << 8) | echo[5]) != icmp_id_) return std::nullopt;
    const auto token = read_token(echo + 8, length - 8, nonce_);
    if (!token || token->index >= probes_.size()) return std::nullopt;
    const std::size_t i = token->index;
    if (((echo[6] << 8) | echo[7]) != static_cast<int>(i & 0xffff)) return std::nullopt;
    if (probes_[i].proto != Proto::kIcmp || states_[i].icmp_socket != socket_index ||
        states_[i].phase != Phase::kActive)
      return std::nullopt;
    return std::make_pair(i, token->sent_ns);
  }

  void accept_connections(const Listener& listener) {
    for (std::size_t n = 0; n < kDrainLimit; ++n) {
      const UniqueFd accepted(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (accepted) continue;  // the connect completing was the probe; close at once
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: drained; EMFILE and the like: the connection was established anyway
    }
  }

  void echo_datagrams(const Listener& listener) {
    unsigned char buffer[2048];
    for (std::size_t n = 0; n < kDrainLimit; ++n) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      const ssize_t received = ::recvfrom(listener.fd.get(), buffer, sizeof buffer, 0,
                                          reinterpret_cast<sockaddr*>(&peer), &peer_length);
      if (received < 0) {
        if (errno == EINTR) continue;
        return;
      }
      // A failed echo is a lost datagram: the source resends.
      (void)::sendto(listener.fd.get(), buffer, static_cast<std::size_t>(received), MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&peer), peer_length);
    }
  }

  void complete_connect(std::size_t i, std::uint32_t events) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(states_[i].fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
      error = errno;
    if (error == 0 && (events & EPOLLOUT) != 0 && (events & (EPOLLERR | EPOLLHUP)) == 0) {
      finish(i, true, {}, Clock::now() - states_[i].started);
      return;
    }
    finish(i, false, error != 0 ? describe_error(error) : "connection closed");
  }

  void read_token_echo(std::size_t i) {
    unsigned char buffer[2048];
    for (;;) {
      const ssize_t received = ::recv(states_[i].fd.get(), buffer, sizeof buffer, 0);
      if (received < 0) {
        if (errno == EINTR) continue;
        // A pending ICMP error on the connected socket: port unreachable (ECONNREFUSED), host
        // or network unreachable.
        if (!is_transient(errno)) finish(i, false, describe_error(errno));
        return;
      }
      const auto token = read_token(buffer, static_cast<std::size_t>(received), nonce_);
      if (token && token->index == i) {
        finish(i, true, {},
               Clock::now() - Clock::time_point(std::chrono::nanoseconds(token->sent_ns)));
        return;
      }
    }
  }

  // Resends (icmp, udp) and timeouts that are due.
  void fire_timers() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.top().first <= now) {
      const std::size_t i = timers_.top().second;
      timers_.pop();
      ProbeState& state = states_[i];
      if (state.phase != Phase::kActive) continue;
      if (now >= state.deadline) {
        finish(i, false, "timeout");
      } else if (probes_[i].proto == Proto::kIcmp) {
        echo_queue_.push_back(i);
      } else if (probes_[i].proto == Proto::kUdp) {
        send_token(i);
      } else {
        timers_.emplace(state.deadline, i);
      }
    }
  }

  [[nodiscard]] int wait_ms() const {
    if (!echo_queue_.empty()) return 0;
    if (timers_.empty()) return kMaxWaitMs;
    const auto left = timers_.top().first - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<std::int64_t>(ms, kMaxWaitMs));
  }

  void finish(std::size_t i, bool reached, std::string detail, Clock::duration rtt = {}) {
    ProbeState& state = states_[i];
    if (state.phase == Phase::kDone) return;
    if (state.fd) {
      state.fd.reset();  // also leaves the epoll set: the fd has no duplicates
      --in_flight_;
    }
    state.phase = Phase::kDone;
    ProbeOutcome& outcome = outcomes_[i];
    outcome.reached = reached;
    outcome.rtt = reached ? std::max(std::chrono::duration_cast<std::chrono::microseconds>(rtt),
                                     std::chrono::microseconds(0))
                          : std::chrono::microseconds(0);
    outcome.detail = std::move(detail);
    ++done_;
  }

  const std::vector<Probe>& probes_;
  const ProbeOptions& options_;
  std::vector<ProbeOutcome> outcomes_;
  std::vector<ProbeState> states_;
  std::uint64_t nonce_ = 0;
  std::uint16_t icmp_id_ = 0;
  std::size_t done_ = 0;
  std::size_t in_flight_ = 0;  // tcp and udp probes holding a socket
  std::size_t max_in_flight_ = 1;
  std::vector<IcmpSocket> icmp_sockets_;
  std::vector<Listener> listeners_;
  std::deque<std::size_t> echo_queue_;    // icmp probes due for an echo request
  std::deque<std::size_t> stream_queue_;  // tcp and udp probes waiting for a slot
  using Timer = std::pair<Clock::time_point, std::size_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  UniqueFd epoll_;  // last member: closed first, before the sockets it watches
};

}  // namespace

std::vector<ProbeOutcome> run_probes(const std::vector<Probe>& probes,
                                     const ProbeOptions& options) {
  if (probes.empty()) return {};
  return ProbeRun(probes, options).run();
}

}  // namespace nsnet::lab
