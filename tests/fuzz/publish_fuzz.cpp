// `nsnet run --publish [HOSTIP:]HOSTPORT:CTRPORT[/PROTO]` (launcher/src/run/publish.hpp):
// parse_publish, which throws std::invalid_argument for a bad spec (documented). Invariant: an
// accepted spec gives a portMappings entry with ports in 1-65535 and a protocol.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <netcore/cni/json.hpp>

#include "run/publish.hpp"
#include "support.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string spec(nsnet::fuzz::as_text(data, size));
  nlohmann::json mapping;
  try {
    mapping = nsnet::parse_publish(spec);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (const char* key : {"hostPort", "containerPort"}) {
    const auto it = mapping.find(key);
    if (it == mapping.end() || !it->is_number_integer() || *it == 0 || *it > 65535)
      nsnet::fuzz::fail(std::string("--publish ") + spec + ": bad " + key + " in " +
                        netcore::cni::dump_json(mapping));
  }
  if (!mapping.contains("protocol") || !mapping["protocol"].is_string())
    nsnet::fuzz::fail("--publish " + spec + ": no protocol in " + netcore::cni::dump_json(mapping));
  return 0;
}
