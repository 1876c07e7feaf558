#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/ipam/disk_store.hpp"
#include "netcore/ipam/store.hpp"
#include "netcore/net/ip.hpp"
#include "support/ipam_text.hpp"

namespace netcore::ipam {
namespace {

namespace fs = std::filesystem;
using net::IpAddress;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ =
        (fs::path(base != nullptr && *base != '\0' ? base : "/tmp") / "nsnet-ipam-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << templ;
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using nsnet::testing::ip;
using nsnet::testing::owner;

std::string read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes a file as the reference plugin (or a crashed writer) would have left it.
void write_raw(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "write " << path;
}

std::vector<std::string> texts(const std::vector<IpAddress>& ips) {
  std::vector<std::string> out;
  for (const auto& a : ips) out.push_back(a.to_string());
  return out;
}

std::vector<std::string> sorted_texts(const std::vector<IpAddress>& ips) {
  auto out = texts(ips);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

using Strings = std::vector<std::string>;

class DiskStoreTest : public ::testing::Test {
 protected:
  // One DiskStore per "process": the flock is per open file, so a second store of the same
  // network in this process would wait for the first forever. Callers reset the previous one.
  std::unique_ptr<DiskStore> open() { return DiskStore::open(tmp_.path(), "net1"); }
  fs::path net_dir() const { return tmp_.path() / "net1"; }
  fs::path file(std::string_view name) const { return net_dir() / name; }

  TempDir tmp_;
};

TEST_F(DiskStoreTest, WritesTheReferenceLayout) {
  {
    auto store = open();
    EXPECT_EQ(store->directory(), net_dir());
    EXPECT_TRUE(fs::is_regular_file(file("lock")));

    EXPECT_TRUE(store->reserve(owner("ctr1"), ip("10.0.0.2"), 0));
    EXPECT_EQ(read_raw(file("10.0.0.2")), "ctr1\r\neth0");
    EXPECT_EQ(read_raw(file("last_reserved_ip.0")), "10.0.0.2");

    EXPECT_TRUE(store->reserve(owner("ctr1", "net1"), ip("fd00::2"), 1));
    EXPECT_EQ(read_raw(file("fd00::2")), "ctr1\r\nnet1");
    EXPECT_EQ(read_raw(file("last_reserved_ip.1")), "fd00::2");

    // Taken: nothing changes, not even the last reserved address.
    EXPECT_FALSE(store->reserve(owner("ctr2"), ip("10.0.0.2"), 0));
    EXPECT_EQ(read_raw(file("10.0.0.2")), "ctr1\r\neth0");
    EXPECT_EQ(read_raw(file("last_reserved_ip.0")), "10.0.0.2");

    EXPECT_EQ(store->last_reserved(0), ip("10.0.0.2"));
    EXPECT_EQ(store->last_reserved(1), ip("fd00::2"));
    EXPECT_EQ(store->last_reserved(2), std::nullopt);
  }
  // Nothing but the reference's files in the network directory (no temporaries either);
  // nsnet's own state lives beside it.
  EXPECT_EQ(entries(net_dir()),
            (Strings{"10.0.0.2", "fd00::2", "last_reserved_ip.0", "last_reserved_ip.1", "lock"}));
  EXPECT_TRUE(fs::is_directory(tmp_.path() / ".nsnet" / "net1"));
  EXPECT_EQ(entries(tmp_.path()), (Strings{".nsnet", "net1"}));
}

TEST_F(DiskStoreTest, ReadsTheReferencesLastReservedFile) {
  fs::create_directories(net_dir());
  write_raw(file("last_reserved_ip.0"), "10.0.0.9");
  write_raw(file("last_reserved_ip.1"), "not an address");
  auto store = open();
  EXPECT_EQ(store->last_reserved(0), ip("10.0.0.9"));
  EXPECT_EQ(store->last_reserved(1), std::nullopt);
}

TEST_F(DiskStoreTest, HoldsTheLockWhileOpen) {
  auto store = open();
  const int fd = ::open(file("lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  store.reset();
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

TEST_F(DiskStoreTest, FindsAndReleasesByOwner) {
  auto store = open();
  ASSERT_TRUE(store->reserve(owner("a"), ip("10.0.0.2"), 0));
  ASSERT_TRUE(store->reserve(owner("a", "net1"), ip("10.0.0.3"), 0));
  ASSERT_TRUE(store->reserve(owner("b"), ip("10.0.0.4"), 0));
  ASSERT_TRUE(store->reserve(owner("a"), ip("fd00::2"), 1));

  EXPECT_EQ(sorted_texts(store->find_by_owner(owner("a"))), (Strings{"10.0.0.2", "fd00::2"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("a", "net1"))), (Strings{"10.0.0.3"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("nobody"))), Strings{});

  EXPECT_EQ(sorted_texts(store->release_by_owner(owner("a"))), (Strings{"10.0.0.2", "fd00::2"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.2")));
  EXPECT_FALSE(fs::exists(file("fd00::2")));
  EXPECT_TRUE(fs::exists(file("10.0.0.3")));
  EXPECT_TRUE(fs::exists(file("10.0.0.4")));
  EXPECT_EQ(texts(store->find_by_owner(owner("a"))), Strings{});
  EXPECT_EQ(texts(store->release_by_owner(owner("a"))), Strings{});  // idempotent

  // A later store (the next plugin run) sees the same state.
  store.reset();
  store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("a"))), Strings{});
  EXPECT_EQ(texts(store->find_by_owner(owner("a", "net1"))), (Strings{"10.0.0.3"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("b"))), (Strings{"10.0.0.4"}));
}

TEST_F(DiskStoreTest, LegacyIdOnlyReservationsAreFoundAndReleased) {
  fs::create_directories(net_dir());
  write_raw(file("10.0.0.7"), "ctr-old");  // written by a host-local older than ifname support
  auto store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-old"))), (Strings{"10.0.0.7"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-old", "net9"))), (Strings{"10.0.0.7"}));
  EXPECT_EQ(texts(store->release_by_owner(owner("ctr-old"))), (Strings{"10.0.0.7"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.7")));
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-old"))), Strings{});
}

TEST_F(DiskStoreTest, LegacyReservationsAreReleasedOnlyWhenNothingMatchesExactly) {
  fs::create_directories(net_dir());
  write_raw(file("10.0.0.8"), "ctr-x");
  write_raw(file("10.0.0.9"), "ctr-x\r\neth0");
  auto store = open();
  // Lookups report both, the exact match first (the reference's GetByID matches either).
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-x"))), (Strings{"10.0.0.9", "10.0.0.8"}));
  // Release, like the reference's ReleaseByID, falls back to id-only files only if needed.
  EXPECT_EQ(texts(store->release_by_owner(owner("ctr-x"))), (Strings{"10.0.0.9"}));
  EXPECT_TRUE(fs::exists(file("10.0.0.8")));
  EXPECT_EQ(texts(store->release_by_owner(owner("ctr-x"))), (Strings{"10.0.0.8"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.8")));
}

TEST_F(DiskStoreTest, EmptyReservationOfACrashedWriterIsReclaimed) {
  auto store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("c1"))), Strings{});  // the index is checked now
  // What a writer killed between creating and filling the file leaves behind.
  write_raw(file("10.0.0.5"), "");
  EXPECT_TRUE(store->reserve(owner("c1"), ip("10.0.0.5"), 0));
  EXPECT_EQ(read_raw(file("10.0.0.5")), "c1\r\neth0");
  EXPECT_EQ(read_raw(file("last_reserved_ip.0")), "10.0.0.5");
  EXPECT_EQ(texts(store->find_by_owner(owner("c1"))), (Strings{"10.0.0.5"}));

  write_raw(file("10.0.0.6"), "");
  write_raw(file("10.0.0.10"), "");
  const auto all = store->list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].ip, ip("10.0.0.5"));
  EXPECT_EQ(all[0].owner, owner("c1"));
  EXPECT_FALSE(fs::exists(file("10.0.0.6")));
  EXPECT_FALSE(fs::exists(file("10.0.0.10")));

  // The next store's index rebuild drops them as well.
  store.reset();
  write_raw(file("10.0.0.7"), "");
  store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("c1"))), (Strings{"10.0.0.5"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.7")));
}

TEST_F(DiskStoreTest, IndexIsRebuiltAfterForeignChanges) {
  auto store = open();
  ASSERT_TRUE(store->reserve(owner("ctr-g"), ip("10.0.0.10"), 0));
  ASSERT_TRUE(store->reserve(owner("ctr-h"), ip("10.0.0.11"), 0));
  ASSERT_EQ(texts(store->find_by_owner(owner("ctr-g"))), (Strings{"10.0.0.10"}));
  store.reset();

  // The reference plugin takes over for a while: it adds one, drops one, and hands one address
  // to another container.
  write_raw(file("10.0.0.9"), "ctr-f\r\neth0");
  fs::remove(file("10.0.0.10"));
  fs::remove(file("10.0.0.11"));
  write_raw(file("10.0.0.11"), "ctr-i\r\neth1");

  store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-f"))), (Strings{"10.0.0.9"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-g"))), Strings{});
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-h"))), Strings{});
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-i", "eth1"))), (Strings{"10.0.0.11"}));
  EXPECT_EQ(texts(store->release_by_owner(owner("ctr-f"))), (Strings{"10.0.0.9"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.9")));
  EXPECT_EQ(texts(store->release_by_owner(owner("ctr-i", "eth1"))), (Strings{"10.0.0.11"}));
  EXPECT_FALSE(fs::exists(file("10.0.0.11")));

  // Reserving again works on top of the rebuilt index.
  EXPECT_TRUE(store->reserve(owner("ctr-f"), ip("10.0.0.12"), 0));
  store.reset();
  store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-f"))), (Strings{"10.0.0.12"}));
}

TEST_F(DiskStoreTest, OpenExistingCreatesNothingForAnUnknownNetwork) {
  EXPECT_EQ(DiskStore::open_existing(tmp_.path(), "nonet"), nullptr);
  EXPECT_EQ(entries(tmp_.path()), Strings{});

  open().reset();
  auto store = DiskStore::open_existing(tmp_.path(), "net1");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->directory(), net_dir());
}

TEST_F(DiskStoreTest, ExhaustionHintHoldsUntilSomethingIsReleased) {
  auto store = open();
  ASSERT_TRUE(store->reserve(owner("c1"), ip("10.0.0.2"), 0));
  ASSERT_TRUE(store->reserve(owner("c2"), ip("10.0.0.3"), 0));
  EXPECT_FALSE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));

