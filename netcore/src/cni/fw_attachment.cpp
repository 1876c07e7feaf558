#include "netcore/cni/fw_attachment.hpp"

namespace netcore::cni {

fw::Attachment fw_attachment(const CmdArgs& args) {
  return {args.network_name, args.container_id, args.ifname};
}

std::optional<std::vector<fw::Attachment>> fw_valid_attachments(const CmdArgs& args) {
  const auto valid = args.valid_attachments();
  if (!valid) return std::nullopt;
  std::vector<fw::Attachment> keep;
  keep.reserve(valid->size());
  for (const auto& a : *valid) keep.push_back({args.network_name, a.container_id, a.ifname});
  return keep;
}

}  // namespace netcore::cni
