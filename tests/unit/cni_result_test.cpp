#include "netcore/cni/types.hpp"

#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/version.hpp"

namespace netcore::cni {
namespace {

using nlohmann::json;

json with_version(json j, const std::string& version) {
  j["cniVersion"] = version;
  return j;
}

// One result carrying everything 1.1.0 can say: two interfaces (the second with the 1.1.0-only
// fields), two addresses per family (IPv6 listed first), routes of both families with 1.1.0-only
// fields, and DNS.
const json kFull11 = json::parse(R"({
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/c1", "mtu": 1400,
     "socketPath": "/run/vhost.sock", "pciID": "0000:04:00.5"}
  ],
  "ips": [
    {"address": "fd00::5/64", "gateway": "fd00::1", "interface": 1},
    {"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
    {"address": "10.2.0.5/16", "interface": 1},
    {"address": "fd01::5/64"}
  ],
  "routes": [
    {"dst": "0.0.0.0/0", "gw": "10.1.0.1", "mtu": 1300, "advmss": 1200, "priority": 10,
     "table": 100, "scope": 0},
    {"dst": "192.168.0.0/16"},
    {"dst": "::/0", "gw": "fd00::1", "scope": 253}
  ],
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["example.com"],
          "options": ["ndots:2"]}
})");

// The same result as 0.3.0 .. 0.4.0 print it: ips[].version added, 1.1.0-only fields gone.
const json kFull04 = json::parse(R"({
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/c1"}
  ],
  "ips": [
    {"version": "6", "address": "fd00::5/64", "gateway": "fd00::1", "interface": 1},
    {"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
    {"version": "4", "address": "10.2.0.5/16", "interface": 1},
    {"version": "6", "address": "fd01::5/64"}
  ],
  "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "192.168.0.0/16"},
             {"dst": "::/0", "gw": "fd00::1"}],
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["example.com"],
          "options": ["ndots:2"]}
})");

// What a result parsed from 0.3.x/0.4.0 prints as 1.x: no versions, and no 1.1.0 fields to keep.
const json kFrom04As1x = json::parse(R"({
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/c1"}
  ],
  "ips": [
    {"address": "fd00::5/64", "gateway": "fd00::1", "interface": 1},
    {"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
    {"address": "10.2.0.5/16", "interface": 1},
    {"address": "fd01::5/64"}
  ],
  "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "192.168.0.0/16"},
             {"dst": "::/0", "gw": "fd00::1"}],
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["example.com"],
          "options": ["ndots:2"]}
})");

// 0.1.0/0.2.0: the first address of each family, routes split by family with dst/gw only.
const json kLegacy = json::parse(R"({
  "ip4": {"ip": "10.1.0.5/24", "gateway": "10.1.0.1",
          "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "192.168.0.0/16"}]},
  "ip6": {"ip": "fd00::5/64", "gateway": "fd00::1", "routes": [{"dst": "::/0", "gw": "fd00::1"}]},
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["example.com"],
          "options": ["ndots:2"]}
})");

// A result parsed from 0.1.0/0.2.0 as >= 0.3.0 prints it: ip4 then ip6, no interfaces.
const json kFromLegacyAs1x = json::parse(R"({
  "ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1"},
          {"address": "fd00::5/64", "gateway": "fd00::1"}],
  "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "192.168.0.0/16"},
             {"dst": "::/0", "gw": "fd00::1"}],
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["example.com"],
          "options": ["ndots:2"]}
})");

json from_legacy_as_04() {
  json j = kFromLegacyAs1x;
  j["ips"][0]["version"] = "4";
  j["ips"][1]["version"] = "6";
  return j;
}

enum class Family { kLegacy, k03, k1x };

Family family_of(const std::string& v) {
  if (!has_rich_result(v)) return Family::kLegacy;
  return result_has_ip_version(v) ? Family::k03 : Family::k1x;
}

// The document written in version `v` for the full result.
json written_in(const std::string& v) {
  switch (family_of(v)) {
    case Family::kLegacy:
      return with_version(kLegacy, v);
    case Family::k03:
      return with_version(kFull04, v);
    case Family::k1x:
      return with_version(kFull11, v);
  }
  return {};
}

