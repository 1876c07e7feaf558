#include "netcore/cni/skel.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/cni/error_json.hpp"

namespace netcore::cni {
namespace {

using nlohmann::json;

struct Run {
  int exit_code;
  std::string out;
  std::string err;
};

Environment env_for(const std::string& command) {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "ctr1"},
          {"CNI_NETNS", "/run/netns/t"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin"}};
}

Run run(const PluginSpec& spec, const Environment& env, const std::string& stdin_data) {
  std::istringstream in(stdin_data);
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_plugin(spec, env, in, out, err);
  return {code, out.str(), err.str()};
}

std::string config(const std::string& version) {
  return R"({"cniVersion": ")" + version + R"(", "name": "net1", "type": "test"})";
}

// json::parse of the whole text fails on anything but exactly one document.
json one_document(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << text;
  return doc;
}

Result sample_result() {
  Result r;
  r.interfaces.push_back({.name = "eth0", .mac = "aa:bb:cc:dd:ee:ff", .sandbox = "/run/netns/t"});
  r.ips.push_back({.address = net::Prefix::parse("10.0.0.2/24"),
                   .gateway = net::parse_ip_address("10.0.0.1"),
                   .interface = 0});
  return r;
}

PluginSpec test_spec() {
  return {.name = "test",
          .add = [](const CmdArgs&) { return sample_result(); },
          .del = [](const CmdArgs&) {},
          .check = {},
          .status = {},
          .gc = {}};
}

TEST(ErrorJsonTest, Shape) {
  EXPECT_EQ(error_json("1.0.0", Error(ErrorCode::kInvalidNetworkConfig, "bad", "very bad")),
            json::parse(R"({"cniVersion":"1.0.0","code":7,"msg":"bad","details":"very bad"})"));
  EXPECT_EQ(error_json("0.4.0", Error(ErrorCode::kInternal, "oops")),
            json::parse(R"({"cniVersion":"0.4.0","code":999,"msg":"oops"})"));
}

TEST(ErrorJsonTest, ReadsADelegatesError) {
  const Error e = error_from_json(json::parse(R"({"code": 11, "msg": "busy", "details": "d"})"));
  EXPECT_EQ(e.code(), ErrorCode::kTryAgainLater);
  EXPECT_EQ(e.msg(), "busy");
  EXPECT_EQ(e.details(), "d");
  EXPECT_EQ(static_cast<int>(error_from_json(json::parse(R"({"code": 123})")).code()), 123);
  for (const char* odd : {R"({"msg": "m"})", R"({"code": "7"})", R"({"code": -1})", "[]"})
    EXPECT_EQ(error_from_json(json::parse(odd)).code(), ErrorCode::kInternal) << odd;
}

TEST(RunPluginTest, AddPrintsExactlyOneResultInTheConfigVersion) {
  for (const char* version : {"1.1.0", "0.4.0", "0.2.0"}) {
    const auto r = run(test_spec(), env_for("ADD"), config(version));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(one_document(r.out), sample_result().to_json(version)) << version;
  }
}

TEST(RunPluginTest, DelCheckStatusGcPrintNothing) {
  EXPECT_EQ(run(test_spec(), env_for("DEL"), config("1.1.0")).out, "");
  EXPECT_EQ(run(test_spec(), env_for("DEL"), config("1.1.0")).exit_code, 0);
  // No handler: success, like the reference skel.
  for (const char* command : {"CHECK", "STATUS", "GC"}) {
    const auto r = run(test_spec(), env_for(command), config("1.1.0"));
    EXPECT_EQ(r.exit_code, 0) << command << r.out;
    EXPECT_EQ(r.out, "") << command;
  }
  PluginSpec no_del = test_spec();
  no_del.del = nullptr;
  EXPECT_EQ(run(no_del, env_for("DEL"), config("1.1.0")).exit_code, 0);
}

TEST(RunPluginTest, HandlersAreCalledWithTheParsedArgs) {
  std::string seen;
  PluginSpec spec = test_spec();
  spec.check = [&](const CmdArgs& a) {
    seen = a.container_id + "/" + a.ifname + "/" + a.network_name;
  };
  EXPECT_EQ(run(spec, env_for("CHECK"), config("0.4.0")).exit_code, 0);
  EXPECT_EQ(seen, "ctr1/eth0/net1");
}

TEST(RunPluginTest, ErrorsBecomeOneErrorDocument) {
  PluginSpec spec = test_spec();
  spec.add = [](const CmdArgs&) -> Result {
    throw Error(ErrorCode::kInvalidNetworkConfig, "bad subnet", "10.0.0.0/33");
  };
  auto r = run(spec, env_for("ADD"), config("0.4.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      one_document(r.out),
      json::parse(R"({"cniVersion":"0.4.0","code":7,"msg":"bad subnet","details":"10.0.0.0/33"})"));

  spec.del = [](const CmdArgs&) { throw std::runtime_error("boom"); };
  r = run(spec, env_for("DEL"), config("1.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(one_document(r.out), json::parse(R"({"cniVersion":"1.0.0","code":999,"msg":"boom"})"));

  spec.del = [](const CmdArgs&) { throw 42; };
  r = run(spec, env_for("DEL"), config("1.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(one_document(r.out)["code"], 999);
}

TEST(RunPluginTest, UnconvertibleResultIsAnError) {
  PluginSpec spec = test_spec();
  spec.add = [](const CmdArgs&) { return Result{}; };
  const auto r = run(spec, env_for("ADD"), config("0.2.0"));
  EXPECT_EQ(r.exit_code, 1);
  const json doc = one_document(r.out);
  EXPECT_EQ(doc["msg"], "cannot convert: no valid IP addresses");
  EXPECT_EQ(doc["cniVersion"], "0.2.0");
}

TEST(RunPluginTest, InvalidInputGetsTheRightCode) {
  struct Row {
    Environment env;
    std::string stdin_data;
    int code;
  };
  Environment no_netns = env_for("ADD");
  no_netns.erase("CNI_NETNS");
  const Row rows[] = {
      {no_netns, config("1.0.0"), 4},
      {env_for("FROB"), config("1.0.0"), 4},
      {env_for("ADD"), "", 6},
      {env_for("ADD"), "{nope", 6},
      {env_for("ADD"), config("9.9.9"), 1},
      {env_for("ADD"), R"({"cniVersion":"1.0.0","name":"a b"})", 7},
      {env_for("CHECK"), config("0.3.1"), 1},
      {env_for("GC"), config("1.0.0"), 1},
  };
  for (const auto& row : rows) {
    const auto r = run(test_spec(), row.env, row.stdin_data);
    EXPECT_EQ(r.exit_code, 1) << row.stdin_data;
    const json doc = one_document(r.out);
    EXPECT_EQ(doc["code"], row.code) << r.out;
    EXPECT_EQ(doc["cniVersion"], "1.1.0") << r.out;  // no usable config version: the latest
  }
}

TEST(RunPluginTest, AddWithoutHandlerIsRefused) {
  PluginSpec spec = test_spec();
  spec.add = nullptr;
  const auto r = run(spec, env_for("ADD"), config("1.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(one_document(r.out)["code"], 4);
}

TEST(RunPluginTest, Version) {
  const Environment env = {{"CNI_COMMAND", "VERSION"}};  // nothing else needed
  auto r = run(test_spec(), env, R"({"cniVersion":"0.4.0"})");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(one_document(r.out), json::parse(R"({"cniVersion":"0.4.0","supportedVersions":
      ["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));
  r = run(test_spec(), env, "");
  EXPECT_EQ(one_document(r.out)["cniVersion"], "1.1.0");
  r = run(test_spec(), env, std::string(100, '['));
  EXPECT_EQ(one_document(r.out)["cniVersion"], "1.1.0");

  PluginSpec old = test_spec();
  old.versions = {"0.3.0", "0.3.1", "1.0.0"};
  r = run(old, env, R"({"cniVersion":"1.1.0"})");
  EXPECT_EQ(one_document(r.out), json::parse(R"({"cniVersion":"1.0.0","supportedVersions":
      ["0.3.0","0.3.1","1.0.0"]})"));
}

TEST(RunPluginTest, AboutTextWithoutCommand) {
  const auto r = run(test_spec(), {{"CNI_PATH", "/x"}}, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("CNI test plugin (nsnet ")) << r.err;
  EXPECT_NE(r.err.find(")\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, "
                       "1.0.0, 1.1.0\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run(test_spec(), {{"CNI_COMMAND", ""}}, "").err, r.err);
}

TEST(RunPluginTest, InvalidUtf8InAnErrorDoesNotThrow) {
  auto env = env_for("ADD");
  env["CNI_IFNAME"] = "a\xff b";
  const auto r = run(test_spec(), env, config("1.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(one_document(r.out)["code"], 4);
}

}  // namespace
}  // namespace netcore::cni
