#include "netcore/cni/result_cache.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "netcore/base/log.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "netcore/cni/json.hpp"

namespace netcore::cni {
namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr std::string_view kKind = "cniCacheV1";
constexpr std::size_t kMaxIfnameBytes = 15;

// RFC 4648 base64 with padding: what Go's encoding/json makes of a []byte.
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint8_t>(data[i]) << 16 |
                            static_cast<std::uint8_t>(data[i + 1]) << 8 |
                            static_cast<std::uint8_t>(data[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kBase64Alphabet[(n >> shift) & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint8_t>(data[i]) << 16;
    if (rest == 2) n |= static_cast<std::uint8_t>(data[i + 1]) << 8;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Decodes base64 with or without padding. Throws Error(kDecodingFailure) for anything else.
std::string base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const auto pos = kBase64Alphabet.find(c);
    if (pos == std::string_view::npos)
      throw Error(ErrorCode::kDecodingFailure, "\"config\": not base64");
    bits = bits << 6 | static_cast<std::uint32_t>(pos);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xff);
      out += static_cast<char>((bits >> 8) & 0xff);
      out += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) throw Error(ErrorCode::kDecodingFailure, "\"config\": truncated base64");
  if (count == 2) out += static_cast<char>((bits >> 4) & 0xff);
  if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xff);
    out += static_cast<char>((bits >> 2) & 0xff);
  }
  return out;
}

bool is_safe_ifname(const std::string& name) {
  if (name.empty() || name.size() > kMaxIfnameBytes || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || c == ' ' || (c >= '\t' && c <= '\r');
  });
}

void check_names(const std::string& network, const std::string& container_id,
                 const std::string& ifname) {
  const auto reject = [](const std::string& what, const std::string& value) {
    throw_invalid_config("result cache: unsafe " + what + " \"" + value + "\"");
  };
  if (!is_valid_cni_name(network)) reject("network name", network);
  if (!is_valid_cni_name(container_id)) reject("container ID", container_id);
  if (!is_safe_ifname(ifname)) reject("ifname", ifname);
}

// libcni's os.MkdirAll(dir, 0700): missing levels are made 0700; existing ones keep their mode.
void make_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) make_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw_errno("create cache directory " + dir.string(), ErrorCode::kIoFailure);
}

std::string string_key(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return {};
  if (!it->is_string())
    throw Error(ErrorCode::kDecodingFailure, std::string("\"") + key + "\": not a string");
  return it->get<std::string>();
}

