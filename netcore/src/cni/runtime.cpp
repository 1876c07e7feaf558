#include "netcore/cni/runtime.hpp"

#include <algorithm>

#include "netcore/base/error.hpp"
#include "netcore/base/log.hpp"
#include "netcore/cni/version.hpp"

namespace netcore::cni {

namespace {

std::string describe(const NetworkList& list, const RuntimeConf& rt) {
  return "network " + list.name + " container " + rt.container_id + " ifname " + rt.ifname;
}

// The cached result converted to the list's version, as libcni hands it to CHECK and DEL.
// nullopt when there is no entry or its result does not parse (`why` then says so).
std::optional<Result> cached_result(const std::optional<CachedAttachment>& entry,
                                    const NetworkList& list, std::string* why) {
  if (!entry || !entry->result) return std::nullopt;
  try {
    return Result::from_json(*entry->result, list.cni_version);
  } catch (const Error& e) {
    if (why != nullptr) *why = e.what();
    return std::nullopt;
  }
}

}  // namespace

Result Runtime::add(const NetworkList& list, const RuntimeConf& rt) const {
  (void)cache_.path(list.name, rt.container_id, rt.ifname);  // unsafe names fail before any plugin
  Result result = add_network_list(list, rt, runner_);
  cache_.save(list, rt, result);
  return result;
}

void Runtime::check(const NetworkList& list, const RuntimeConf& rt) const {
  if (!supports_check(list.cni_version))
    throw Error(ErrorCode::kIncompatibleVersion, "network " + list.name +
                                                     ": configuration version " +
                                                     list.cni_version +
                                                     " does not support the CHECK command");
  if (list.disable_check) return;
  const auto entry = cache_.load(list.name, rt.container_id, rt.ifname);
  std::string why = "nothing cached";
  const auto prev = cached_result(entry, list, &why);
  if (!prev)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "check " + describe(list, rt) + ": no cached result (" + why + ")");
  check_network_list(list, rt, *prev, runner_);
}

void Runtime::del(const NetworkList& list, const RuntimeConf& rt) const {
  const auto entry = cache_.load(list.name, rt.container_id, rt.ifname);
  std::string why;
  const auto prev = cached_result(entry, list, &why);
  // libcni drops an entry it cannot use and deletes without a prevResult.
  if (entry && !prev && entry->result)
    log::warn("del {}: cached result unusable ({}), deleting without it", describe(list, rt), why);
  del_network_list(list, rt, prev, runner_);
  cache_.remove(list.name, rt.container_id, rt.ifname);
}

void Runtime::gc(const NetworkList& list, const std::vector<Attachment>& valid) const {
  if (list.disable_gc) return;
  ErrorList errors;
  for (const auto& entry : cache_.list(list.name)) {
    const Attachment attachment{.container_id = entry.container_id, .ifname = entry.ifname};
    if (std::find(valid.begin(), valid.end(), attachment) != valid.end()) continue;
    const RuntimeConf rt{.container_id = entry.container_id,
                         .netns = entry.netns,
                         .ifname = entry.ifname,
                         .args = entry.cni_args,
                         .capability_args = entry.capability_args};
    log::info("gc {}: deleting stale attachment", describe(list, rt));
    errors.attempt([&] {
      try {
        del(list, rt);
      } catch (Error& e) {
        e.prefix("gc network " + list.name + ": delete stale attachment " + rt.container_id +
                 " " + rt.ifname);
        throw;
      }
    });
  }
  errors.attempt([&] { gc_network_list(list, valid, runner_); });  // prefixed "gc network X"
  errors.throw_if_any();
}

void Runtime::status(const NetworkList& list) const { status_network_list(list, runner_); }

}  // namespace netcore::cni
