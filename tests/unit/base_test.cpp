#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "netcore/base/log.hpp"
#include "netcore/base/undo.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "nsnet-unit-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFdTest, ClosesOnDestructionAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the test
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(fd_is_open(raw));
  }
  EXPECT_FALSE(fd_is_open(raw));
}

TEST(UniqueFdTest, ReleaseGivesUpOwnership) {
  UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int raw = a.release();
  a.reset();
  EXPECT_TRUE(fd_is_open(raw));
  ::close(raw);
}

TEST(ErrorTest, PrefixAddsContextAndKeepsCode) {
  Error e(ErrorCode::kInvalidNetworkConfig, "add address 10.0.0.1/24: File exists", "more");
  e.prefix("bridge cni0");
  EXPECT_EQ(e.msg(), "bridge cni0: add address 10.0.0.1/24: File exists");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_STREQ(e.what(), "bridge cni0: add address 10.0.0.1/24: File exists: more");
}

TEST(ErrorTest, SysErrorKeepsErrnoAndNamesOperation) {
  SysError e("open /x", ENOENT);
  EXPECT_EQ(e.error_number(), ENOENT);
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "open /x: No such file or directory");
}

TEST(ErrorTest, CheckNlThrowsOnlyOnNegative) {
  EXPECT_EQ(check_nl(3, "x"), 3);
  try {
    check_nl(-6, "add veth v0");  // NLE_EXIST
    FAIL();
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), 6);
    EXPECT_EQ(e.msg().rfind("add veth v0: ", 0), 0u) << e.msg();
  }
}

TEST(ErrorTest, ToErrorMapsForeignExceptionsTo999) {
  const auto e = to_error(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "boom");
  const auto kept = to_error(std::make_exception_ptr(Error(ErrorCode::kTryAgainLater, "busy")));
  EXPECT_EQ(kept.code(), ErrorCode::kTryAgainLater);
}

TEST(ErrorListTest, CollectsAndThrowsJoinedWithFirstCode) {
  ErrorList errors;
  errors.attempt([] { throw Error(ErrorCode::kInvalidNetworkConfig, "first"); });
  errors.attempt([] {});
  errors.attempt([] { throw std::runtime_error("second"); });
  ASSERT_EQ(errors.errors().size(), 2u);
  try {
    errors.throw_if_any("teardown");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.msg(), "teardown: first; second");
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  }
  EXPECT_NO_THROW(ErrorList{}.throw_if_any());
}

TEST(UndoTest, RunsStepsInReverseUnlessCommitted) {
  std::vector<int> order;
  {
    Undo undo;
    undo.push([&] { order.push_back(1); });
    undo.push([&] { throw std::runtime_error("step fails"); });  // logged, the rest still run
    undo.push([&] { order.push_back(3); });
  }
  EXPECT_EQ(order, (std::vector<int>{3, 1}));
  {
    Undo undo;
    undo.push([&] { order.push_back(9); });
    undo.commit();
  }
  EXPECT_EQ(order, (std::vector<int>{3, 1}));
}

TEST(FileTest, WriteAtomicReplacesContentAndSetsMode) {
  TempDir dir;
  const auto path = dir.path() / "state";
  write_file_atomic(path, "one", 0600);
  write_file_atomic(path, "two");
  EXPECT_EQ(read_file(path), "two");
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // No temporary file is left next to it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(FileTest, WriteAtomicFailureLeavesNothingAndNamesPath) {
  TempDir dir;
  const auto path = dir.path() / "missing-dir" / "state";
  try {
    write_file_atomic(path, "x");
    FAIL();
  } catch (const SysError& e) {
    EXPECT_NE(e.msg().find(path.string()), std::string::npos) << e.msg();
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(FileTest, FindFileContentDistinguishesMissing) {
  TempDir dir;
  EXPECT_EQ(find_file_content(dir.path() / "nope"), std::nullopt);
  write_file_atomic(dir.path() / "f", std::string("a\0b", 3));
  EXPECT_EQ(find_file_content(dir.path() / "f"), std::string("a\0b", 3));
  EXPECT_THROW((void)read_file(dir.path() / "nope"), SysError);
}

// Captures what the process writes to one fd while `fn` runs.
template <class Fn>
std::string capture_fd(int target, Fn&& fn) {
  fflush(nullptr);
  TempDir dir;
  const auto path = dir.path() / "capture";
  UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  UniqueFd saved(::dup(target));
  ::dup2(file.get(), target);
  fn();
  fflush(nullptr);
  ::dup2(saved.get(), target);
  return read_file(path);
}

TEST(LoggingTest, NeverWritesToStdoutAndHonoursLevelAndFile) {
  TempDir dir;
  const auto log_file = dir.path() / "nsnet.log";
  ::setenv("NSNET_LOG_FILE", log_file.c_str(), 1);
  ::setenv("NSNET_LOG_LEVEL", "debug", 1);
  std::string err;
  const std::string out = capture_fd(STDOUT_FILENO, [&] {
    err = capture_fd(STDERR_FILENO, [] {
      setup_logging("unit", "warn");
      netcore::log::debug("debug line");
      netcore::log::trace("trace line");
      netcore::log::flush();
    });
  });
  ::unsetenv("NSNET_LOG_FILE");
  ::unsetenv("NSNET_LOG_LEVEL");
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("debug line"), std::string::npos) << err;
  EXPECT_EQ(err.find("trace line"), std::string::npos) << err;
  EXPECT_NE(read_file(log_file).find("debug line"), std::string::npos);
  setup_logging("unit", "warn");
}

TEST(LoggingTest, UnwritableLogFileIsReportedNotFatal) {
  ::setenv("NSNET_LOG_FILE", "/dev/null/x/nsnet.log", 1);
  const std::string err = capture_fd(STDERR_FILENO, [] {
    setup_logging("unit", "warn");
    netcore::log::flush();
  });
  ::unsetenv("NSNET_LOG_FILE");
  EXPECT_NE(err.find("log file"), std::string::npos) << err;
  setup_logging("unit", "warn");
}

}  // namespace
}  // namespace netcore
