#pragma once

// The container's /etc/resolv.conf and /etc/hosts, written into its state directory and
// bind-mounted over the originals inside its mount namespace (the host's files stay untouched).

#include <string>
#include <vector>

#include <netcore/cni/types.hpp>

namespace nsnet {

// Nameservers: `dns` (--dns) when given, else the first result's DNS; else the host's file with
// loopback nameservers dropped (they would point into the container itself). Search domains and
// options come from the result, else the host's file.
[[nodiscard]] std::string resolv_conf_text(const std::vector<netcore::cni::Result>& results,
                                           const std::vector<std::string>& dns,
                                           const std::string& host_resolv_conf);

// localhost entries, then the container's addresses with `hostname`.
[[nodiscard]] std::string hosts_text(const std::string& hostname,
                                     const std::vector<netcore::cni::Result>& results);

}  // namespace nsnet
