#pragma once

// The fixture of the `nsnet run` tests: the built nsnet runs inside the test's own "host" netns
// (host_), with a config dir of its own and the built plugins first on the plugin path. The
// whole test binary already has private /run and /var/lib/cni (support/sandbox.cpp), so the
// state nsnet keeps (/run/nsnet, IPAM under /run/cni, the result cache) is the sandbox's.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/nsnet_cli.hpp"
#include "support/sandbox.hpp"

namespace nsnet::testing {

using namespace std::chrono_literals;

// The namespaces as /proc/PID/ns names them.
inline const std::vector<std::string> kNamespaceNames = {"mnt", "uts",  "ipc",    "net",
                                                         "pid", "user", "cgroup", "time"};

// A shell script that prints "NAME LINK" for each of the command's namespaces.
inline const std::string kPrintNamespaces =
    "for n in mnt uts ipc net pid user cgroup time; do echo $n $(readlink /proc/self/ns/$n); done";

// "NAME LINK" lines as a map.
inline std::map<std::string, std::string> parse_namespaces(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string name, link;
  while (in >> name >> link) out[name] = link;
  return out;
}

// The lines of `text`, without empty ones.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Runs of blanks collapsed to one space, ends trimmed: /proc's id maps pad with spaces.
inline std::string squeeze(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
    } else {
      if (c == '\n' && !out.empty() && out.back() == ' ') out.pop_back();
      out += c;
    }
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class NsnetRunTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    (void)run_in_netns(*host_, "ip link set lo up");
  }

  void TearDown() override {
    // A failed test may leave a detached container, or a killed supervisor's state.
    for (const auto& id : detached_)
      if (std::filesystem::exists(state_dir(id))) (void)nsnet({"stop", "-t", "1", id});
    if (host_ && !no_state()) (void)nsnet({"gc"});
    SandboxTest::TearDown();
  }

  // The environment nsnet gets: the test's own, with an empty config dir of this test's and the
  // built plugins first on the plugin path (nothing installed on the machine is used).
  [[nodiscard]] std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> env;
    for (char** entry = ::environ; *entry != nullptr; ++entry) {
      const std::string text = *entry;
      const auto equals = text.find('=');
      if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
    }
    if (!env.contains("PATH"))
      env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    env["NETCONFPATH"] = (temp_dir() / "net.d").string();
    env["CNI_PATH"] = NSNET_PLUGIN_DIR;
    env.erase("NSNET_LOG_FILE");
    return env;
  }

  [[nodiscard]] Invocation invocation(std::vector<std::string> args) {
    auto env = environment();
    // LeakSanitizer's exit-time check stops the process's threads from a tracer it clones; after
    // nsnet exec joined the container's pid (and mount) namespace, that tracer is born there and
    // cannot reach them: the check hangs. So exec runs without it in the sanitizer build.
    if (kSlowdown > 1 && !args.empty() && args.front() == "exec")
      env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"] + (env["ASAN_OPTIONS"].empty() ? "" : ":") +
                            "detect_leaks=0";
    return Invocation{.args = std::move(args), .env = std::move(env)};
  }

  // Runs nsnet in host_ to completion.
  CliResult nsnet(std::vector<std::string> args, std::chrono::milliseconds timeout = scaled(30s)) {
    return run_nsnet(*host_, invocation(std::move(args)), timeout);
  }
  // Starts nsnet in host_.
  [[nodiscard]] NsnetProcess start(std::vector<std::string> args) {
    return NsnetProcess::start(*host_, invocation(std::move(args)));
  }

  // The test's own namespaces as readlink shows them; "net" is host_'s, where nsnet runs.
  [[nodiscard]] std::map<std::string, std::string> caller_namespaces() const {
    std::map<std::string, std::string> out;
    for (const auto& name : kNamespaceNames) {
      std::error_code ec;
      out[name] = std::filesystem::read_symlink("/proc/self/ns/" + name, ec).string();
    }
    struct stat st {};
    ::fstat(host_->fd(), &st);
    out["net"] = "net:[" + std::to_string(st.st_ino) + "]";
    return out;
  }

  // The namespaces (by name) in which `container` differs from the caller.
  [[nodiscard]] std::set<std::string> differing(
      const std::map<std::string, std::string>& container) const {
    std::set<std::string> out;
    const auto caller = caller_namespaces();
    for (const auto& name : kNamespaceNames) {
      const auto it = container.find(name);
      if (it == container.end() || it->second != caller.at(name)) out.insert(name);
    }
    return out;
  }

  static std::filesystem::path state_dir(const std::string& id) {
    return std::filesystem::path("/run/nsnet") / id;
  }

  // Whether nsnet keeps no container's state (the directory may not exist yet).
  [[nodiscard]] static bool no_state() {
    std::error_code ec;
    return !std::filesystem::exists("/run/nsnet", ec) ||
           std::filesystem::is_empty("/run/nsnet", ec);
  }

  // The container's state.json, once it exists and (when `running`) names the command's pid.
  [[nodiscard]] static std::optional<nlohmann::json> wait_for_state(
      const std::string& id, bool running = true, std::chrono::milliseconds timeout = scaled(20s)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto text = file_text(state_dir(id) / "state.json");
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_object() && (!running || j.value("pid", 0) > 0)) return j;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
  }

  // What a run may change in host_ and on disk and teardown must restore: links (name and
  // kind), IPv4 addresses and routes, the nftables ruleset (chains, rules, sets and their
  // elements; tables themselves are left out, so an empty table does not count), and the
  // files of IPAM, the result cache and nsnet's state. Sorted lines, so a diff reads well.
  [[nodiscard]] std::string snapshot() {
    std::vector<std::string> lines;
    const auto links =
        nlohmann::json::parse(run_in_netns(*host_, "ip -j link show"), nullptr, false);
    for (const auto& link : links.is_array() ? links : nlohmann::json::array()) {
      std::string kind = "-";
      if (link.contains("linkinfo")) kind = link["linkinfo"].value("info_kind", "-");
      lines.push_back("link " + link.value("ifname", "?") + " " + kind);
    }
    const auto addrs =
        nlohmann::json::parse(run_in_netns(*host_, "ip -j -4 addr show"), nullptr, false);
    for (const auto& link : addrs.is_array() ? addrs : nlohmann::json::array())
      for (const auto& a : link.value("addr_info", nlohmann::json::array()))
        lines.push_back("addr " + link.value("ifname", "?") + " " + a.value("local", "?") + "/" +
                        std::to_string(a.value("prefixlen", 0)));
    const auto routes = nlohmann::json::parse(run_in_netns(*host_, "ip -j -4 route show table all"),
                                              nullptr, false);
    for (auto route : routes.is_array() ? routes : nlohmann::json::array()) {
      route.erase("flags");  // "linkdown" follows the bridge's carrier, i.e. whether ports remain
      lines.push_back("route " + route.dump());
    }
    const auto ruleset =
        nlohmann::json::parse(run_in_netns(*host_, "nft -j list ruleset"), nullptr, false);
    for (const auto& object : ruleset.is_object()
                                  ? ruleset.value("nftables", nlohmann::json::array())
                                  : nlohmann::json::array()) {
      for (const auto& kind : {"chain", "rule", "set", "map", "element"}) {
        if (!object.contains(kind)) continue;
        auto item = object[kind];
        item.erase("handle");
        lines.push_back(std::string("nft ") + kind + " " + item.dump());
      }
    }
    for (const char* dir : {"/run/cni", "/var/lib/cni", "/run/nsnet"}) {
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        lines.push_back("file " + it->path().string());
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  }

  // The snapshot after one run on the default network: the bridge, its route and the
  // masquerade table stay (CNI never deletes them), everything per container must not. Taken
  // once the warm-up's host veth has vanished (asynchronously, after its netns was freed).
  [[nodiscard]] std::string baseline() {
    const auto warm_up = nsnet({"run", "--name", unique_name("warm"), "--", "true"});
    EXPECT_EQ(warm_up.status, 0) << warm_up.err;
    const auto deadline = std::chrono::steady_clock::now() + scaled(5s);
    for (;;) {
      auto now = snapshot();
      if (now.find("\nlink veth") == std::string::npos) return now;
      if (std::chrono::steady_clock::now() >= deadline) {
        ADD_FAILURE() << "the warm-up's veth is still there:\n" << now;
        return now;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // Polls until the snapshot equals `expected` (host veths vanish asynchronously once their
  // netns is freed), then returns the last one.
  [[nodiscard]] std::string wait_for_snapshot(const std::string& expected,
                                              std::chrono::milliseconds timeout = scaled(5s)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto now = snapshot();
      if (now == expected || std::chrono::steady_clock::now() >= deadline) return now;
      std::this_thread::sleep_for(20ms);
    }
  }

  std::vector<std::string> detached_;  // ids TearDown stops if they still run
};

}  // namespace nsnet::testing
