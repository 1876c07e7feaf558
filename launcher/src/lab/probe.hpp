#pragma once

// The reachability probe engine of `nsnet lab check` (issue #8): runs many probes (ICMP echo, TCP
// connect, UDP echo), each from a network namespace to an address, all at once, on the calling
// thread (epoll over non-blocking sockets). A 16-node x 8-pod full mesh is 16256 probes; an
// expected-unreachable probe costs one timeout, and all of them wait in parallel.
//
// Sockets are made inside their namespace with Netns::run (a socket stays in the netns it was
// created in), one run per namespace for every socket that namespace needs at that moment, and
// are then driven from the calling thread:
//  - ICMP: one raw socket per (source namespace, family), filtered to echo replies and
//    destination unreachables (ICMP_FILTER / ICMP6_FILTER); requests are told apart by ICMP id +
//    sequence and a payload naming this call and the probe. An echo request is resent every
//    `resend` until `to` itself answers or the timeout passes; a destination unreachable quoting
//    the request (a router without a route, a reject rule) ends the probe early. Needs
//    CAP_NET_RAW over the source namespace (root, or root of the user namespace owning it).
//  - TCP: a listener on `to:port` in `target` for the whole call (one per (target, address,
//    port), bound with IP_FREEBIND so that an address still in IPv6 DAD or missing is a probe
//    outcome, not a setup failure); if the port is taken (EADDRINUSE), whatever holds it
//    answers. Reached when the non-blocking connect from `from` completes.
//  - UDP: a listener on `to:port` in `target` that echoes each datagram back (again, if the port
//    is taken, whatever holds it must echo). The source sends a token on a connected socket every
//    `resend`; reached when the token comes back. An ICMP error on that socket (port
//    unreachable: "connection refused") ends the probe early.
// TCP and UDP probes hold a socket each: at most `max_in_flight` of them run at once, the rest
// wait for a free slot (their timeout starts when they do).
//
// Thread-safety: run_probes is reentrant; concurrent calls (even into the same namespaces) keep
// their replies apart. (But a tcp/udp probe of one call may be answered by another call's
// listener on the same address and port, and fail once that call has returned.) It starts no thread
// but Netns::run's short-lived ones, and closes every fd it opened before it returns or throws.
// Process-wide side effect: when a call needs more fds than the soft RLIMIT_NOFILE allows, the soft
// limit is raised (up to the hard limit) and left raised.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lab/topology.hpp"
#include "netcore/net/ip.hpp"
#include "netcore/net/netns.hpp"

namespace nsnet::lab {

// One reachability probe: can `from` reach `to` over `proto`?
struct Probe {
  const netcore::net::Netns* from = nullptr;  // source namespace (borrowed); required
  netcore::net::IpAddress to;                 // destination address; required
  // The namespace owning `to`, where tcp/udp listeners are bound for the call (borrowed). Null:
  // `to` is outside the lab, and something must already listen (and, for udp, echo) there.
  // Ignored for icmp (the kernel answers echo requests).
  const netcore::net::Netns* target = nullptr;
  Proto proto = Proto::kIcmp;
  std::uint16_t port = 0;  // tcp and udp: required (not 0)
};

struct ProbeOutcome {
  bool reached = false;
  // Reached: icmp and udp, from sending the request (echo, token) that was answered to its
  // answer; tcp, from connect to its completion. 0 when not reached.
  std::chrono::microseconds rtt{0};
  // Empty when reached. Otherwise why not: "timeout"; "connection refused" (tcp RST, udp port
  // unreachable); "network unreachable" (no route, in the source namespace or reported by a
  // router); "host unreachable"; "administratively prohibited" (icmp: a reject rule);
  // "port unreachable", "protocol unreachable" (icmp); or the system's text of another errno,
  // lowercase ("permission denied"). Routers rate-limit their ICMP errors, so of many probes
  // into one unreachable network some may say "timeout" instead.
  std::string detail;
};

struct ProbeOptions {
  // How long each probe may take from its first packet; a probe not answered by then is
  // "timeout".
  std::chrono::milliseconds timeout{2000};
  // Interval between echo requests (icmp) and tokens (udp) of one probe.
  std::chrono::milliseconds resend{250};
  // TCP and UDP probes with a socket open at once (lowered if RLIMIT_NOFILE cannot fit them).
  std::size_t max_in_flight = 1024;
};

// Runs every probe concurrently; returns one outcome per probe, in order. Per-probe failures
// (no route, refused, no answer) are outcomes. Throws Error(kInvalidNetworkConfig) "probe N: ..."
// for a probe without `from`, with an unspecified `to` (0.0.0.0, ::), or tcp/udp without a port,
// and "probe options: ..." for a timeout or resend interval that is not positive, before anything
// is opened. Throws SysError naming the operation and the address when setup fails: a socket that
// cannot be created (e.g. EPERM for a raw socket without CAP_NET_RAW, EMFILE), a listener that
// cannot be bound for a reason other than EADDRINUSE (e.g. EACCES for a privileged port), epoll.
[[nodiscard]] std::vector<ProbeOutcome> run_probes(const std::vector<Probe>& probes,
                                                   const ProbeOptions& options = {});

}  // namespace nsnet::lab
