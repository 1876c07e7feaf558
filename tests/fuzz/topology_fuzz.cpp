// The lab topology parser (launcher/src/lab/topology.hpp): parse_topology, then what is derived
// from a valid topology without touching the system (the expanded checks, the cluster plan, each
// node's addresses, the Graphviz text); parse_rate and format_rate on the input as a rate.
// Invariants: parse_topology bounds the expanded checks by kMaxExpandedChecks, and plan_cluster
// does not throw on what parse_topology accepted (both documented).

#include <cstddef>
#include <cstdint>
#include <string>

#include "lab/graph.hpp"
#include "lab/lab_addresses.hpp"
#include "lab/topology.hpp"
#include "support.hpp"

namespace lab = nsnet::lab;
using nsnet::fuzz::fail;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = nsnet::fuzz::as_text(data, size);
  if (size <= 64) {
    try {
      const auto rate = lab::parse_rate(text);
      if (rate < 8) fail("parse_rate below its documented minimum: " + std::string(text));
      (void)lab::format_rate(rate);
    } catch (const netcore::Error&) {
    }
  }
  lab::Topology topology;
  try {
    topology = lab::parse_topology(text);
  } catch (const netcore::Error&) {
    return 0;
  }
  if (lab::all_checks(topology).size() > lab::kMaxExpandedChecks)
    fail("more expanded checks than kMaxExpandedChecks");
  if (topology.cluster) {
    try {
      (void)lab::plan_cluster(topology);
    } catch (const netcore::Error& e) {
      fail(std::string("plan_cluster threw on a parsed topology: ") + e.what());
    }
  }
  for (const auto& node : topology.nodes) {
    nsnet::fuzz::expect_cni_errors([&] {
      (void)lab::node_interfaces(topology, node.name);
      (void)lab::node_address(topology, node.name);
    });
  }
  (void)lab::to_dot(topology);
  return 0;
}
