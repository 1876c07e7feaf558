#include "netcore/net/tc.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/errno.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <netlink/utils.h>
#include "netcore/base/log.hpp"

#include <cstring>

#include "netcore/base/error.hpp"
#include "netlink_impl.hpp"

namespace netcore::net {
namespace {

using detail::check_alloc;
using detail::ifindex_text;

using QdiscPtr = std::unique_ptr<rtnl_qdisc, CDeleter<rtnl_qdisc_put>>;
using ClsPtr = std::unique_ptr<rtnl_cls, CDeleter<rtnl_cls_put>>;
using ActPtr = std::unique_ptr<rtnl_act, CDeleter<rtnl_act_put>>;

constexpr std::uint32_t kRootTbfHandle = 0x00010000;  // "1:"
constexpr std::uint32_t kIngressHandle = 0xffff0000;  // "ffff:"

int to_libnl_int(std::uint64_t value, const char* what, const std::string& operation) {
  if (value == 0 || value > kMaxTbfValue)
    throw Error(ErrorCode::kInvalidNetworkConfig, operation + ": " + what + " " +
                                                      std::to_string(value) + " is not in 1.." +
                                                      std::to_string(kMaxTbfValue));
  return static_cast<int>(value);
}

QdiscPtr alloc_qdisc(int ifindex, const char* kind, const std::string& operation) {
  QdiscPtr qdisc(check_alloc(rtnl_qdisc_alloc(), operation));
  rtnl_tc_set_ifindex(TC_CAST(qdisc.get()), ifindex);
  check_nl(rtnl_tc_set_kind(TC_CAST(qdisc.get()), kind), operation);
  return qdisc;
}

// The tbf parameters in TCA_OPTIONS of a qdisc message; nullopt when they are missing.
std::optional<TbfInfo> parse_tbf(nlattr* options) {
  nlattr* tb[TCA_TBF_MAX + 1] = {};
  if (nla_parse_nested(tb, TCA_TBF_MAX, options, nullptr) < 0 || tb[TCA_TBF_PARMS] == nullptr ||
      nla_len(tb[TCA_TBF_PARMS]) < static_cast<int>(sizeof(tc_tbf_qopt)))
    return std::nullopt;
  tc_tbf_qopt qopt{};
  std::memcpy(&qopt, nla_data(tb[TCA_TBF_PARMS]), sizeof qopt);
  TbfInfo info;
  info.rate = qopt.rate.rate;
  if (tb[TCA_TBF_RATE64] != nullptr) info.rate = nla_get_u64(tb[TCA_TBF_RATE64]);
  info.buffer = qopt.buffer;
  info.limit = qopt.limit;
  return info;
}

// The target of the first mirred egress redirect among a u32 filter's actions; 0 = none.
int parse_u32_redirect(nlattr* options) {
  nlattr* tb[TCA_U32_MAX + 1] = {};
  if (nla_parse_nested(tb, TCA_U32_MAX, options, nullptr) < 0 || tb[TCA_U32_ACT] == nullptr)
    return 0;
  nlattr* action = nullptr;
  int remaining = 0;
  nla_for_each_nested(action, tb[TCA_U32_ACT], remaining) {
    nlattr* act[TCA_ACT_MAX + 1] = {};
    if (nla_parse_nested(act, TCA_ACT_MAX, action, nullptr) < 0) continue;
    if (act[TCA_ACT_KIND] == nullptr || act[TCA_ACT_OPTIONS] == nullptr) continue;
    if (std::string(nla_get_string(act[TCA_ACT_KIND])) != "mirred") continue;
    nlattr* mirred[TCA_MIRRED_MAX + 1] = {};
    if (nla_parse_nested(mirred, TCA_MIRRED_MAX, act[TCA_ACT_OPTIONS], nullptr) < 0 ||
        mirred[TCA_MIRRED_PARMS] == nullptr ||
        nla_len(mirred[TCA_MIRRED_PARMS]) < static_cast<int>(sizeof(tc_mirred)))
      continue;
    tc_mirred parms{};
    std::memcpy(&parms, nla_data(mirred[TCA_MIRRED_PARMS]), sizeof parms);
    if (parms.eaction == TCA_EGRESS_REDIR) return static_cast<int>(parms.ifindex);
  }
  return 0;
}

detail::NlMsgPtr tc_dump_request(int type, int ifindex, std::uint32_t parent,
                                 const std::string& what) {
  detail::NlMsgPtr msg(check_alloc(nlmsg_alloc_simple(type, NLM_F_DUMP), what));
  tcmsg tcm{};
  tcm.tcm_family = AF_UNSPEC;
  tcm.tcm_ifindex = ifindex;
  tcm.tcm_parent = parent;
  check_nl(nlmsg_append(msg.get(), &tcm, sizeof tcm, NLMSG_ALIGNTO), what);
  return msg;
}

}  // namespace

TbfSpec tbf_with_latency(std::uint64_t rate, std::uint64_t burst, std::uint64_t latency_us) {
  const auto queued = static_cast<std::uint64_t>(static_cast<double>(rate) *
                                                 static_cast<double>(latency_us) / 1e6);
  return {.rate = rate, .burst = burst, .limit = queued + burst};
}

std::uint32_t tbf_buffer_ticks(std::uint64_t rate, std::uint64_t burst) {
  const std::string operation = "compute tbf buffer";
  // The same two libnl calls rtnl_qdisc_tbf_set_rate makes, so this is exactly what ADD sends.
  const int micros = rtnl_tc_calc_txtime(to_libnl_int(burst, "burst", operation),
                                         to_libnl_int(rate, "rate", operation));
  return nl_us2ticks(static_cast<std::uint32_t>(micros));
}

void add_root_tbf(const Netlink& nl, int ifindex, const TbfSpec& spec) {
  const std::string operation = "add tbf qdisc to " + ifindex_text(ifindex);
  const int rate = to_libnl_int(spec.rate, "rate", operation);
  const int burst = to_libnl_int(spec.burst, "burst", operation);
  const int limit = to_libnl_int(spec.limit, "limit", operation);
  log::debug("{}: rate {} B/s, burst {} B, limit {} B", operation, rate, burst, limit);
  QdiscPtr qdisc = alloc_qdisc(ifindex, "tbf", operation);
  rtnl_tc_set_parent(TC_CAST(qdisc.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(qdisc.get()), kRootTbfHandle);
  rtnl_qdisc_tbf_set_rate(qdisc.get(), rate, burst, 0);
  rtnl_qdisc_tbf_set_limit(qdisc.get(), limit);
  check_nl(rtnl_qdisc_add(nl.sock(), qdisc.get(), NLM_F_CREATE | NLM_F_EXCL), operation);
}

void add_ingress_qdisc(const Netlink& nl, int ifindex) {
  const std::string operation = "add ingress qdisc to " + ifindex_text(ifindex);
  log::debug("{}", operation);
  QdiscPtr qdisc = alloc_qdisc(ifindex, "ingress", operation);
  rtnl_tc_set_parent(TC_CAST(qdisc.get()), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(qdisc.get()), kIngressHandle);
  check_nl(rtnl_qdisc_add(nl.sock(), qdisc.get(), NLM_F_CREATE | NLM_F_EXCL), operation);
}

void add_redirect_filter(const Netlink& nl, int ifindex, int target_ifindex) {
  const std::string operation =
      "add redirect filter from " + ifindex_text(ifindex) + " to " + ifindex_text(target_ifindex);
  log::debug("{}", operation);
  ActPtr act(check_alloc(rtnl_act_alloc(), operation));
  check_nl(rtnl_tc_set_kind(TC_CAST(act.get()), "mirred"), operation);
  check_nl(rtnl_mirred_set_action(act.get(), TCA_EGRESS_REDIR), operation);
  check_nl(rtnl_mirred_set_policy(act.get(), TC_ACT_STOLEN), operation);
  check_nl(rtnl_mirred_set_ifindex(act.get(), static_cast<std::uint32_t>(target_ifindex)),
           operation);

  ClsPtr cls(check_alloc(rtnl_cls_alloc(), operation));
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), ifindex);
  check_nl(rtnl_tc_set_kind(TC_CAST(cls.get()), "u32"), operation);
  rtnl_tc_set_parent(TC_CAST(cls.get()), kIngressHandle);
  rtnl_cls_set_prio(cls.get(), 1);
  rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
  // One key with a zero mask: every packet matches (`u32 match u32 0 0`).
  check_nl(rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0), operation);
  check_nl(rtnl_u32_set_cls_terminal(cls.get()), operation);
  check_nl(rtnl_u32_add_action(cls.get(), act.get()), operation);  // takes its own reference
  check_nl(rtnl_cls_add(nl.sock(), cls.get(), NLM_F_CREATE | NLM_F_EXCL), operation);
}