// What a result read from version `from` prints as in version `to`.
json expected(const std::string& from, const std::string& to) {
  const Family f = family_of(from);
  const Family t = family_of(to);
  if (t == Family::kLegacy) return with_version(kLegacy, to);
  if (f == Family::kLegacy)
    return with_version(t == Family::k03 ? from_legacy_as_04() : kFromLegacyAs1x, to);
  if (t == Family::k03) return with_version(kFull04, to);
  return with_version(f == Family::k03 ? kFrom04As1x : kFull11, to);
}

class ResultConversionTest
    : public ::testing::TestWithParam<std::tuple<std::string_view, std::string_view>> {};

TEST_P(ResultConversionTest, ParsesInOneVersionAndPrintsInAnother) {
  const std::string from(std::get<0>(GetParam()));
  const std::string to(std::get<1>(GetParam()));
  const Result result = Result::from_json(written_in(from), "0.1.0");
  EXPECT_EQ(result.to_json(to), expected(from, to)) << result.to_json(to).dump(2);
}

INSTANTIATE_TEST_SUITE_P(AllVersionPairs, ResultConversionTest,
                         ::testing::Combine(::testing::ValuesIn(kSpecVersions),
                                            ::testing::ValuesIn(kSpecVersions)),
                         [](const auto& info) {
                           std::string name = std::string(std::get<0>(info.param)) + "_to_" +
                                              std::string(std::get<1>(info.param));
                           for (auto& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

TEST(ResultTest, ParsesTheFullResultIntoTypedFields) {
  const Result r = Result::from_json(with_version(kFull11, "1.1.0"), "1.1.0");
  ASSERT_EQ(r.interfaces.size(), 2u);
  EXPECT_EQ(r.interfaces[1].mtu, 1400u);
  EXPECT_EQ(r.interfaces[1].socket_path, "/run/vhost.sock");
  EXPECT_EQ(r.interfaces[1].pci_id, "0000:04:00.5");
  EXPECT_EQ(r.interfaces[0].sandbox, "");
  ASSERT_EQ(r.ips.size(), 4u);
  EXPECT_EQ(r.ips[1].address, net::Prefix::parse("10.1.0.5/24"));
  EXPECT_EQ(r.ips[1].gateway, net::parse_ip_address("10.1.0.1"));
  EXPECT_EQ(r.ips[1].interface, 1);
  EXPECT_FALSE(r.ips[3].interface.has_value());
  ASSERT_EQ(r.routes.size(), 3u);
  EXPECT_EQ(r.routes[0].table, 100);
  EXPECT_EQ(r.routes[0].scope, 0);
  EXPECT_EQ(r.routes[2].scope, 253);
  EXPECT_FALSE(r.routes[1].gw.has_value());
  EXPECT_EQ(r.dns.domain, "example.com");
}

TEST(ResultTest, RoundTripsEveryVersionThroughItself) {
  for (const auto v : kSpecVersions) {
    const std::string version(v);
    const json doc = written_in(version);
    EXPECT_EQ(Result::from_json(doc, "0.1.0").to_json(version), doc) << version;
  }
}

TEST(ResultTest, LegacyVersionsNeedAnAddress) {
  Result r;
  r.interfaces.push_back({.name = "eth0"});
  r.routes.push_back({.dst = net::Prefix::parse("0.0.0.0/0")});
  for (const char* v : {"0.1.0", "0.2.0"}) {
    try {
      (void)r.to_json(v);
      FAIL() << v;
    } catch (const Error& e) {
      EXPECT_EQ(e.msg(), "cannot convert: no valid IP addresses");
    }
  }
  EXPECT_EQ(r.to_json("0.3.0")["interfaces"][0]["name"], "eth0");
}

TEST(ResultTest, LegacyDropsRoutesOfAFamilyWithoutAddress) {
  Result r;
  r.ips.push_back({.address = net::Prefix::parse("fd00::2/64")});
  r.routes.push_back(
      {.dst = net::Prefix::parse("0.0.0.0/0"), .gw = net::parse_ip_address("10.0.0.1")});
  r.routes.push_back({.dst = net::Prefix::parse("fd10::/16")});
  EXPECT_EQ(r.to_json("0.2.0"), json::parse(R"({"cniVersion": "0.2.0",
      "ip6": {"ip": "fd00::2/64", "routes": [{"dst": "fd10::/16"}]}})"));
}

TEST(ResultTest, EmptyPartsAreLeftOut) {
  Result r;
  EXPECT_EQ(r.to_json("1.1.0"), json::parse(R"({"cniVersion": "1.1.0"})"));
  r.ips.push_back({.address = net::Prefix::parse("10.0.0.2/8")});
  EXPECT_EQ(
      r.to_json("0.4.0"),
      json::parse(R"({"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/8"}]})"));
  EXPECT_EQ(r.to_json("0.1.0"), json::parse(R"({"cniVersion":"0.1.0","ip4":{"ip":"10.0.0.2/8"}})"));
}

TEST(ResultTest, NeverWritesNull) {
  const Result r = Result::from_json(with_version(kFull11, "1.1.0"), "1.1.0");
  for (const auto v : kSpecVersions) {
    const std::string text = r.to_json(std::string(v)).dump();
    EXPECT_EQ(text.find("null"), std::string::npos) << v << ": " << text;
  }
  // Null on input means absent.
  const Result n = Result::from_json(json::parse(R"({"cniVersion": "1.0.0", "interfaces": null,
      "ips": [{"address": "10.0.0.2/8", "gateway": null, "interface": null}], "dns": null})"),
                                     "1.0.0");
  EXPECT_FALSE(n.ips.at(0).gateway.has_value());
  EXPECT_FALSE(n.ips.at(0).interface.has_value());
}

TEST(ResultTest, ResultWithoutVersionTakesTheConfigVersion) {
  const json legacy = json::parse(R"({"ip4": {"ip": "10.0.0.2/24", "gateway": "10.0.0.1"}})");
  const Result r = Result::from_json(legacy, "0.2.0");
  ASSERT_EQ(r.ips.size(), 1u);
  EXPECT_EQ(r.ips[0].gateway, net::parse_ip_address("10.0.0.1"));
  // Read with a rich config version, the same document has no "ips".
  EXPECT_TRUE(Result::from_json(legacy, "1.0.0").ips.empty());
  // Its own cniVersion wins over the config's.
  EXPECT_EQ(Result::from_json(with_version(legacy, "0.1.0"), "1.1.0").ips.size(), 1u);
  // No version anywhere means 0.1.0.
  EXPECT_EQ(Result::from_json(legacy, "").ips.size(), 1u);
}

TEST(ResultTest, RejectsUnknownVersions) {
  try {
    (void)Result::from_json(json::parse(R"({"cniVersion": "9.9.9"})"), "1.0.0");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIncompatibleVersion);
    EXPECT_NE(e.msg().find("9.9.9"), std::string::npos);
  }
  EXPECT_THROW((void)Result{}.to_json("1.2.0"), Error);
}

struct BadResult {
  const char* doc;
  ErrorCode code;
  const char* mentions;
};

TEST(ResultTest, DecodeErrorsNameTheField) {
  const BadResult cases[] = {
      {R"({"ips": [{"address": "10.0.0.300/24"}]})", ErrorCode::kInvalidNetworkConfig,
       "ips[0]: address: invalid CIDR address \"10.0.0.300/24\""},
      {R"({"ips": [{"address": 5}]})", ErrorCode::kDecodingFailure,
       "ips[0]: address: expected a string for CIDR address, got number"},
      {R"({"ips": [{}]})", ErrorCode::kDecodingFailure, "ips[0]: missing field \"address\""},
      {R"({"ips": [{"address": "10.0.0.1/8", "interface": "0"}]})", ErrorCode::kDecodingFailure,
       "ips[0]: interface: expected an integer, got string"},
      {R"({"ips": [{"address": "10.0.0.1/8", "gateway": "x"}]})", ErrorCode::kInvalidNetworkConfig,
       "ips[0]: gateway: invalid IP address \"x\""},
      {R"({"ips": {}})", ErrorCode::kDecodingFailure, "ips: expected an array, got object"},
      {R"({"interfaces": [{"name": "a", "mtu": -1}]})", ErrorCode::kDecodingFailure,
       "interfaces[0]: mtu: expected a non-negative integer"},
      {R"({"interfaces": [{"name": "a", "mtu": 1.5}]})", ErrorCode::kDecodingFailure,
       "interfaces[0]: mtu"},
      {R"({"interfaces": [7]})", ErrorCode::kDecodingFailure, "interfaces[0]: expected an object"},
      {R"({"routes": [{"dst": "10.0.0.0/8", "table": 4294967296}]})", ErrorCode::kDecodingFailure,
       "routes[0]: table"},
      {R"({"routes": [{"gw": "10.0.0.1"}]})", ErrorCode::kDecodingFailure,
       "routes[0]: missing field \"dst\""},
      {R"({"dns": {"nameservers": [1]}})", ErrorCode::kDecodingFailure, "dns: nameservers[0]"},
      {R"({"cniVersion": 1})", ErrorCode::kDecodingFailure, "cniVersion: expected a string"},
      {R"([])", ErrorCode::kDecodingFailure, "expected an object, got array"},
  };
  for (const auto& c : cases) {
    try {
      (void)Result::from_json(json::parse(c.doc), "1.1.0");
      ADD_FAILURE() << c.doc;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), c.code) << c.doc << ": " << e.msg();
      EXPECT_NE(e.msg().find(c.mentions), std::string::npos) << c.doc << ": " << e.msg();
      EXPECT_TRUE(e.msg().starts_with("decode result: ")) << e.msg();
    }
  }
  try {
    (void)Result::from_json(json::parse(R"({"cniVersion": "0.2.0", "ip4": {"ip": "nope"}})"), "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.msg().find("ip4: ip: invalid CIDR address \"nope\""), std::string::npos) << e.msg();
  }
}

