// Crash consistency (issue #9, item 3): the full chain of conf/40-chain.conflist (bridge +
// host-local, portmap with a portMappings capability, firewall, tuning, bandwidth) run through
// `nsnet net add` and `nsnet net del`, each in its own process group, SIGKILLed as a whole
// (runtime and the plugin it is running) at a random point. Then the runtime's restore, a DEL of
// the same attachment or (every other pair of trials) a GC once the container is gone, must
// succeed and leave the sandbox exactly as it was with only the long-lived containers attached:
// links, addresses, routes, qdiscs, the nft ruleset, host-local's reservations and owner index,
// the result cache and tuning's backups. Three long-lived containers stay attached throughout;
// after each kill and each restore no address is held twice and theirs are intact.
//
// Seeded (std::mt19937, one draw per trial: where in the operation to kill, as a fraction of its
// measured duration): the seed is printed and every failure names the seed and the trial;
// NSNET_CRASH_SEED=S NSNET_CRASH_FIRST_TRIAL=N replays from trial N on. NSNET_CRASH_TRIALS
// overrides the trial count. The trials are split over kCrashShards tests (…/0 to …/3; …/1 under
// the sanitizers), which a parallel ctest runs side by side, each in its own sandbox: every shard
// draws the whole sequence and runs its own share of the trial numbers.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "robustness/robustness_fixture.hpp"

