#pragma once

// `nsnet lab up`'s builder: turns a parsed topology into namespaces, links, switches, routes, a
// cluster pod network and pods attached through CNI plugins. Everything it makes lives inside
// the lab's own namespaces (bind-mounted under LabDir::ns_dir()), so removing the lab directory
// with its mounts removes the lab; nothing is added to the namespace nsnet runs in.

#include <filesystem>
#include <map>
#include <string>

#include <netcore/cni/conflist.hpp>

#include "lab/lab_dir.hpp"
#include "lab/topology.hpp"

namespace nsnet::lab {

// The networks each node's pods attach to: node -> network name -> the list as the plugins get
// it, with host-local's dataDir set to the lab's own per node.
using NodeNetworks = std::map<std::string, std::map<std::string, netcore::cni::NetworkList>>;

// Resolves every node's networks: inline lists as written, named ones from `conf_dir` (as
// libcni finds them), and "cluster" generated from the cluster plan (a bridge on cni0). Touches
// nothing, so a missing network is an error before anything exists. Throws netcore::Error
// naming the node and network.
[[nodiscard]] NodeNetworks resolve_networks(const Topology& topology, const std::filesystem::path& lab_path,
                                            const std::filesystem::path& conf_dir);

// Builds the lab in `dir`, saving `record` (pods, started commands) as it goes so that `down`
// finds everything after a crash. Pods of different nodes attach in parallel, `parallelism` at
// a time. Throws netcore::Error naming the object that failed; the caller then removes the lab.
void build_lab(const Topology& topology, const NodeNetworks& networks, const LabDir& dir,
               LabRecord& record, const netcore::cni::PluginRunner& runner, unsigned parallelism);

// The conflist of the cluster network on one node (exposed for the tests).
[[nodiscard]] std::string cluster_conflist(const ClusterPlan& plan, const ClusterNodePlan& node,
                                           const std::filesystem::path& ipam_dir);

}  // namespace nsnet::lab
