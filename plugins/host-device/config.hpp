#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>
#include <optional>
#include <string>

// The host-device plugin's network configuration: the reference host-device plugin's keys,
// except the PCI ones (no PCI network devices to test them on).
namespace plugins::host_device {

// How the host link is named; the first of device, hwaddr, kernelpath in the config wins, in the
// reference's order.
struct Config {
  std::string device;                              // a host link name
  std::optional<netcore::net::MacAddress> hwaddr;  // the host link with this MAC
  std::string kernelpath;                          // a /sys/devices/... path (kernel_path.hpp)
  std::string ipam_type;                           // "" = no IPAM addresses
  std::optional<netcore::cni::Dns> dns;

  [[nodiscard]] bool layer3() const noexcept { return !ipam_type.empty(); }
};

// Reads and checks the config of `args`. Throws Error:
//   kUnsupportedField (2)      pciBusID or runtimeConfig.deviceID (PCI devices are not supported)
//   kDecodingFailure (6)       a key of the wrong JSON type
//   kInvalidNetworkConfig (7)  none of device, hwaddr, kernelpath; a bad device name, MAC, or a
//                              kernelpath that is not under /sys/devices/ or contains ".."
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::host_device