namespace {

using nlohmann::json;
using nsnet::testing::RobustContainer;
using std::chrono::microseconds;
using std::chrono::steady_clock;

// 200 trials in the release build. The sanitizer build runs 16: nsnet and every plugin are
// several times slower there and the ASan pass of the whole suite has to stay short; the
// release build is where the kill points get covered.
// Each shard first attaches the long-lived containers and times a warm-up ADD and DEL, about what
// three trials cost: the sanitizer build, short of CPU rather than of waiting, runs two shards.
#ifdef NSNET_SANITIZER_BUILD
constexpr int kCrashTrials = 16;
constexpr int kCrashShards = 2;
#else
constexpr int kCrashTrials = 200;
constexpr int kCrashShards = 4;
#endif
constexpr int kLongLivedContainers = 3;

unsigned crash_env_number(const char* name, unsigned fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? static_cast<unsigned>(std::stoul(text)) : fallback;
}

// CAP_ARGS of container `index`: its own host port, and shaping in both directions (bandwidth
// then makes an ifb and qdiscs on the host).
json crash_cap_args(int index) {
  return {{"portMappings",
           {{{"hostPort", 21000 + index}, {"containerPort", 80}, {"protocol", "tcp"}}}},
          {"bandwidth",
           {{"ingressRate", 8000000},
            {"ingressBurst", 80000},
            {"egressRate", 8000000},
            {"egressBurst", 80000}}}};
}

class CrashConsistencyTest : public nsnet::testing::RobustnessNetTest,
                             public ::testing::WithParamInterface<int> {
 protected:
  // After a kill or a restore: no address reserved or configured twice, and every long-lived
  // container still holds its address, reserved to it.
  void check_addresses(const std::vector<const RobustContainer*>& containers) {
    const auto held = reservations();
    std::map<std::string, std::string> owner_of_id;  // container ID -> its reserved address
    for (const auto& [ip, content] : held) {
      const std::string id = content.substr(0, content.find("\r\n"));
      EXPECT_TRUE(owner_of_id.emplace(id, ip).second)
          << "container " << id << " holds two addresses: " << owner_of_id[id] << " and " << ip;
    }
    std::map<std::string, std::string> configured;  // address -> container ID
    for (const auto* c : containers) {
      if (!c->netns) continue;
      for (const auto& ip : eth0_addresses(*c->netns)) {
        const auto [it, fresh] = configured.emplace(ip, c->id);
        EXPECT_TRUE(fresh) << "address " << ip << " on the eth0 of both " << it->second
                           << " and " << c->id;
      }
    }
    for (const auto& [id, ip] : long_lived_addresses_) {
      const auto it = held.find(ip);
      EXPECT_TRUE(it != held.end() && it->second == id + "\r\neth0")
          << "long-lived " << id << " lost its reservation of " << ip;
      EXPECT_EQ(configured.count(ip) ? configured[ip] : "", id)
          << "long-lived " << id << " no longer has " << ip << " on eth0";
    }
  }

  std::vector<RobustContainer> long_lived_;
  std::map<std::string, std::string> long_lived_addresses_;  // container ID -> address
};

TEST_P(CrashConsistencyTest, SigkillDuringAddOrDelThenDelOrGcRestoresTheBaseline) {
  const int shard = GetParam();
  const unsigned seed = crash_env_number("NSNET_CRASH_SEED", std::random_device{}());
  const int trials = static_cast<int>(crash_env_number("NSNET_CRASH_TRIALS", kCrashTrials));
  // This shard's trial numbers: [first_trial, end_trial).
  const int end_trial = trials * (shard + 1) / kCrashShards;
  const int first_trial =
      std::max(trials * shard / kCrashShards,
               static_cast<int>(crash_env_number("NSNET_CRASH_FIRST_TRIAL", 0)));
  std::cout << "[ seed     ] NSNET_CRASH_SEED=" << seed << " (trials " << first_trial << " to "
            << end_trial - 1 << " of " << trials << ")\n"
            << std::flush;  // shown even if the run dies: it replays the run
  RecordProperty("crash_seed", std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> kill_point(0.0, 1.0);

  write_list(full_chain(1));
  for (int i = 0; i < kLongLivedContainers; ++i) {
    long_lived_.push_back(make_container("l" + std::to_string(i), "long-" + std::to_string(i)));
    const auto& c = long_lived_.back();
    const auto add = nsnet_net({"add", network_, c.path}, c.id, crash_cap_args(i));
    ASSERT_EQ(add.status, 0) << add.err;
    const std::string address = json::parse(add.out)["ips"][0]["address"];
    long_lived_addresses_[c.id] = address.substr(0, address.find('/'));
  }

  // How long an un-killed ADD and DEL take (the second of two rounds: the first also warms up
  // caches and creates the chain's tables); kill points are drawn from [0, that].
  microseconds add_time{}, del_time{};
  for (int round = 0; round < 2; ++round) {
    auto c = make_container("w", "warm-" + std::to_string(round));
    auto start = steady_clock::now();
    const auto add = nsnet_net({"add", network_, c.path}, c.id, crash_cap_args(9));
    add_time = std::chrono::duration_cast<microseconds>(steady_clock::now() - start);
    ASSERT_EQ(add.status, 0) << add.err;
    start = steady_clock::now();
    const auto del = nsnet_net({"del", network_, c.path}, c.id, crash_cap_args(9));
    del_time = std::chrono::duration_cast<microseconds>(steady_clock::now() - start);
    ASSERT_EQ(del.status, 0) << del.err;
    destroy_container(c);
  }
  std::cout << "[ timing   ] un-killed ADD " << add_time.count() << " us, DEL "
            << del_time.count() << " us" << '\n';

  std::vector<const RobustContainer*> long_lived_ptrs;
  for (const auto& c : long_lived_) long_lived_ptrs.push_back(&c);
  check_addresses(long_lived_ptrs);
  const std::string baseline = network_snapshot();
  ASSERT_FALSE(HasFailure());

  // What a DEL must leave in the container: what a fresh netns has (the same in every one).
  std::string fresh_container;
  {
    auto fresh = make_container("f", "fresh");
    fresh_container = nsnet::testing::sandbox_snapshot({.netns = {&*fresh.netns}});
    destroy_container(fresh);
  }

  std::map<std::string, int> outcomes;  // "kill ADD/DEL (finished|killed), restore DEL/GC" -> n
  const auto test_start = steady_clock::now();
  int trials_run = 0;
  for (int trial = 0; trial < end_trial; ++trial) {
    const double fraction = kill_point(random);  // drawn for every trial, skipped ones too
    if (trial < first_trial) continue;
    ++trials_run;
    const bool kill_add = trial % 2 == 0;
    const bool restore_by_gc = (trial / 2) % 2 == 1;
    const microseconds limit = kill_add ? add_time : del_time;
    const microseconds delay(static_cast<long>(fraction * static_cast<double>(limit.count())));
    const std::string what =
        "trial " + std::to_string(trial) + ": SIGKILL " + (kill_add ? "ADD" : "DEL") + " after " +
        std::to_string(delay.count()) + " us (" + std::to_string(fraction * 100).substr(0, 5) +
        "% of it), restore by " + (restore_by_gc ? "GC" : "DEL") +
        "; replay: NSNET_CRASH_SEED=" + std::to_string(seed) +
        " NSNET_CRASH_FIRST_TRIAL=" + std::to_string(trial) +
        " --gtest_filter='*CrashConsistencyTest.*/" + std::to_string(shard) + "'";
    SCOPED_TRACE(what);

    auto c = make_container("t", "crash-" + std::to_string(trial));
    const json cap_args = crash_cap_args(kLongLivedContainers);
    if (!kill_add) {
      const auto add = nsnet_net({"add", network_, c.path}, c.id, cap_args);
      ASSERT_EQ(add.status, 0) << add.err;
    }

    auto process = nsnet::testing::NsnetProcess::start(
        *host_, [&] {
          auto inv = invocation({kill_add ? "add" : "del", network_, c.path}, c.id, cap_args);
          inv.own_process_group = true;
          return inv;
        }());
    const pid_t pgid = process.pid();
    std::this_thread::sleep_until(steady_clock::now() + delay);
    process.signal_group(SIGKILL);
    const auto killed = process.wait(nsnet::testing::scaled(std::chrono::seconds(60)));
    reap_process_group(pgid);
    const bool finished = killed.status == 0;
    EXPECT_TRUE(finished || killed.status == 128 + SIGKILL)
        << "status " << killed.status << ": " << killed.err;
    ++outcomes[std::string(kill_add ? "ADD " : "DEL ") + (finished ? "finished" : "killed") +
               ", restore by " + (restore_by_gc ? "GC" : "DEL")];

    std::vector<const RobustContainer*> all = long_lived_ptrs;
    all.push_back(&c);
    check_addresses(all);

    if (restore_by_gc) {
      destroy_container(c);
      const auto gc = nsnet_net({"gc", network_}, "");
      EXPECT_EQ(gc.status, 0) << gc.err;
      // The container's links go with its netns, asynchronously: give the kernel a moment.
      std::string after = network_snapshot();
      for (int retry = 0; after != baseline && retry < 100; ++retry) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        after = network_snapshot();
      }
      EXPECT_EQ(after, baseline) << "leftover after GC";
    } else {
      const auto del = nsnet_net({"del", network_, c.path}, c.id, cap_args);
      EXPECT_EQ(del.status, 0) << del.err;
      EXPECT_EQ(network_snapshot(), baseline) << "leftover after DEL";
      EXPECT_EQ(nsnet::testing::sandbox_snapshot({.netns = {&*c.netns}}), fresh_container)
          << "leftover in the container after DEL";
      destroy_container(c);
    }
    check_addresses(long_lived_ptrs);
    if (HasFailure()) {
      ADD_FAILURE() << "stopped after the failed " << what;
      break;
    }
  }
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - test_start);
  std::cout << "[ trials   ] " << trials_run << " in " << elapsed.count() << " ms:";
  for (const auto& [outcome, count] : outcomes) std::cout << " [" << outcome << "] " << count;
  std::cout << '\n';

  for (auto& c : long_lived_) {
    const auto del = nsnet_net({"del", network_, c.path}, c.id);
    EXPECT_EQ(del.status, 0) << del.err;
  }
  EXPECT_TRUE(reservations().empty());
}

INSTANTIATE_TEST_SUITE_P(Shards, CrashConsistencyTest, ::testing::Range(0, kCrashShards));

}  // namespace
