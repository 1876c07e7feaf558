// nsnet run's user-mode networks (slirp4netns, pasta), as an unprivileged user in the test's
// sandbox: the container's side, traffic to the sandbox host, published ports, DNS, and that no
// helper outlives its container, whichever way nsnet ends.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netcore/proc/daemon.hpp>

#include "integration/nsnet_rootless_fixture.hpp"
#include "support/socket_probe.hpp"

namespace nsnet::testing {
namespace usermode_test {
namespace {

class NsnetUserModeTest : public NsnetRootlessTest {
 protected:
  void SetUp() override {
    NsnetRootlessTest::SetUp();
    if (IsSkipped()) return;
    if (!netcore::proc::find_program("slirp4netns")) GTEST_SKIP() << "slirp4netns is not installed";
  }

  [[nodiscard]] nlohmann::json state_of(const std::string& id) {
    return nlohmann::json::parse(file_text(temp_dir() / "runtime" / "nsnet" / id / "state.json"));
  }

  // Reads what a server behind a published port sends, retrying until it listens.
  [[nodiscard]] std::string read_published(std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + scaled(10s);
    while (std::chrono::steady_clock::now() < deadline) {
      sockaddr_storage address;
      const socklen_t length = make_sockaddr("127.0.0.1", port, address);
      const auto client = socket_in(*host_, AF_INET, SOCK_STREAM);
      if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length) == 0) {
        std::string text;
        char buffer[256];
        ssize_t n;
        while (wait_readable(client.get(), 2000) &&
               (n = ::read(client.get(), buffer, sizeof buffer)) > 0)
          text.append(buffer, static_cast<std::size_t>(n));
        if (!text.empty()) return text;
      }
      std::this_thread::sleep_for(50ms);
    }
    return {};
  }
};

constexpr std::uint16_t kHostPort = 18180;

// Whether `helper` is gone within a few seconds. nsnet SIGKILLs it and does not wait for the
// kernel to finish the exit (the tap's unregistration takes an RCU grace period).
bool ends_soon(const netcore::proc::ProcessId& helper) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(5s);
  while (netcore::proc::process_alive(helper) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  return !netcore::proc::process_alive(helper);
}

TEST_F(NsnetUserModeTest, SlirpIsTheDefaultAndConfiguresTheTap) {
  const std::string script =
      "id -u; ip -4 -o addr show tap0; ip route; cat /etc/resolv.conf; ip -o link show tap0";
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", script});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inet 10.0.2.100/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("default via 10.0.2.2 dev tap0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nameserver 10.0.2.3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mtu 65520 "), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(temp_dir() / "runtime" / "nsnet")) << "state left behind";
}

TEST_F(NsnetUserModeTest, OptionsChangeCidrAndMtu) {
  const auto r = nsnet_as_user({"run", "--network", "slirp4netns:cidr=10.5.0.0/24,mtu=1500", "--",
                                "sh", "-c", "ip -4 -o addr show tap0; ip route; ip -o link show tap0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("inet 10.5.0.100/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("default via 10.5.0.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mtu 1500 "), std::string::npos) << r.out;
}

TEST_F(NsnetUserModeTest, BadOptionIs125AndLeavesNothing) {
  const auto r = nsnet_as_user({"run", "--network", "slirp4netns:mtu=5", "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("mtu"), std::string::npos) << r.err;
  const auto unknown = nsnet_as_user({"run", "--network", "slirp4netns:bogus=1", "--", "true"});
  EXPECT_EQ(unknown.status, 125);
  EXPECT_NE(unknown.err.find("bogus"), std::string::npos) << unknown.err;
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(temp_dir() / "runtime" / "nsnet") ||
              std::filesystem::is_empty(temp_dir() / "runtime" / "nsnet", ec));
}

TEST_F(NsnetUserModeTest, HostLoopbackIsReachableOnlyWhenAllowed) {
  const auto listener = bound_socket(*host_, AF_INET, SOCK_STREAM, 18181);
  ASSERT_GE(listener.get(), 0) << std::strerror(errno);
  const std::string connect = "exec 3<>/dev/tcp/10.0.2.2/18181 && echo connected";

  const auto allowed = nsnet_as_user({"run", "--network", "slirp4netns:allow_host_loopback=true",
                                      "--", "bash", "-c", connect});
  EXPECT_EQ(allowed.status, 0) << allowed.err;
  EXPECT_EQ(allowed.out, "connected\n");
  EXPECT_TRUE(wait_readable(listener.get(), 2000)) << "no connection reached the sandbox host";
  ::close(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));

  const auto denied = nsnet_as_user({"run", "--", "bash", "-c", connect});
  EXPECT_NE(denied.status, 0) << denied.out;
  EXPECT_FALSE(wait_readable(listener.get(), 200)) << "host loopback reached by default";
}

TEST_F(NsnetUserModeTest, PublishedPortIsReachableFromTheHost) {
  if (!netcore::proc::find_program("socat")) GTEST_SKIP() << "socat is not installed";
  const std::string id = unique_name("pub");
  const auto run = nsnet_as_user({"run", "-d", "--name", id, "--publish",
                                  std::to_string(kHostPort) + ":80", "--", "socat",
                                  "TCP-LISTEN:80,fork,reuseaddr", "SYSTEM:echo published"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(read_published(kHostPort), "published\n");
  EXPECT_EQ(nsnet_as_user({"stop", "-t", "2", id}).status, 0);
}

TEST_F(NsnetUserModeTest, NoHelperOutlivesStop) {
  const std::string id = unique_name("st");
  ASSERT_EQ(nsnet_as_user({"run", "-d", "--name", id, "--", "sleep", "100"}).status, 0);
  const auto helper = state_of(id).at("helper");
  const netcore::proc::ProcessId pid{helper.at("pid").get<pid_t>(),
                                     helper.at("startTime").get<std::uint64_t>()};
  EXPECT_EQ(helper.at("program"), "slirp4netns");
  EXPECT_TRUE(netcore::proc::process_alive(pid));
  const auto ps = nsnet_as_user({"ps"});
  EXPECT_NE(ps.out.find("slirp4netns:tap0=10.0.2.100/24"), std::string::npos) << ps.out;
  EXPECT_EQ(nsnet_as_user({"stop", "-t", "2", id}).status, 0);
  EXPECT_TRUE(ends_soon(pid));
  EXPECT_FALSE(std::filesystem::exists(temp_dir() / "runtime" / "nsnet" / id));
}

TEST_F(NsnetUserModeTest, NoHelperOutlivesAForegroundRun) {
  // The state directory is visible inside (the mount namespace starts as a copy): the command
  // reports its own helper.
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", "cat \"$XDG_RUNTIME_DIR\"/nsnet/*/state.json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto helper = nlohmann::json::parse(r.out).at("helper");
  const netcore::proc::ProcessId pid{helper.at("pid").get<pid_t>(),
                                     helper.at("startTime").get<std::uint64_t>()};
  EXPECT_GT(pid.pid, 0);
  EXPECT_TRUE(ends_soon(pid));
  EXPECT_TRUE(std::filesystem::is_empty(temp_dir() / "runtime" / "nsnet"));
}

TEST_F(NsnetUserModeTest, SigkilledNsnetTakesItsHelperAlong) {
  const std::string id = unique_name("kl");
  ASSERT_EQ(nsnet_as_user({"run", "-d", "--name", id, "--", "sleep", "100"}).status, 0);
  const auto state = state_of(id);
  const netcore::proc::ProcessId helper{state.at("helper").at("pid").get<pid_t>(),
                                        state.at("helper").at("startTime").get<std::uint64_t>()};
  ASSERT_EQ(::kill(state.at("supervisorPid").get<pid_t>(), SIGKILL), 0);
  // The exit fd's other end was only open in nsnet: the helper ends by itself.
  EXPECT_TRUE(ends_soon(helper));
  EXPECT_EQ(nsnet_as_user({"gc"}).status, 0);
  EXPECT_FALSE(std::filesystem::exists(temp_dir() / "runtime" / "nsnet" / id));
}

class NsnetPastaTest : public NsnetUserModeTest {
 protected:
  void SetUp() override {
    NsnetUserModeTest::SetUp();
    if (IsSkipped()) return;
    if (!netcore::proc::find_program("pasta")) GTEST_SKIP() << "pasta (passt) is not installed";
    // pasta copies the host's default-route interface: give the sandbox host one.
    (void)run_in_netns(*host_,
                       "ip link add up0 type veth peer name up1 && "
                       "ip addr add 10.99.0.1/24 dev up0 && ip link set up0 up && "
                       "ip link set up1 up && ip route add default via 10.99.0.2");
  }
};

TEST_F(NsnetPastaTest, PastaCopiesTheHostAddress) {
  const auto r = nsnet_as_user({"run", "--network", "pasta", "--", "sh", "-c",
                                "id -u; ip -4 -o addr; ip route; cat /etc/resolv.conf"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("inet 10.99.0.1/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("default via 10.99.0.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nameserver 169.254.1.1\n"), std::string::npos) << r.out;
}

TEST_F(NsnetPastaTest, PastaPublishesAndStops) {
  if (!netcore::proc::find_program("socat")) GTEST_SKIP() << "socat is not installed";
  const std::string id = unique_name("pp");
  const auto run = nsnet_as_user({"run", "-d", "--name", id, "--network", "pasta", "--publish",
                                  std::to_string(kHostPort + 1) + ":80", "--", "socat",
                                  "TCP-LISTEN:80,fork,reuseaddr", "SYSTEM:echo pasta"});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto helper = state_of(id).at("helper");
  const netcore::proc::ProcessId pid{helper.at("pid").get<pid_t>(),
                                     helper.at("startTime").get<std::uint64_t>()};
  EXPECT_EQ(read_published(kHostPort + 1), "pasta\n");
  EXPECT_EQ(nsnet_as_user({"stop", "-t", "2", id}).status, 0);
  EXPECT_TRUE(ends_soon(pid));
}

}  // namespace
}  // namespace usermode_test
}  // namespace nsnet::testing
