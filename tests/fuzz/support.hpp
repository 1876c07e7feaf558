#pragma once

// What the fuzz targets share. Each target feeds its input to one parser and lets only that
// parser's documented errors through: anything else (a crash, a sanitizer report, an undocumented
// exception, which escapes LLVMFuzzerTestOneInput and aborts) is a finding.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <netcore/base/error.hpp>
#include <netcore/cni/cmd_args.hpp>

namespace nsnet::fuzz {

// The input as text.
[[nodiscard]] inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Silences netcore's logging (parsers warn on tolerated input); call from LLVMFuzzerInitialize.
void quiet_logging() noexcept;

// The environment of a CNI ADD as a runtime sets it (a netns path that is never opened).
[[nodiscard]] netcore::cni::Environment add_env();

// The bytes as a plugin's stdin, through the skel's own path (CmdArgs::parse: bounded read,
// parse_json, the cniVersion and name checks). nullopt when that throws netcore::Error, as it
// must for bad input; the plugin's parser never sees such input.
[[nodiscard]] std::optional<netcore::cni::CmdArgs> parse_stdin(const std::uint8_t* data,
                                                               std::size_t size);

// Runs fn; a netcore::Error (the parsers' documented error) is expected and swallowed.
template <class Fn>
void expect_cni_errors(Fn&& fn) {
  try {
    fn();
  } catch (const netcore::Error&) {
  }
}

// Aborts with `what` on stderr: a broken invariant is a finding.
[[noreturn]] void fail(const std::string& what);

}  // namespace nsnet::fuzz
