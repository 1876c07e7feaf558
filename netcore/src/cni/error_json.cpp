#include "netcore/cni/error_json.hpp"

#include <cstdint>
#include <limits>

namespace netcore::cni {

nlohmann::json error_json(const std::string& version, const Error& error) {
  nlohmann::json j = {
      {"cniVersion", version}, {"code", static_cast<int>(error.code())}, {"msg", error.msg()}};
  if (!error.details().empty()) j["details"] = error.details();
  return j;
}

Error error_from_json(const nlohmann::json& j) {
  const auto text = [&](const char* key) -> std::string {
    const auto it = j.is_object() ? j.find(key) : j.end();
    return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : "";
  };
  ErrorCode code = ErrorCode::kInternal;
  if (j.is_object()) {
    const auto it = j.find("code");
    if (it != j.end() && it->is_number_unsigned() && it->get<std::uint64_t>() > 0 &&
        it->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
      code = static_cast<ErrorCode>(it->get<int>());
  }
  return Error(code, text("msg"), text("details"));
}

}  // namespace netcore::cni
