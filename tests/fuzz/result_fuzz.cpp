// CNI results across every spec version (netcore/cni/types.hpp, version.hpp): the input is parsed
// as a result (with each version as the config's, for results without their own "cniVersion"),
// converted to each version and dumped. The conversions must round-trip:
//  - nsnet's own output parses back with the version it was written for;
//  - 1.0.0 and 1.1.0 keep everything: parsing the output gives the same Result;
//  - 0.3.0 .. 0.4.0 drop only the 1.1.0-only fields (interface mtu, socketPath, pciID; route
//    mtu, advmss, priority, table, scope);
//  - every version is a fixed point after one conversion: writing the parsed output again gives
//    the same JSON (0.1.0/0.2.0 keep one address per family and only dst/gw of routes).
// The input is also read as a version string (parse_spec_version, compare_versions).

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include <netcore/cni/json.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/cni/version.hpp>

#include "support.hpp"

namespace {

namespace cni = netcore::cni;
using nsnet::fuzz::fail;

// What a pre-1.0.0 result keeps of `result`.
cni::Result without_1_1_fields(cni::Result result) {
  for (auto& iface : result.interfaces) {
    iface.mtu.reset();
    iface.socket_path.clear();
    iface.pci_id.clear();
  }
  for (auto& route : result.routes) {
    route.mtu.reset();
    route.advmss.reset();
    route.priority.reset();
    route.table.reset();
    route.scope.reset();
  }
  return result;
}

void check_conversions(const cni::Result& result, const std::string& input) {
  for (const auto version_view : cni::kSpecVersions) {
    const std::string version(version_view);
    nlohmann::json out;
    try {
      out = result.to_json(version);
    } catch (const netcore::Error& e) {
      // Documented: 0.1.0/0.2.0 cannot carry a result without addresses.
      if (cni::has_rich_result(version) || !result.ips.empty())
        fail("to_json(" + version + ") threw \"" + e.what() + "\" for " + input);
      continue;
    }
    const std::string text = cni::dump_json(out);
    cni::Result back;
    try {
      back = cni::Result::from_json(out, version);
    } catch (const netcore::Error& e) {
      fail("our own " + version + " output does not parse: " + e.what() + ": " + text);
    }
    if (version == "1.0.0" || version == "1.1.0") {
      if (back != result) fail(version + " conversion lost data: " + text + " from " + input);
    } else if (cni::has_rich_result(version)) {
      if (back != without_1_1_fields(result))
        fail(version + " conversion changed more than the 1.1.0 fields: " + text + " from " +
             input);
    }
    nlohmann::json again;
    try {
      again = back.to_json(version);
    } catch (const netcore::Error& e) {
      fail("re-converting our own " + version + " output threw: " + e.what() + ": " + text);
    }
    if (again != out)
      fail(version + " is not a fixed point: " + text + " then " + cni::dump_json(again));
  }
}

void check_version_text(const std::string& text) {
  const auto parsed = cni::parse_spec_version(text);
  if (cni::is_known_version(text) && !parsed) fail("known version does not parse: " + text);
  for (const auto known : cni::kSpecVersions) {
    try {
      const int c = cni::compare_versions(text, known);
      if (!parsed) fail("compare_versions accepted an unparsable version: " + text);
      if ((c == 0) != (*parsed == *cni::parse_spec_version(known)))
        fail("compare_versions disagrees with parse_spec_version on " + text);
      (void)cni::version_at_least(text, known);
    } catch (const netcore::Error&) {
      if (parsed) fail("compare_versions threw for a parsable version: " + text);
    }
  }
  (void)cni::supports_check(text);
  (void)cni::supports_gc(text);
  (void)cni::supports_status(text);
  (void)cni::has_rich_result(text);
  (void)cni::result_has_ip_version(text);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(nsnet::fuzz::as_text(data, size));
  if (size <= 64) check_version_text(input);
  nlohmann::json j;
  try {
    j = cni::parse_json(input, "result");
  } catch (const netcore::Error&) {
    return 0;
  }
  // The config's version matters only to a result without its own (non-empty) "cniVersion".
  const bool has_own_version = j.is_object() && j.contains("cniVersion") &&
                               j["cniVersion"].is_string() && !j["cniVersion"].empty();
  for (const auto config_version : cni::kSpecVersions) {
    if (has_own_version && config_version != cni::kSpecVersions.front()) break;
    cni::Result result;
    try {
      result = cni::Result::from_json(j, std::string(config_version));
    } catch (const netcore::Error&) {
      continue;
    }
    check_conversions(result, input);
  }
  return 0;
}
