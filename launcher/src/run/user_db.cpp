#include "run/user_db.hpp"

#include <charconv>
#include <sstream>
#include <string_view>

#include <netcore/base/file.hpp>

namespace nsnet {

namespace {

// Calls `fn(name, id)` for each "name:x:id:..." line of `file` until it returns true.
template <class Fn>
bool scan(const char* file, Fn&& fn) {
  std::istringstream lines(netcore::find_file_content(file).value_or(""));
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first == std::string::npos ? first : first + 1);
    if (second == std::string::npos) continue;
    const auto third = line.find(':', second + 1);
    const std::string_view id_text = std::string_view(line).substr(second + 1, third - second - 1);
    unsigned id = 0;
    const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || end != id_text.data() + id_text.size() || id_text.empty()) continue;
    if (fn(line.substr(0, first), id)) return true;
  }
  return false;
}

// The id of the entry called `name` in `file`.
std::optional<unsigned> id_of(const char* file, const std::string& name) {
  std::optional<unsigned> found;
  scan(file, [&](const std::string& n, unsigned id) {
    if (n == name) found = id;
    return found.has_value();
  });
  return found;
}

}  // namespace

std::optional<std::string> user_name(uid_t uid) {
  std::optional<std::string> found;
  scan("/etc/passwd", [&](const std::string& name, unsigned id) {
    if (id == uid) found = name;
    return found.has_value();
  });
  return found;
}

std::optional<uid_t> user_id(const std::string& name) { return id_of("/etc/passwd", name); }

std::optional<gid_t> group_id(const std::string& name) { return id_of("/etc/group", name); }

}  // namespace nsnet
