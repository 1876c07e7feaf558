// nsnet run's command line: unshare's options with unshare's meaning, and the defaults that
// depend on who runs it.

#include <signal.h>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run/run_options.hpp"

namespace {

using nsnet::Namespace;
using nsnet::RunOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

RunOptions parse(std::initializer_list<const char*> args) {
  std::vector<std::string> storage{"run"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return nsnet::parse_run_options(static_cast<int>(storage.size()), argv.data());
}

RunOptions resolved(std::initializer_list<const char*> args, bool is_root) {
  RunOptions options = parse(args);
  nsnet::resolve_defaults(options, is_root);
  return options;
}

std::string error_of(std::initializer_list<const char*> args, bool is_root = true) {
  try {
    (void)resolved(args, is_root);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(RunOptions, CombinedShortFlagsAsUnshare) {
  const auto o = parse({"-mipfnuUr", "--mount-proc", "true"});
  for (Namespace n : {Namespace::kMount, Namespace::kIpc, Namespace::kPid, Namespace::kNet,
                      Namespace::kUts, Namespace::kUser})
    EXPECT_TRUE(o.creates(n));
  EXPECT_FALSE(o.creates(Namespace::kCgroup));
  EXPECT_EQ(o.id_map.inner_uid, 0u);
  EXPECT_EQ(o.mount_proc, "/proc");
  EXPECT_THAT(o.command, ElementsAre("true"));
}

TEST(RunOptions, OptionalValuesOnlyWhenAttached) {
  // `-n sh` runs sh in a new netns; it does not persist the netns at "sh".
  auto o = parse({"-n", "sh", "-c", "x"});
  EXPECT_TRUE(o.creates(Namespace::kNet));
  EXPECT_EQ(o.ns(Namespace::kNet).persist_path, "");
  EXPECT_THAT(o.command, ElementsAre("sh", "-c", "x"));
  o = parse({"--net=/run/x", "--uts=/run/y", "true"});
  EXPECT_EQ(o.ns(Namespace::kNet).persist_path, "/run/x");
  EXPECT_EQ(o.ns(Namespace::kUts).persist_path, "/run/y");
}

TEST(RunOptions, OptionsAfterTheCommandBelongToIt) {
  const auto o = parse({"--network", "none", "ls", "-l", "--net"});
  EXPECT_THAT(o.command, ElementsAre("ls", "-l", "--net"));
  EXPECT_FALSE(o.creates(Namespace::kNet));
}

TEST(RunOptions, MappingOptions) {
  auto o = parse({"--map-user=1000", "--map-group=100", "--map-users=100000,1,65535"});
  EXPECT_EQ(o.id_map.inner_uid, 1000u);
  EXPECT_EQ(o.id_map.inner_gid, 100u);
  EXPECT_EQ(o.id_map.uid_range, "100000,1,65535");
  o = parse({"--map-auto"});
  EXPECT_EQ(o.id_map.uid_range, "auto");
  EXPECT_EQ(o.id_map.gid_range, "auto");
  o = parse({"--map-user=root"});
  EXPECT_EQ(o.id_map.inner_uid, 0u);
}

TEST(RunOptions, KillChildSignalByNameOrNumber) {
  EXPECT_EQ(parse({"--kill-child"}).kill_child_signal, SIGKILL);
  EXPECT_EQ(parse({"--kill-child=SIGTERM"}).kill_child_signal, SIGTERM);
  EXPECT_EQ(parse({"--kill-child=HUP"}).kill_child_signal, SIGHUP);
  EXPECT_EQ(parse({"--kill-child=10"}).kill_child_signal, 10);
}

TEST(RunOptions, BadValuesAreRejectedByName) {
  EXPECT_THAT(error_of({"--map-users=1,2"}), HasSubstr("--map-users"));
  EXPECT_THAT(error_of({"--setgroups=maybe"}), HasSubstr("--setgroups"));
  EXPECT_THAT(error_of({"--propagation=weird"}), HasSubstr("--propagation"));
  EXPECT_THAT(error_of({"--kill-child=SIGNOPE"}), HasSubstr("SIGNOPE"));
  EXPECT_THAT(error_of({"--monotonic=soon"}), HasSubstr("--monotonic"));
  EXPECT_THAT(error_of({"--map-user=no-such-user-here"}), HasSubstr("no-such-user-here"));
  EXPECT_THAT(error_of({"--frobnicate"}), HasSubstr("--frobnicate"));
  EXPECT_THAT(error_of({"-R"}), HasSubstr("-R"));
}

TEST(RunOptions, DefaultSetAsRoot) {
  const auto o = resolved({}, /*is_root=*/true);
  for (Namespace n : {Namespace::kMount, Namespace::kUts, Namespace::kIpc, Namespace::kNet,
                      Namespace::kPid, Namespace::kCgroup})
    EXPECT_TRUE(o.creates(n));
  EXPECT_FALSE(o.creates(Namespace::kUser));
  EXPECT_FALSE(o.creates(Namespace::kTime));
  EXPECT_EQ(o.mount_proc, "/proc");
  EXPECT_THAT(o.networks, ElementsAre("nsnet"));
  EXPECT_FALSE(o.command.empty());
}

TEST(RunOptions, DefaultSetRootlessMapsRootAndUsesSlirp4netns) {
  const auto o = resolved({}, /*is_root=*/false);
  EXPECT_TRUE(o.creates(Namespace::kUser));
  EXPECT_EQ(o.id_map.inner_uid, 0u);
  EXPECT_EQ(o.id_map.inner_gid, 0u);
  EXPECT_THAT(o.networks, ElementsAre("slirp4netns"));
  EXPECT_EQ(o.user_mode_network(), "slirp4netns");
  EXPECT_FALSE(o.attaches_networks());
}

TEST(RunOptions, UserModeNetworksCarryTheirOptionsAndStandAlone) {
  const auto o = resolved({"--network", "slirp4netns:mtu=1500,cidr=10.5.0.0/24", "--publish",
                           "8080:80", "true"}, false);
  EXPECT_EQ(o.user_mode_network(), "slirp4netns");
  EXPECT_EQ(o.user_mode_options(), "mtu=1500,cidr=10.5.0.0/24");
  EXPECT_TRUE(o.creates(Namespace::kNet));
  EXPECT_EQ(resolved({"--network", "pasta", "true"}, false).user_mode_network(), "pasta");
  EXPECT_THAT(error_of({"--network", "slirp4netns", "--network", "nsnet"}),
              HasSubstr("cannot be combined"));
  EXPECT_THAT(error_of({"-n", "--network", "pasta", "true"}), HasSubstr("user namespace"));
}

TEST(RunOptions, ExplicitFlagsReplaceTheDefaultSet) {
  const auto o = resolved({"-u", "true"}, true);
  EXPECT_TRUE(o.creates(Namespace::kUts));
  EXPECT_FALSE(o.creates(Namespace::kNet));
  EXPECT_FALSE(o.creates(Namespace::kMount));
  EXPECT_TRUE(o.networks.empty());
}

TEST(RunOptions, ImpliedNamespaces) {
  EXPECT_TRUE(resolved({"-u", "--mount-proc"}, true).creates(Namespace::kMount));
  EXPECT_TRUE(resolved({"-u", "--map-root-user"}, true).creates(Namespace::kUser));
  EXPECT_TRUE(resolved({"-u", "--network", "none"}, true).creates(Namespace::kNet));
}

TEST(RunOptions, HostNetworkKeepsTheCallersNamespace) {
  const auto o = resolved({"--network", "host"}, true);
  EXPECT_FALSE(o.creates(Namespace::kNet));
  EXPECT_FALSE(o.attaches_networks());
  EXPECT_THAT(error_of({"-n", "--network", "host"}), HasSubstr("--network host"));
  EXPECT_THAT(error_of({"--network", "host", "--network", "x"}), HasSubstr("cannot be combined"));
}

TEST(RunOptions, CombinationsThatCannotWork) {
  EXPECT_THAT(error_of({"--network", "none", "--publish", "80:80"}), HasSubstr("--publish"));
  EXPECT_THAT(error_of({"--monotonic", "5"}), HasSubstr("--time"));
  EXPECT_THAT(error_of({"--network", "mynet"}, /*is_root=*/false), HasSubstr("root"));
  EXPECT_EQ(error_of({"-T", "--monotonic", "5", "true"}), "");
}

TEST(RunOptions, SeveralNetworks) {
  const auto o = resolved({"--network", "a", "--network", "b.conflist"}, true);
  EXPECT_THAT(o.networks, ElementsAre("a", "b.conflist"));
  EXPECT_TRUE(o.attaches_networks());
}

}  // namespace