  store->mark_exhausted(0, "10.0.0.2-10.0.0.3");
  EXPECT_TRUE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));
  EXPECT_FALSE(store->known_exhausted(0, "10.0.0.2-10.0.0.4"));  // the config changed
  EXPECT_FALSE(store->known_exhausted(1, "10.0.0.2-10.0.0.3"));
  // Only the network directory's own files count: the hint is nsnet's.
  EXPECT_EQ(entries(net_dir()), (Strings{"10.0.0.2", "10.0.0.3", "last_reserved_ip.0", "lock"}));

  // Releasing an address nobody holds changes nothing.
  store->release(ip("10.0.0.99"));
  EXPECT_TRUE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));

  store->release(ip("10.0.0.2"));
  EXPECT_FALSE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));

  ASSERT_TRUE(store->reserve(owner("c3"), ip("10.0.0.2"), 0));
  store->mark_exhausted(0, "10.0.0.2-10.0.0.3");
  EXPECT_EQ(texts(store->release_by_owner(owner("c2"))), (Strings{"10.0.0.3"}));
  EXPECT_FALSE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));

  // A release by the reference plugin invalidates it too.
  ASSERT_TRUE(store->reserve(owner("c4"), ip("10.0.0.3"), 0));
  store->mark_exhausted(0, "10.0.0.2-10.0.0.3");
  store.reset();
  fs::remove(file("10.0.0.3"));
  store = open();
  EXPECT_FALSE(store->known_exhausted(0, "10.0.0.2-10.0.0.3"));
}

