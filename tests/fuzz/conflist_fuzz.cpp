// The conflist loader (netcore/cni/conflist.hpp): the input as a .conflist and as a single-plugin
// .conf, then the stdin config each plugin of the list would get (plugin_config), dumped.
// Invariants: a parsed list has plugins and runs at a version nsnet speaks; its bytes (for a
// .conf, the wrapping list libcni's result cache records) parse back to the same list.

#include <cstddef>
#include <cstdint>
#include <string>

#include <netcore/cni/conflist.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/version.hpp>

#include "support.hpp"

namespace {

void load(const std::string& text, bool is_single_plugin) {
  netcore::cni::NetworkList list;
  try {
    list = netcore::cni::NetworkList::parse(text, is_single_plugin);
  } catch (const netcore::Error&) {
    return;
  }
  if (list.plugins.empty()) nsnet::fuzz::fail("a list without plugins parsed: " + text);
  if (!netcore::cni::is_known_version(list.cni_version))
    nsnet::fuzz::fail("a list runs at unknown version \"" + list.cni_version + "\"");
  netcore::cni::NetworkList again;
  try {
    again = netcore::cni::NetworkList::parse(list.bytes);
  } catch (const netcore::Error& e) {
    nsnet::fuzz::fail(std::string("a list's own bytes do not parse: ") + e.what() + ": " +
                      list.bytes);
  }
  if (again.name != list.name || again.cni_version != list.cni_version ||
      again.disable_check != list.disable_check || again.disable_gc != list.disable_gc ||
      again.plugins != list.plugins || again.bytes != list.bytes)
    nsnet::fuzz::fail("a list's bytes parse to another list: " + list.bytes);
  netcore::cni::RuntimeConf rt{
      .container_id = "fuzz", .netns = "/run/netns/fuzz", .ifname = "eth0"};
  rt.capability_args = {{"portMappings", nlohmann::json::array()}, {"mac", "02:00:00:00:00:01"}};
  const std::optional<nlohmann::json> prev = nlohmann::json{{"cniVersion", list.cni_version}};
  for (const auto& plugin : list.plugins) {
    nsnet::fuzz::expect_cni_errors([&] {
      (void)netcore::cni::dump_json(netcore::cni::plugin_config(list, plugin, rt, prev));
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(nsnet::fuzz::as_text(data, size));
  load(text, false);
  load(text, true);
  return 0;
}
