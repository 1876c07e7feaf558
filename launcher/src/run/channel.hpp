#pragma once

// The messages between nsnet and its child over their SOCK_SEQPACKET pair: one packet each, a
// tag byte then text. The child's end is close-on-exec, so a successful exec reads as EOF.

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace nsnet::channel {

inline constexpr char kUnshared = 'U';  // child → nsnet: the namespaces exist
inline constexpr char kGo = 'G';        // nsnet → child: ids mapped, networks attached
inline constexpr char kNetworkReady = 'N';  // nsnet → child: the user-mode network helper is ready
inline constexpr char kPid = 'P';       // child → nsnet: COMMAND's pid (decimal)
inline constexpr char kError = 'E';     // child → nsnet: "CODE:message"; the child then exits

struct Message {
  char tag;
  std::string text;
};

inline bool send(int fd, char tag, std::string_view text = {}) noexcept {
  char buffer[1024];
  const std::size_t n = text.size() < sizeof buffer - 1 ? text.size() : sizeof buffer - 1;
  buffer[0] = tag;
  text.copy(buffer + 1, n);
  return ::send(fd, buffer, n + 1, MSG_NOSIGNAL) == static_cast<ssize_t>(n + 1);
}

// nullopt at EOF (or on an error, which ends the conversation the same way).
inline std::optional<Message> receive(int fd) {
  char buffer[1024];
  ssize_t n;
  do n = ::recv(fd, buffer, sizeof buffer, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  return Message{buffer[0], std::string(buffer + 1, static_cast<std::size_t>(n - 1))};
}

}  // namespace nsnet::channel
