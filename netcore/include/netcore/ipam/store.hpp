#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"

namespace netcore::ipam {

// Who holds an address: one interface of one container.
struct Owner {
  std::string container_id;
  std::string ifname;

  friend bool operator==(const Owner&, const Owner&) = default;
};

struct Reservation {
  net::IpAddress ip;
  Owner owner;  // ifname is empty for legacy (id-only) reservations
};

// Where reservations live. An implementation is used by one process at a time: the caller holds
// whatever lock the store needs for the whole operation (DiskStore holds its flock for its
// lifetime). Not thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // Records `ip` for `owner` unless it is taken; remembers it as the range set's last reserved
  // address. Returns false when another reservation holds it.
  [[nodiscard]] virtual bool reserve(const Owner& owner, const net::IpAddress& ip,
                                     std::size_t rangeset) = 0;
  [[nodiscard]] virtual std::optional<net::IpAddress> last_reserved(std::size_t rangeset) = 0;
  // Every address held by `owner` (legacy id-only reservations of its container included).
  [[nodiscard]] virtual std::vector<net::IpAddress> find_by_owner(const Owner& owner) = 0;
  // Releases every address held by `owner`; returns them. Missing reservations are not errors.
  virtual std::vector<net::IpAddress> release_by_owner(const Owner& owner) = 0;
  // Every reservation, for garbage collection.
  [[nodiscard]] virtual std::vector<Reservation> list() = 0;
  virtual void release(const net::IpAddress& ip) = 0;

  // A hint that lets an exhausted pool fail fast: true only when mark_exhausted(rangeset, key)
  // was called and nothing was released since. `key` identifies the range set's configuration.
  [[nodiscard]] virtual bool known_exhausted(std::size_t rangeset, const std::string& key) = 0;
  virtual void mark_exhausted(std::size_t rangeset, const std::string& key) = 0;
};

}  // namespace netcore::ipam
