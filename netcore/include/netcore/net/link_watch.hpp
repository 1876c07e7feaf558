#pragma once

// Waiting for a link to reach a state, driven by the kernel's link notifications (RTNLGRP_LINK)
// instead of sleeps: the reference bridge plugin polls a port with sleeps of 0, 50, 500, 1000
// and 1000 ms; this returns as soon as the kernel reports the change.

#include <chrono>
#include <functional>
#include <optional>

#include "netcore/base/unique_fd.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::net {

// Owns a netlink socket subscribed to the link notifications of the namespace of the thread
// that opened it. Move-only; not thread-safe (one waiter at a time).
class LinkWatch final {
 public:
  // Subscribes now: open the watch before making the change to wait for, so that no
  // notification can be missed. Throws SysError.
  [[nodiscard]] static LinkWatch open();

  // Waits until `reached` holds for link `index` (as get_link(nl, index) reports it), checking
  // at once and again after every notification, for at most `timeout`. Returns the link as it
  // was when `reached` held, nullopt on timeout. `nl` must be a socket of the same namespace.
  // Throws NetlinkError (NLE_NODEV when the link is gone), SysError when the watch fails.
  [[nodiscard]] std::optional<LinkInfo> wait_until(
      const Netlink& nl, int index, const std::function<bool(const LinkInfo&)>& reached,
      std::chrono::milliseconds timeout);

 private:
  explicit LinkWatch(UniqueFd fd) : fd_(std::move(fd)) {}
  // Reads and discards every queued notification; only "something changed" matters.
  void drain();

  UniqueFd fd_;
};

}  // namespace netcore::net
