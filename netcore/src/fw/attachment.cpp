#include "netcore/fw/attachment.hpp"

#include <algorithm>

#include "comment.hpp"
#include "netcore/base/hash.hpp"

namespace netcore::fw {
namespace detail {
namespace {

bool quotable(char c) noexcept { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

}  // namespace

std::string safe_comment(const std::string& text) {
  if (text.size() <= kMaxComment && std::all_of(text.begin(), text.end(), quotable)) return text;
  std::string kept;
  for (const char c : text)
    if (quotable(c) && c != '~') kept += c;
  const std::string suffix = "~" + stable_hash(text);
  return kept.substr(0, kMaxComment - suffix.size()) + suffix;
}

}  // namespace detail

std::string network_hash(const std::string& network) { return stable_hash(network); }

std::string attachment_tag(const Attachment& attachment) {
  return detail::safe_comment(attachment.container_id + "/" + attachment.ifname);
}

std::string network_attachment_tag(const Attachment& attachment) {
  return detail::safe_comment(network_hash(attachment.network) + " " + attachment.container_id +
                              "/" + attachment.ifname);
}

}  // namespace netcore::fw
