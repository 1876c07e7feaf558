#include "run/id_map.hpp"
#include "run/user_db.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include <netcore/base/error.hpp>
#include <netcore/base/unique_fd.hpp>
#include <netcore/proc/process.hpp>

namespace nsnet {

namespace fs = std::filesystem;

namespace {

std::uint32_t to_u32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw std::invalid_argument("not a number: '" + std::string(text) + "'");
  return value;
}

IdRange parse_range(const std::string& value) {  // "outer,inner,count", checked by the parser
  const auto first = value.find(',');
  const auto second = value.find(',', first + 1);
  return IdRange{.inner = to_u32(std::string_view(value).substr(first + 1, second - first - 1)),
                 .outer = to_u32(std::string_view(value).substr(0, first)),
                 .count = to_u32(std::string_view(value).substr(second + 1))};
}

std::string user_name_or_id(uid_t uid) { return user_name(uid).value_or(std::to_string(uid)); }

// The ranges: `range` with the single id `single` (inner) cut out of it, then the single mapping.
std::vector<IdRange> combine(std::optional<IdRange> single, std::optional<IdRange> range) {
  std::vector<IdRange> out;
  if (single) out.push_back(*single);
  if (!range) return out;
  if (single && single->inner >= range->inner && single->inner - range->inner < range->count) {
    const std::uint32_t before = single->inner - range->inner;
    if (before > 0) out.push_back({.inner = range->inner, .outer = range->outer, .count = before});
    if (range->count - before - 1 > 0)
      out.push_back({.inner = single->inner + 1,
                     .outer = range->outer + before,
                     .count = range->count - before - 1});
  } else {
    out.push_back(*range);
  }
  return out;
}

std::string map_text(const std::vector<IdRange>& ranges) {
  std::string text;
  for (const auto& r : ranges)
    text += std::to_string(r.inner) + ' ' + std::to_string(r.outer) + ' ' +
            std::to_string(r.count) + '\n';
  return text;
}

void write_proc(pid_t pid, const char* file, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  netcore::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  // One write(): the kernel takes a map in a single call only.
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(std::string("writing ") + file + ": " + std::strerror(errno));
}

void run_helper(const char* helper, pid_t pid, const std::vector<IdRange>& ranges) {
  std::vector<std::string> args{std::to_string(pid)};
  for (const auto& r : ranges) {
    args.push_back(std::to_string(r.inner));
    args.push_back(std::to_string(r.outer));
    args.push_back(std::to_string(r.count));
  }
  netcore::proc::RunResult result;
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/"}) {
    const fs::path program = fs::path(dir) / helper;
    if (::access(program.c_str(), X_OK) != 0) continue;
    result = netcore::proc::run({.program = program, .args = args, .env = {}});
    if (!result.succeeded()) {
      std::string err = result.err;
      while (!err.empty() && err.back() == '\n') err.pop_back();
      throw std::runtime_error(std::string(helper) + ": " + result.describe() +
                               (err.empty() ? "" : ": " + err));
    }
    return;
  }
  throw std::runtime_error(std::string(helper) +
                           " not found: mapping id ranges needs it (Debian package uidmap)");
}

}  // namespace

IdRange first_subid_range(const fs::path& file, const std::string& user, std::uint32_t id) {
  std::ifstream in(file);
  std::string line;
  const std::string numeric = std::to_string(id);
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string owner = line.substr(0, first);
    if (owner != user && owner != numeric) continue;
    try {
      return IdRange{.inner = 0,
                     .outer = to_u32(std::string_view(line).substr(first + 1, second - first - 1)),
                     .count = to_u32(std::string_view(line).substr(second + 1))};
    } catch (const std::invalid_argument&) {
      continue;
    }
  }
  throw std::invalid_argument("no range for " + user + " in " + file.string());
}

IdMapPlan plan_id_maps(const IdMapRequest& request, std::optional<bool> setgroups_allow,
                       uid_t euid, gid_t egid, const SubidFiles& files) {
  const std::string name = user_name_or_id(euid);
  auto range_of = [&](const std::optional<std::string>& spec, const fs::path& file,
                      std::uint32_t id) -> std::optional<IdRange> {
    if (!spec) return std::nullopt;
    return *spec == "auto" ? first_subid_range(file, name, id) : parse_range(*spec);
  };
  std::optional<IdRange> single_uid;
  std::optional<IdRange> single_gid;
  if (request.inner_uid) single_uid = IdRange{.inner = *request.inner_uid, .outer = euid, .count = 1};
  if (request.inner_gid) single_gid = IdRange{.inner = *request.inner_gid, .outer = egid, .count = 1};
  IdMapPlan plan{.uids = combine(single_uid, range_of(request.uid_range, files.subuid, euid)),
                 .gids = combine(single_gid, range_of(request.gid_range, files.subgid, euid))};
  // unshare: a single group mapping implies --setgroups=deny (the kernel requires it when an
  // unprivileged process writes gid_map itself).
  plan.deny_setgroups = setgroups_allow ? !*setgroups_allow
                                        : (request.inner_gid.has_value() && !request.gid_range);
  return plan;
}

void write_id_maps(pid_t pid, const IdMapPlan& plan) {
  const bool privileged = ::geteuid() == 0;
  if (plan.deny_setgroups) write_proc(pid, "setgroups", "deny");
  auto write_one = [&](const std::vector<IdRange>& ranges, const char* file, const char* helper) {
    if (ranges.empty()) return;
    const bool only_own_id = ranges.size() == 1 && ranges.front().count == 1;
    if (privileged || only_own_id) {
      try {
        write_proc(pid, file, map_text(ranges));
        return;
      } catch (const std::runtime_error&) {
        if (privileged) throw;
      }
    }
    run_helper(helper, pid, ranges);
  };
  write_one(plan.uids, "uid_map", "newuidmap");
  write_one(plan.gids, "gid_map", "newgidmap");
}

}  // namespace nsnet
