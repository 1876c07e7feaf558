#include "netlink_impl.hpp"

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>
#include <exception>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"

namespace netcore::net::detail {
namespace {

constexpr int kDumpAttempts = 5;

// State shared with the C callback of dump_raw; exceptions never cross libnl's frames.
struct DumpContext {
  const std::function<void(nlmsghdr*)>* on_message;
  std::exception_ptr error;
};

int dump_callback(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<DumpContext*>(arg);
  if (ctx->error) return NL_SKIP;  // keep draining the dump, ignore the rest
  try {
    (*ctx->on_message)(nlmsg_hdr(msg));
  } catch (...) {
    ctx->error = std::current_exception();
  }
  return NL_OK;
}

}  // namespace

void throw_out_of_memory(std::string_view what) {
  throw Error(ErrorCode::kInternal, std::string(what) + ": out of memory");
}

NlAddrPtr to_nl_addr(const IpAddress& ip, std::optional<unsigned> prefixlen) {
  NlAddrPtr addr;
  if (ip.is_v4()) {
    const auto bytes = ip.to_v4().to_bytes();
    addr.reset(nl_addr_build(AF_INET, bytes.data(), bytes.size()));
  } else {
    const auto bytes = ip.to_v6().to_bytes();
    addr.reset(nl_addr_build(AF_INET6, bytes.data(), bytes.size()));
  }
  check_alloc(addr.get(), "build address " + ip.to_string());
  nl_addr_set_prefixlen(addr.get(), static_cast<int>(prefixlen.value_or(ip.is_v4() ? 32 : 128)));
  return addr;
}

NlAddrPtr to_nl_addr(const MacAddress& mac) {
  NlAddrPtr addr(nl_addr_build(AF_LLC, mac.bytes().data(), mac.bytes().size()));
  check_alloc(addr.get(), "build address " + mac.to_string());
  return addr;
}

std::optional<IpAddress> ip_from_nl_addr(nl_addr* addr, int family) {
  if (addr == nullptr) return std::nullopt;
  if (family == AF_UNSPEC) family = nl_addr_get_family(addr);
  const auto* data = static_cast<const unsigned char*>(nl_addr_get_binary_addr(addr));
  const unsigned len = nl_addr_get_len(addr);
  if (family == AF_INET && (len == 4 || len == 0)) {
    boost::asio::ip::address_v4::bytes_type bytes{};
    if (len == 4) std::memcpy(bytes.data(), data, 4);
    return IpAddress(boost::asio::ip::address_v4(bytes));
  }
  if (family == AF_INET6 && (len == 16 || len == 0)) {
    boost::asio::ip::address_v6::bytes_type bytes{};
    if (len == 16) std::memcpy(bytes.data(), data, 16);
    return IpAddress(boost::asio::ip::address_v6(bytes));
  }
  return std::nullopt;
}

std::optional<MacAddress> mac_from_nl_addr(nl_addr* addr) {
  if (addr == nullptr || nl_addr_get_len(addr) != 6) return std::nullopt;
  std::array<std::uint8_t, 6> bytes{};
  std::memcpy(bytes.data(), nl_addr_get_binary_addr(addr), bytes.size());
  return MacAddress(bytes);
}

std::string ifindex_text(int ifindex) { return "ifindex " + std::to_string(ifindex); }

void validate_link_name(const std::string& name) {
  bool valid = !name.empty() && name.size() < 16 && name != "." && name != "..";
  for (const char c : name) {
    if (c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c)))
      valid = false;
  }
  if (!valid) throw Error(ErrorCode::kInvalidNetworkConfig, "invalid link name \"" + name + "\"");
}

void send_sync(const Netlink& nl, NlMsgPtr msg, const std::string& operation) {
  // nl_send_sync frees the message whatever happens.
  check_nl(nl_send_sync(nl.sock(), msg.release()), operation);
}

void dump_raw(const Netlink& nl, const std::function<NlMsgPtr()>& make_request,
              const std::function<void(nlmsghdr*)>& on_message,
              const std::function<void()>& on_restart, const std::string& what) {
  NlCbPtr base(check_alloc(nl_socket_get_cb(nl.sock()), "dump " + what));
  NlCbPtr cb(check_alloc(nl_cb_clone(base.get()), "dump " + what));
  int err = 0;
  for (int attempt = 1; attempt <= kDumpAttempts; ++attempt) {
    DumpContext ctx{&on_message, nullptr};
    check_nl(nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, dump_callback, &ctx), "dump " + what);
    NlMsgPtr request = make_request();
    check_nl(nl_send_auto(nl.sock(), request.get()), "dump " + what);
    err = nl_recvmsgs(nl.sock(), cb.get());
    if (ctx.error) std::rethrow_exception(ctx.error);
    if (err >= 0) return;
    if (err != -NLE_DUMP_INTR) break;
    log::debug("dump {} interrupted (attempt {}), retrying", what, attempt);
    on_restart();
  }
  throw NetlinkError("dump " + what, -err);
}

}  // namespace netcore::net::detail