// A cniCacheV1 document; throws Error(kDecodingFailure) when a key has the wrong type.
CachedAttachment parse_entry(const json& doc) {
  CachedAttachment entry;
  entry.container_id = string_key(doc, "containerId");
  entry.network_name = string_key(doc, "networkName");
  entry.ifname = string_key(doc, "ifName");
  entry.netns = string_key(doc, "netns");
  entry.config = base64_decode(string_key(doc, "config"));
  if (const auto it = doc.find("cniArgs"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) throw Error(ErrorCode::kDecodingFailure, "\"cniArgs\": not an array");
    for (const auto& pair : *it) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
        throw Error(ErrorCode::kDecodingFailure, "\"cniArgs\": not [key, value] pairs");
      entry.cni_args.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  if (const auto it = doc.find("capabilityArgs"); it != doc.end() && !it->is_null()) {
    if (!it->is_object())
      throw Error(ErrorCode::kDecodingFailure, "\"capabilityArgs\": not an object");
    entry.capability_args = *it;
  }
  if (const auto it = doc.find("result"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) throw Error(ErrorCode::kDecodingFailure, "\"result\": not an object");
    entry.result = *it;
  }
  return entry;
}

// The document of one cache file; nullopt (logged) when it is missing, unreadable or not JSON.
std::optional<json> read_entry(const fs::path& file) {
  std::optional<std::string> text;
  try {
    text = find_file_content(file);
  } catch (const Error& e) {
    log::debug("result cache: ignoring {}: {}", file.string(), e.what());
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  try {
    json doc = parse_json(*text, "cache file " + file.string());
    if (doc.is_object()) return doc;
    log::debug("result cache: ignoring {}: not an object", file.string());
  } catch (const Error& e) {
    log::debug("result cache: ignoring {}: {}", file.string(), e.what());
  }
  return std::nullopt;
}

bool is_v1(const json& doc) {
  const auto kind = doc.find("kind");
  return kind != doc.end() && kind->is_string() && *kind == kKind;
}

}  // namespace

ResultCache::ResultCache(const fs::path& cache_dir) : dir_(cache_dir / "results") {}

fs::path ResultCache::path(const std::string& network, const std::string& container_id,
                           const std::string& ifname) const {
  check_names(network, container_id, ifname);
  return dir_ / (network + "-" + container_id + "-" + ifname);
}

void ResultCache::save(const NetworkList& list, const RuntimeConf& rt,
                       const Result& result) const {
  const fs::path file = path(list.name, rt.container_id, rt.ifname);
  json result_json = result.to_json(list.cni_version);
  // Go's result types always marshal "dns", empty or not; libcni's files carry it, so ours do.
  if (!result_json.contains("dns")) result_json["dns"] = json::object();
  // libcni's key order; the empty optional keys are left out, as Go's omitempty does.
  ordered_json doc;
  doc["kind"] = kKind;
  doc["containerId"] = rt.container_id;
  doc["config"] = base64_encode(list.bytes);
  doc["ifName"] = rt.ifname;
  doc["networkName"] = list.name;
  if (!rt.netns.empty()) doc["netns"] = rt.netns;
  if (!rt.args.empty()) {
    ordered_json args = ordered_json::array();
    for (const auto& [key, value] : rt.args) args.push_back({key, value});
    doc["cniArgs"] = std::move(args);
  }
  if (rt.capability_args.is_object() && !rt.capability_args.empty())
    doc["capabilityArgs"] = rt.capability_args;
  doc["result"] = result_json;  // json into ordered_json: a copy either way
  try {
    make_dirs(dir_);
    write_file_atomic(file, doc.dump(-1, ' ', false, json::error_handler_t::replace), 0600);
  } catch (const Error& e) {
    throw Error(ErrorCode::kIoFailure, "cache result of " + file.filename().string() + ": " + e.msg(),
                e.details());
  }
}

std::optional<CachedAttachment> ResultCache::load(const std::string& network,
                                                  const std::string& container_id,
                                                  const std::string& ifname) const {
  const fs::path file = path(network, container_id, ifname);
  const auto doc = read_entry(file);
  if (!doc) return std::nullopt;
  if (!is_v1(*doc)) {
    // libcni's legacy layout: the file is the result itself.
    if (!doc->contains("cniVersion")) {
      log::debug("result cache: ignoring {}: neither cniCacheV1 nor a result", file.string());
      return std::nullopt;
    }
    return CachedAttachment{
        .container_id = container_id, .network_name = network, .ifname = ifname, .result = doc};
  }
  try {
    return parse_entry(*doc);
  } catch (const Error& e) {
    log::debug("result cache: ignoring {}: {}", file.string(), e.what());
    return std::nullopt;
  }
}

void ResultCache::remove(const std::string& network, const std::string& container_id,
                         const std::string& ifname) const {
  const fs::path file = path(network, container_id, ifname);
  std::error_code ec;
  fs::remove(file, ec);
  if (ec)
    throw Error(ErrorCode::kIoFailure, "remove cache file " + file.string() + ": " + ec.message());
}

std::vector<CachedAttachment> ResultCache::list(const std::string& network) const {
  if (!is_valid_cni_name(network))
    throw_invalid_config("result cache: unsafe network name \"" + network + "\"");
  std::vector<fs::path> files;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    throw Error(ErrorCode::kIoFailure, "read cache dir " + dir_.string() + ": " + ec.message());
  }
  for (const auto& dirent : it) {
    const std::string name = dirent.path().filename().string();
    if (name.starts_with(network + "-")) files.push_back(dirent.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<CachedAttachment> entries;
  for (const auto& file : files) {
    const auto doc = read_entry(file);
    if (!doc || !is_v1(*doc)) continue;
    try {
      auto entry = parse_entry(*doc);
      if (entry.network_name != network || entry.container_id.empty() || entry.ifname.empty())
        continue;
      if (file.filename() != entry.network_name + "-" + entry.container_id + "-" + entry.ifname)
        continue;
      entries.push_back(std::move(entry));
    } catch (const Error& e) {
      log::debug("result cache: ignoring {}: {}", file.string(), e.what());
    }
  }
  return entries;
}

}  // namespace netcore::cni
