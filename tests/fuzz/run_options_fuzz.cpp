// `nsnet run`'s command line (launcher/src/run/run_options.hpp): the input split on NUL into
// argv after "run", then parse_run_options and resolve_defaults (as root and not), then what
// run_command parses next: each --publish (parse_publish) and a user-mode network's options
// (parse_slirp_options / parse_pasta_options). Bad options throw std::invalid_argument
// (documented); the parser must never exit or print.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <netcore/usernet/pasta.hpp>
#include <netcore/usernet/slirp4netns.hpp>

#include "run/publish.hpp"
#include "run/run_options.hpp"
#include "support.hpp"

namespace {

constexpr std::size_t kMaxArgs = 256;

void check_resolved(nsnet::RunOptions options, bool is_root) {
  try {
    nsnet::resolve_defaults(options, is_root);
    for (const auto& spec : options.publish) (void)nsnet::parse_publish(spec);
    const auto mode = options.user_mode_network();
    if (mode == "slirp4netns") {
      netcore::usernet::validate(
          netcore::usernet::parse_slirp_options(options.user_mode_options()));
    } else if (mode == "pasta") {
      (void)netcore::usernet::parse_pasta_options(options.user_mode_options());
    }
    (void)options.attaches_networks();
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  nsnet::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(nsnet::fuzz::as_text(data, size));
  std::vector<std::string> args{"run"};
  for (std::size_t start = 0; start <= text.size() && args.size() < kMaxArgs;) {
    const auto end = std::min(text.find('\0', start), text.size());
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  nsnet::RunOptions options;
  try {
    options = nsnet::parse_run_options(static_cast<int>(args.size()), argv.data());
  } catch (const std::invalid_argument&) {
    return 0;
  }
  check_resolved(options, false);
  check_resolved(options, true);
  return 0;
}
