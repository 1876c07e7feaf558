#include "support/snapshot.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "support/sandbox.hpp"

namespace nsnet::testing {

namespace fs = std::filesystem;

std::string sandbox_snapshot(const SnapshotSpec& spec) {
  std::string out;
  for (const auto* ns : spec.netns) {
    out += "== netns\n";
    out += run_in_netns(*ns, spec.netns_commands);
  }
  for (const auto& dir : spec.trees) {
    out += "== files " + dir.string() + "\n";
    std::set<std::string> lines;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (spec.skip_file && spec.skip_file(it->path())) continue;
      const auto status = it->symlink_status();
      std::string line =
          it->path().string() + " type=" + std::to_string(static_cast<int>(status.type()));
      if (status.type() == fs::file_type::regular) {
        std::error_code size_ec;
        const auto size = fs::file_size(it->path(), size_ec);
        line += " size=" + std::to_string(size_ec ? 0 : size);
        std::ifstream in(it->path(), std::ios::binary);
        std::ostringstream content;
        if (size > 0 && size < 4096 && in) content << in.rdbuf();
        line += " content=" + content.str();
      }
      lines.insert(std::move(line));
    }
    for (const auto& line : lines) out += line + "\n";
  }
  return out;
}

}  // namespace nsnet::testing
