#pragma once

// A CNI runtime with libcni's memory: the conflist chain of conflist.hpp plus the result cache,
// the way libcni's CNIConfig pairs them. `nsnet net` and `nsnet run` attach through it, so an
// attachment made by one is seen (CHECK, DEL, GC) by the other and by libcni-based runtimes.

#include <string>
#include <utility>
#include <vector>

#include "netcore/cni/conflist.hpp"
#include "netcore/cni/result_cache.hpp"

namespace netcore::cni {

class Runtime final {
 public:
  Runtime(PluginRunner runner, ResultCache cache)
      : runner_(std::move(runner)), cache_(std::move(cache)) {}

  // ADD through the chain, then caches the result. A failed ADD caches nothing; the caller owes
  // a DEL (spec §a3). Names the cache cannot hold (result_cache.hpp) throw
  // Error(kInvalidNetworkConfig) before any plugin runs.
  [[nodiscard]] Result add(const NetworkList& list, const RuntimeConf& rt) const;
  // CHECK with the cached result (converted to the list's version) as prevResult. As libcni:
  // Error(kIncompatibleVersion) for a list before 0.4.0, nothing for disableCheck. Throws
  // Error(kInvalidNetworkConfig) naming the attachment when nothing usable is cached for it.
  void check(const NetworkList& list, const RuntimeConf& rt) const;
  // DEL in reverse with the cached result (if any) as prevResult, going on past a failing plugin
  // (del_network_list); the cache entry is removed once every plugin succeeded, and kept when one
  // failed so the DEL can be retried. An entry whose result does not parse is deleted without
  // it, as libcni does.
  void del(const NetworkList& list, const RuntimeConf& rt) const;
  // libcni's GCNetworkList: every cached attachment of the list's network that is not in `valid`
  // gets a full DEL from its cached netns, args and capability args; then (1.1.0 lists) GC goes
  // to every plugin with `valid`. Throws every failure joined, after trying everything. Does
  // nothing for a disableGC list.
  void gc(const NetworkList& list, const std::vector<Attachment>& valid) const;
  // STATUS through the chain (conflist.hpp).
  void status(const NetworkList& list) const;

  [[nodiscard]] const PluginRunner& runner() const noexcept { return runner_; }
  [[nodiscard]] const ResultCache& cache() const noexcept { return cache_; }

 private:
  PluginRunner runner_;
  ResultCache cache_;
};

}  // namespace netcore::cni
