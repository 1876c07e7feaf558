// Where `nsnet run` and `nsnet net` find a network: the CNI config dir, then, for the default
// network only, nsnet's installed conf dirs (share/nsnet/conf), then the compiled-in copy.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cni_setup.hpp"
#include "netcore/base/error.hpp"
#include "support/expect_error.hpp"

namespace {

namespace fs = std::filesystem;

// A conflist named `name` whose one bridge plugin is called `bridge`: the bridge tells which file
// a list came from.
void write_bridge_conflist(const fs::path& file, const std::string& name, const std::string& bridge) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << R"({"cniVersion": "1.1.0", "name": ")" << name
                      << R"(", "plugins": [{"type": "bridge", "bridge": ")" << bridge << R"("}]})";
}

class FindNetworkSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(root_);
    fs::create_directories(conf_dir_);
    fs::create_directories(installed_a_);
    fs::create_directories(installed_b_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string bridge_of(const netcore::cni::NetworkList& list) {
    return list.plugins.at(0).value("bridge", "");
  }

  fs::path root_ = fs::temp_directory_path() / ("nsnet-cni-setup-" + std::to_string(::getpid()));
  fs::path conf_dir_ = root_ / "net.d";
  fs::path installed_a_ = root_ / "a/share/nsnet/conf";
  fs::path installed_b_ = root_ / "b/share/nsnet/conf";
};

TEST_F(FindNetworkSpecTest, DefaultNetworkComesFromTheConfigDirFirst) {
  write_bridge_conflist(conf_dir_ / "50-mine.conflist", "nsnet", "fromconf");
  write_bridge_conflist(installed_a_ / "00-nsnet.conflist", "nsnet", "frominstalled");
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {installed_a_})), "fromconf");
}

TEST_F(FindNetworkSpecTest, DefaultNetworkComesFromTheInstalledFileWhenTheConfigDirLacksIt) {
  write_bridge_conflist(conf_dir_ / "10-other.conflist", "other", "other0");
  write_bridge_conflist(installed_a_ / "00-nsnet.conflist", "nsnet", "frominstalled");
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {installed_a_})),
            "frominstalled");
  // A config dir that does not exist at all is no different.
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", root_ / "none", {installed_a_})),
            "frominstalled");
}

TEST_F(FindNetworkSpecTest, InstalledDirsAreSearchedInOrder) {
  write_bridge_conflist(installed_b_ / "00-nsnet.conflist", "nsnet", "fromb");
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {root_ / "gone", installed_a_,
                                                                     installed_b_})),
            "fromb");
  write_bridge_conflist(installed_a_ / "00-nsnet.conflist", "nsnet", "froma");
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {installed_a_, installed_b_})),
            "froma");
}

TEST_F(FindNetworkSpecTest, DefaultNetworkIsCompiledInWhenNoFileDefinesIt) {
  // conf/00-nsnet.conflist, compiled in: bridge nsnet0.
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {installed_a_})), "nsnet0");
  EXPECT_EQ(bridge_of(nsnet::find_network_spec("nsnet", conf_dir_, {})), "nsnet0");
}

TEST_F(FindNetworkSpecTest, OtherNetworksAreNotLookedUpInTheInstalledDirs) {
  // The installed examples are examples: only the config dir defines networks by name.
  write_bridge_conflist(installed_a_ / "10-bridge.conflist", "nsnet-bridge", "nsnet3");
  const auto error = nsnet::testing::error_of(
      [&] { (void)nsnet::find_network_spec("nsnet-bridge", conf_dir_, {installed_a_}); });
  EXPECT_EQ(error.code(), netcore::ErrorCode::kInvalidNetworkConfig);
}

TEST_F(FindNetworkSpecTest, InstalledConfDirsAreAbsoluteNsnetConfDirs) {
  // The first is relative to the running executable (an installed nsnet: ../share/nsnet/conf),
  // the last the configured ${CMAKE_INSTALL_FULL_DATADIR}/nsnet/conf.
  const auto dirs = nsnet::installed_conf_dirs();
  ASSERT_FALSE(dirs.empty());
  for (const auto& dir : dirs) {
    EXPECT_TRUE(dir.is_absolute()) << dir;
    EXPECT_EQ(dir.filename(), "conf") << dir;
    EXPECT_EQ(dir.parent_path().filename(), "nsnet") << dir;
  }
}

}  // namespace
