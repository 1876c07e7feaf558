// The lab directory's names: only what a topology may call a lab reaches the file system.

#include <gtest/gtest.h>

#include <netcore/base/error.hpp>

#include "lab/lab_dir.hpp"

namespace {

using nsnet::lab::LabDir;

TEST(LabDirNames, ValidNamesLiveBelowTheRoot) {
  for (const char* name : {"a", "vxlan4", "lab-1", "abcdefghijkl"})
    EXPECT_EQ(LabDir::path_of(name), LabDir::root() / name) << name;
}

TEST(LabDirNames, AnythingElseIsRefused) {
  for (const char* name : {"", "..", "../etc", "a/b", "/", "Lab", "-a", "abcdefghijklm", "a b",
                           "a.b", "a\nb"}) {
    try {
      (void)LabDir::path_of(name);
      ADD_FAILURE() << "accepted \"" << name << "\"";
    } catch (const netcore::Error& e) {
      EXPECT_EQ(e.code(), netcore::ErrorCode::kInvalidNetworkConfig);
      EXPECT_NE(std::string(e.what()).find("no lab can be called"), std::string::npos);
    }
  }
}

TEST(LabDirNames, NamespaceNamesOfNodesPodsAndSwitchesNeverCollide) {
  // A pod called "uts" or a node called "switches" must not meet another namespace's file.
  EXPECT_EQ(nsnet::lab::node_ns_name("switches"), "node.switches");
  EXPECT_EQ(nsnet::lab::node_uts_name("n1"), "uts.n1");
  EXPECT_EQ(nsnet::lab::pod_ns_name("n1", "uts"), "pod.n1.uts");
  EXPECT_NE(nsnet::lab::pod_ns_name("n1", "uts"), nsnet::lab::node_uts_name("n1"));
  EXPECT_NE(nsnet::lab::node_ns_name("switches"), nsnet::lab::kSwitchesNsName);
}

}  // namespace