TEST_F(DiskStoreTest, ListAndReleaseForGarbageCollection) {
  fs::create_directories(net_dir());
  write_raw(file("10.0.0.20"), "ctr-old");          // legacy
  write_raw(file("10.0.0.21.tmp.abc123"), "junk");  // not a reservation
  write_raw(file("010.0.0.22"), "junk");            // not a canonical address
  auto store = open();
  ASSERT_TRUE(store->reserve(owner("keep"), ip("10.0.0.2"), 0));
  ASSERT_TRUE(store->reserve(owner("stale"), ip("10.0.0.3"), 0));
  ASSERT_TRUE(store->reserve(owner("stale"), ip("fd00::3"), 1));

  auto all = store->list();
  std::sort(all.begin(), all.end(),
            [](const Reservation& a, const Reservation& b) { return a.ip < b.ip; });
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].ip, ip("10.0.0.2"));
  EXPECT_EQ(all[0].owner, owner("keep"));
  EXPECT_EQ(all[1].ip, ip("10.0.0.3"));
  EXPECT_EQ(all[1].owner, owner("stale"));
  EXPECT_EQ(all[2].ip, ip("10.0.0.20"));
  EXPECT_EQ(all[2].owner, owner("ctr-old", ""));
  EXPECT_EQ(all[3].ip, ip("fd00::3"));
  EXPECT_EQ(all[3].owner, owner("stale"));

  for (const auto& r : all)
    if (r.owner.container_id != "keep") store->release(r.ip);
  EXPECT_EQ(entries(net_dir()), (Strings{"010.0.0.22", "10.0.0.2", "10.0.0.21.tmp.abc123",
                                         "last_reserved_ip.0", "last_reserved_ip.1", "lock"}));
  EXPECT_EQ(texts(store->find_by_owner(owner("stale"))), Strings{});
  EXPECT_EQ(texts(store->find_by_owner(owner("ctr-old"))), Strings{});
  EXPECT_EQ(texts(store->find_by_owner(owner("keep"))), (Strings{"10.0.0.2"}));
  store->release(ip("10.0.0.3"));  // already gone: not an error

  store.reset();
  store = open();
  EXPECT_EQ(texts(store->find_by_owner(owner("stale"))), Strings{});
  EXPECT_EQ(store->list().size(), 1u);
}

TEST_F(DiskStoreTest, OpenFailsWithTheDirectoryNamed) {
  write_raw(tmp_.path() / "file", "x");
  try {
    (void)DiskStore::open(tmp_.path() / "file", "net1");
    FAIL() << "no Error thrown";
  } catch (const SysError& e) {
    EXPECT_NE(e.msg().find((tmp_.path() / "file" / "net1").string()), std::string::npos) << e.msg();
  }
}

}  // namespace
}  // namespace netcore::ipam
