#include "netcore/usernet/slirp_api.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore::usernet {

namespace {

nlohmann::json parse_reply(const std::string& what, const std::string& reply) {
  const auto json = nlohmann::json::parse(reply, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    throw Error(ErrorCode::kInternal, "slirp4netns " + what + ": unreadable reply \"" + reply + "\"");
  if (json.contains("error")) {
    const auto& error = json["error"];
    const std::string desc = error.is_object() && error.value("desc", nlohmann::json()).is_string()
                                 ? error["desc"].get<std::string>()
                                 : error.dump();
    throw Error(ErrorCode::kInternal, "slirp4netns " + what + ": " + desc);
  }
  return json.value("return", nlohmann::json::object());
}

}  // namespace

std::string SlirpApi::request(const std::string& json) const {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket_.string();
  if (path.size() >= sizeof address.sun_path)
    throw Error(ErrorCode::kInternal, "slirp4netns API socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw_errno("connect to slirp4netns at " + path);
  // One request per connection: the daemon answers once it sees our half-close.
  for (std::size_t sent = 0; sent < json.size();) {
    const ssize_t n = ::send(fd.get(), json.data() + sent, json.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write to slirp4netns at " + path);
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd.get(), SHUT_WR);
  std::string reply;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read from slirp4netns at " + path);
    if (n == 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  return reply;
}

int SlirpApi::add_hostfwd(const HostForward& forward) const {
  nlohmann::json arguments = {{"proto", forward.proto},
                              {"host_addr", forward.host_addr},
                              {"host_port", forward.host_port},
                              {"guest_port", forward.guest_port}};
  if (!forward.guest_addr.empty()) arguments["guest_addr"] = forward.guest_addr;
  const std::string what = "add_hostfwd " + forward.proto + " " + forward.host_addr + ":" +
                           std::to_string(forward.host_port);
  const auto result = parse_reply(
      what, request(nlohmann::json{{"execute", "add_hostfwd"}, {"arguments", arguments}}.dump()));
  if (!result.contains("id") || !result["id"].is_number_integer())
    throw Error(ErrorCode::kInternal, "slirp4netns " + what + ": no id in the reply");
  return result["id"].get<int>();
}

void SlirpApi::remove_hostfwd(int id) const {
  parse_reply("remove_hostfwd " + std::to_string(id),
              request(nlohmann::json{{"execute", "remove_hostfwd"}, {"arguments", {{"id", id}}}}.dump()));
}

std::vector<int> SlirpApi::list_hostfwd() const {
  const auto result = parse_reply("list_hostfwd", request(R"({"execute":"list_hostfwd"})"));
  std::vector<int> ids;
  for (const auto& entry : result.value("entries", nlohmann::json::array()))
    if (entry.is_object() && entry.contains("id") && entry["id"].is_number_integer())
      ids.push_back(entry["id"].get<int>());
  return ids;
}

}  // namespace netcore::usernet