std::vector<QdiscInfo> list_qdiscs(const Netlink& nl, int ifindex) {
  // Read raw rather than through libnl's qdisc cache: the kernel's own buffer in ticks is what
  // CHECK compares, and libnl only gives it back converted to bytes.
  std::vector<QdiscInfo> result;
  const std::string what = "qdiscs";
  auto on_message = [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWQDISC) return;
    nlattr* tb[TCA_MAX + 1] = {};
    check_nl(nlmsg_parse(hdr, sizeof(tcmsg), tb, TCA_MAX, nullptr), "parse qdisc");
    const auto* tcm = static_cast<const tcmsg*>(nlmsg_data(hdr));
    if (ifindex != 0 && tcm->tcm_ifindex != ifindex) return;
    QdiscInfo info;
    info.ifindex = tcm->tcm_ifindex;
    info.handle = tcm->tcm_handle;
    info.parent = tcm->tcm_parent;
    if (tb[TCA_KIND] != nullptr) info.kind = nla_get_string(tb[TCA_KIND]);
    if (info.kind == "tbf" && tb[TCA_OPTIONS] != nullptr) info.tbf = parse_tbf(tb[TCA_OPTIONS]);
    result.push_back(std::move(info));
  };
  detail::dump_raw(
      nl, [&] { return tc_dump_request(RTM_GETQDISC, ifindex, 0, "dump " + what); }, on_message,
      [&] { result.clear(); }, what);
  return result;
}