TEST(JsonTest, SerializesNetTypes) {
  json j = net::parse_ip_address("fd00::1");
  EXPECT_EQ(j, "fd00::1");
  EXPECT_EQ(j.get<net::IpAddress>(), net::parse_ip_address("fd00::1"));
  j = net::Prefix::parse("10.1.2.3/24");
  EXPECT_EQ(j, "10.1.2.3/24");
  EXPECT_EQ(j.get<net::Prefix>().length(), 24u);
  j = net::MacAddress::parse("AA:bb:cc:dd:ee:0F");
  EXPECT_EQ(j, "aa:bb:cc:dd:ee:0f");
  EXPECT_EQ(j.get<net::MacAddress>(), net::MacAddress::parse("aa:bb:cc:dd:ee:0f"));
}

TEST(JsonTest, SerializerErrorsNameTheValue) {
  try {
    (void)json("aa:bb").get<net::MacAddress>();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_NE(e.msg().find("aa:bb"), std::string::npos);
  }
  try {
    (void)json(42).get<net::Prefix>();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
    EXPECT_EQ(e.msg(), "expected a string for CIDR address, got number");
  }
  EXPECT_THROW((void)json(true).get<net::IpAddress>(), Error);
}

TEST(JsonTest, OptionalField) {
  const json j = json::parse(R"({"s": "x", "n": null, "i": 7, "neg": -3, "big": 300,
                                 "f": 1.0, "b": true, "list": ["a"]})");
  EXPECT_EQ(optional_field<std::string>(j, "s"), "x");
  EXPECT_EQ(optional_field<std::string>(j, "absent"), std::nullopt);
  EXPECT_EQ(optional_field<std::string>(j, "n"), std::nullopt);
  EXPECT_EQ(optional_field<int>(j, "i"), 7);
  EXPECT_EQ(optional_field<int>(j, "neg"), -3);
  EXPECT_EQ(optional_field<bool>(j, "b"), true);
  EXPECT_EQ(optional_field<std::vector<std::string>>(j, "list"), std::vector<std::string>{"a"});
  EXPECT_EQ(optional_field<int>(json::array(), "i"), std::nullopt);
  for (const auto& [key, bad] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"s", [&] { (void)optional_field<int>(j, "s"); }},
           {"i", [&] { (void)optional_field<std::string>(j, "i"); }},
           {"neg", [&] { (void)optional_field<unsigned>(j, "neg"); }},
           {"big", [&] { (void)optional_field<std::uint8_t>(j, "big"); }},
           {"f", [&] { (void)optional_field<int>(j, "f"); }},
           {"b", [&] { (void)optional_field<int>(j, "b"); }},
           {"i", [&] { (void)optional_field<bool>(j, "i"); }},
           {"list", [&] { (void)optional_field<std::vector<int>>(j, "list"); }},
       }) {
    try {
      bad();
      ADD_FAILURE() << key;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure) << key;
      EXPECT_TRUE(e.msg().starts_with(key + ": ")) << e.msg();
    }
  }
  EXPECT_THROW((void)required_field<int>(j, "absent"), Error);
  EXPECT_EQ(required_field<int>(j, "i"), 7);
}

