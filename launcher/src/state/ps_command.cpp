// nsnet ps: the containers nsnet supervises, as a table or JSON.

#include <cstdio>
#include <cstring>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "state/container_state.hpp"

namespace nsnet {

namespace {

std::string addresses_of(const ContainerState& state) {
  std::string text;
  for (const auto& n : state.networks) {
    std::string ips;
    if (n.result.is_object())
      for (const auto& ip : n.result.value("ips", nlohmann::json::array()))
        ips += (ips.empty() ? "" : ",") + ip.value("address", "");
    text += (text.empty() ? "" : " ") + n.network + ":" + n.ifname + (ips.empty() ? "" : "=" + ips);
  }
  if (state.helper)
    text = state.helper->program +
           (state.helper->address.empty() ? "" : ":tap0=" + state.helper->address);
  return text.empty() ? "-" : text;
}

std::string ports_of(const ContainerState& state) {
  std::string text;
  for (const auto& p : state.port_mappings)
    text += (text.empty() ? "" : ",") + std::string(p.value("hostIP", "")) +
            (p.contains("hostIP") ? ":" : "") + std::to_string(p.value("hostPort", 0)) + "->" +
            std::to_string(p.value("containerPort", 0)) + "/" + p.value("protocol", "tcp");
  return text.empty() ? "-" : text;
}

std::string command_of(const ContainerState& state) {
  std::string text;
  for (const auto& arg : state.command) text += (text.empty() ? "" : " ") + arg;
  return text;
}

}  // namespace

int ps_command(int argc, char** argv) {
  CLI::App app("List the containers nsnet runs (and those a killed nsnet left for `nsnet gc`).",
               "nsnet ps");
  bool as_json = false;
  app.add_flag("--json", as_json, "print a JSON array of the containers' states");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  nlohmann::json all = nlohmann::json::array();
  if (!as_json) {
    std::printf("%-14s %-8s %-9s %-20s %-34s %-16s %s\n", "ID", "PID", "STATUS", "CREATED",
                "NETWORKS", "PORTS", "COMMAND");
  }
  for (const auto& id : StateDir::list_ids()) {
    const auto state = StateDir::load(id);
    if (!state) continue;
    const char* status = StateDir::is_running(id) ? "running" : "abandoned";
    if (as_json) {
      auto j = state->to_json();
      j["status"] = status;
      j.erase("conflist");
      for (auto& n : j["networks"]) n.erase("conflist");
      all.push_back(std::move(j));
      continue;
    }
    std::printf("%-14s %-8d %-9s %-20s %-34s %-16s %s\n", id.c_str(), state->pid, status,
                state->created.c_str(), addresses_of(*state).c_str(), ports_of(*state).c_str(),
                command_of(*state).c_str());
  }
  if (as_json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace nsnet
