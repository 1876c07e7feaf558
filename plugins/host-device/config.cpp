#include "config.hpp"

#include <filesystem>
#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/optional_ipam.hpp>
#include <netcore/net/link.hpp>

namespace plugins::host_device {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using netcore::throw_invalid_config;

namespace {

void check_kernel_path(const std::string& path) {
  const std::filesystem::path p(path);
  if (!p.is_absolute() || path.rfind("/sys/devices/", 0) != 0)
    throw_invalid_config("kernelpath \"" + path +
                         "\" must be absolute and begin with /sys/devices/");
  for (const auto& part : p)
    if (part == "..") throw_invalid_config("kernelpath \"" + path + "\" must not contain \"..\"");
}

}  // namespace

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  const auto pci = cni::optional_field<std::string>(conf, "pciBusID").value_or("");
  const auto device_id = args.runtime_config_field<std::string>("deviceID").value_or("");
  if (!pci.empty() || !device_id.empty())
    throw Error(ErrorCode::kUnsupportedField,
                std::string(pci.empty() ? "runtimeConfig.deviceID" : "pciBusID") +
                    ": nsnet host-device does not support PCI devices; name the link by device, "
                    "hwaddr or kernelpath");

  config.device = cni::optional_field<std::string>(conf, "device").value_or("");
  const auto hwaddr = cni::optional_field<std::string>(conf, "hwaddr").value_or("");
  config.kernelpath = cni::optional_field<std::string>(conf, "kernelpath").value_or("");
  if (!config.device.empty()) {
    cni::at_json_path("device", [&] {
      net::validate_link_name(config.device);
      return 0;
    });
  } else if (!hwaddr.empty()) {
    config.hwaddr = cni::at_json_path("hwaddr", [&] { return net::MacAddress::parse(hwaddr); });
  } else if (!config.kernelpath.empty()) {
    check_kernel_path(config.kernelpath);
  } else {
    throw_invalid_config("specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\"");
  }
  if (!config.device.empty() || config.hwaddr) config.kernelpath.clear();
  if (!config.device.empty()) config.hwaddr.reset();

  config.ipam_type = cni::optional_ipam_type(conf);
  config.dns = cni::config_dns(conf);
  return config;
}

}  // namespace plugins::host_device