TEST(JsonTest, ParseJsonBoundsNesting) {
  EXPECT_EQ(parse_json(std::string(64, '[') + std::string(64, ']'), "x").size(), 1u);
  // Brackets inside strings do not count.
  EXPECT_NO_THROW((void)parse_json("[\"" + std::string(1000, '[') + "\\\"\"]", "x"));
  for (const std::string& deep : {std::string(65, '[') + std::string(65, ']'),
                                  std::string(1'000'000, '['), std::string(100'000, '{')}) {
    try {
      (void)parse_json(deep, "thing");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
      EXPECT_EQ(e.msg(), "decode thing: nesting deeper than 64 levels");
    }
  }
  try {
    (void)parse_json("{\"a\":", "thing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
    EXPECT_TRUE(e.msg().starts_with("decode thing: parse error")) << e.msg();
  }
}

TEST(JsonTest, PrintReplacesInvalidUtf8) {
  std::ostringstream out;
  print(out, json{{"msg", std::string("bad \xff byte")}});
  EXPECT_NE(out.str().find("bad \xef\xbf\xbd byte"), std::string::npos);
  EXPECT_EQ(json::parse(out.str())["msg"], "bad \xef\xbf\xbd byte");
}

TEST(VersionTest, KnowsTheSevenVersions) {
  EXPECT_EQ(all_spec_versions(), (std::vector<std::string>{"0.1.0", "0.2.0", "0.3.0", "0.3.1",
                                                           "0.4.0", "1.0.0", "1.1.0"}));
  EXPECT_EQ(kLatestSpecVersion, "1.1.0");
  EXPECT_TRUE(is_known_version("0.3.1"));
  EXPECT_FALSE(is_known_version("0.3"));
  EXPECT_FALSE(is_known_version("1.2.0"));
}

TEST(VersionTest, ComparesSemantically) {
  EXPECT_LT(compare_versions("0.3.1", "0.4.0"), 0);
  EXPECT_LT(compare_versions("0.9.0", "0.10.0"), 0);
  EXPECT_EQ(compare_versions("1.0", "1.0.0"), 0);
  EXPECT_GT(compare_versions("1", "0.4.0"), 0);
  EXPECT_TRUE(version_at_least("1.1.0", "1.1.0"));
  EXPECT_FALSE(version_at_least("1.0.0", "1.1.0"));
  for (const char* bad :
       {"", "1.0.0.0", "a.b.c", "1..0", "-1.0.0", "1.0.", "v1.0.0", "1.0.0-rc1"}) {
    EXPECT_FALSE(parse_spec_version(bad).has_value()) << bad;
    EXPECT_THROW((void)compare_versions(bad, "1.0.0"), Error) << bad;
  }
}

TEST(VersionTest, Predicates) {
  EXPECT_FALSE(supports_check("0.3.1"));
  EXPECT_TRUE(supports_check("0.4.0"));
  EXPECT_TRUE(supports_check("1.0.0"));
  EXPECT_FALSE(supports_gc("1.0.0"));
  EXPECT_TRUE(supports_gc("1.1.0"));
  EXPECT_FALSE(supports_status("0.4.0"));
  EXPECT_TRUE(supports_status("1.1.0"));
  EXPECT_FALSE(has_rich_result("0.2.0"));
  EXPECT_TRUE(has_rich_result("0.3.0"));
  EXPECT_TRUE(result_has_ip_version("0.4.0"));
  EXPECT_FALSE(result_has_ip_version("1.0.0"));
  EXPECT_FALSE(supports_check("garbage"));
}

}  // namespace
}  // namespace netcore::cni
