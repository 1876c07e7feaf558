#include "netcore/proc/process.hpp"

#include <linux/close_range.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <future>

#include <boost/asio/io_context.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/handles.hpp>
#include <boost/process/io.hpp>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"

extern char** environ;

namespace netcore::proc {
namespace bp = boost::process;

namespace {

// Marks every descriptor above the standard three close-on-exec in the child, after the pipes
// are in place: a netns fd or an IPAM lock held by this process never reaches a plugin or
// daemon. (bp::limit_handles would do it, but in Boost 1.74 it also closes the async pipes.)
// CLOEXEC rather than close keeps Boost's own exec-error pipe working.
struct close_inherited_fds : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  }
};

}  // namespace

std::string RunResult::describe() const {
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(exit_code);
}

RunResult run(const RunRequest& request) {
  bp::environment env;
  // set(), not env[key]: Boost 1.74's operator[] looks the key up by memcmp()ing "KEY=" against
  // every entry so far, reading past any shorter one ("HOME=/x" before "NETCONFPATH"): a heap
  // over-read that ASan aborts on. set() compares lengths first; the map's keys are unique.
  for (const auto& [key, value] : request.env) env.set(key, value);

  boost::asio::io_context io;
  std::future<std::string> out;
  std::future<std::string> err;
  RunResult result;
  bp::child child;
  try {
    child = bp::child(bp::exe = request.program.string(), bp::args = request.args,
                      bp::env = env, bp::std_in < boost::asio::buffer(request.input),
                      bp::std_out > out, bp::std_err > err, io, close_inherited_fds());
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInternal, "start " + request.program.string() + ": " + e.what());
  }
  log::debug("started {} (pid {})", request.program.string(), child.id());

  if (request.timeout.count() > 0) {
    io.run_for(request.timeout);
    if (!io.stopped()) {
      result.timed_out = true;
      std::error_code ignored;
      child.terminate(ignored);  // SIGKILL
      io.run();
    }
  } else {
    io.run();
  }
  if (result.timed_out) {
    result.signal = SIGKILL;  // terminate() reaped it; the status is ours to report
  } else {
    std::error_code wait_error;
    child.wait(wait_error);
    const int status = child.native_exit_code();
    if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    } else {
      result.exit_code = WEXITSTATUS(status);
    }
  }
  result.out = out.get();
  result.err = err.get();
  return result;
}

Environment current_environment() {
  Environment env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view kv(*entry);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

}  // namespace netcore::proc