std::vector<FilterInfo> list_filters(const Netlink& nl, int ifindex, std::uint32_t parent) {
  std::vector<FilterInfo> result;
  const std::string what = "filters of " + ifindex_text(ifindex);
  auto on_message = [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWTFILTER) return;
    nlattr* tb[TCA_MAX + 1] = {};
    check_nl(nlmsg_parse(hdr, sizeof(tcmsg), tb, TCA_MAX, nullptr), "parse filter");
    const auto* tcm = static_cast<const tcmsg*>(nlmsg_data(hdr));
    // The kernel lists a u32 filter's hash table and its node separately; only nodes have a
    // handle with a node part, and only they carry the match and the actions.
    if (TC_U32_NODE(tcm->tcm_handle) == 0) return;
    FilterInfo info;
    if (tb[TCA_KIND] != nullptr) info.kind = nla_get_string(tb[TCA_KIND]);
    info.priority = TC_H_MAJ(tcm->tcm_info) >> 16;
    info.protocol = ntohs(static_cast<std::uint16_t>(TC_H_MIN(tcm->tcm_info)));
    if (info.kind == "u32" && tb[TCA_OPTIONS] != nullptr)
      info.redirect_ifindex = parse_u32_redirect(tb[TCA_OPTIONS]);
    result.push_back(std::move(info));
  };
  detail::dump_raw(
      nl, [&] { return tc_dump_request(RTM_GETTFILTER, ifindex, parent, "dump " + what); },
      on_message, [&] { result.clear(); }, what);
  return result;
}

bool delete_qdisc_if_exists(const Netlink& nl, int ifindex, std::uint32_t parent) {
  const std::string operation = "delete qdisc of " + ifindex_text(ifindex);
  log::debug("{} at parent {:x}", operation, parent);
  QdiscPtr qdisc(check_alloc(rtnl_qdisc_alloc(), operation));
  rtnl_tc_set_ifindex(TC_CAST(qdisc.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(qdisc.get()), parent);
  const int err = rtnl_qdisc_delete(nl.sock(), qdisc.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  check_nl(err, operation);
  return true;
}

}  // namespace netcore::net
