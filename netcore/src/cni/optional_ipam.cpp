#include "netcore/cni/optional_ipam.hpp"

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"

namespace netcore::cni {

std::string optional_ipam_type(const nlohmann::json& conf) {
  const auto ipam = conf.find("ipam");
  if (ipam == conf.end() || ipam->is_null()) return "";
  if (!ipam->is_object()) throw_invalid_config("ipam: must be an object");
  return at_json_path("ipam",
                      [&] { return optional_field<std::string>(*ipam, "type").value_or(""); });
}

}  // namespace netcore::cni
