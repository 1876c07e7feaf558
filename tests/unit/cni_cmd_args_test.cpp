#include "netcore/cni/cmd_args.hpp"

#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/cni/cni_args.hpp"
#include "netcore/cni/version.hpp"
#include "support/expect_error.hpp"

namespace netcore::cni {
namespace {

using nsnet::testing::error_of;

using nlohmann::json;

const std::string kConfig = R"({"cniVersion": "1.1.0", "name": "net1", "type": "bridge"})";

Environment full_env(const std::string& command) {
  return {{"CNI_COMMAND", command},        {"CNI_CONTAINERID", "ctr-1"},
          {"CNI_NETNS", "/run/netns/x"},   {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "IgnoreUnknown=1"}, {"CNI_PATH", "/opt/cni/bin::/usr/lib/cni"}};
}

CmdArgs parse(const Environment& env, const std::string& stdin_data = kConfig,
              const std::vector<std::string>& versions = {}) {
  std::istringstream in(stdin_data);
  return CmdArgs::parse(env, in, versions);
}

std::string with_version(const std::string& version) {
  return R"({"cniVersion": ")" + version + R"(", "name": "net1"})";
}

TEST(CmdArgsTest, ParsesAValidAdd) {
  const CmdArgs args = parse(full_env("ADD"));
  EXPECT_EQ(args.command, Command::kAdd);
  EXPECT_EQ(args.container_id, "ctr-1");
  EXPECT_EQ(args.netns, "/run/netns/x");
  EXPECT_EQ(args.ifname, "eth0");
  EXPECT_EQ(args.args, "IgnoreUnknown=1");
  EXPECT_EQ(args.path, (std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"}));
  EXPECT_EQ(args.stdin_data, kConfig);
  EXPECT_EQ(args.config["type"], "bridge");
  EXPECT_EQ(args.config_version, "1.1.0");
  EXPECT_EQ(args.network_name, "net1");
  EXPECT_EQ(args.env.at("CNI_COMMAND"), "ADD");
}

TEST(CmdArgsTest, CommandNames) {
  for (const auto& [name, command] :
       std::vector<std::pair<std::string, Command>>{{"ADD", Command::kAdd},
                                                    {"DEL", Command::kDel},
                                                    {"CHECK", Command::kCheck},
                                                    {"STATUS", Command::kStatus},
                                                    {"GC", Command::kGc},
                                                    {"VERSION", Command::kVersion}}) {
    EXPECT_EQ(parse_command(name), command);
    EXPECT_EQ(to_string(command), name);
  }
  EXPECT_EQ(parse_command("add"), std::nullopt);
}

TEST(CmdArgsTest, UnknownOrMissingCommandIsAnEnvError) {
  auto env = full_env("FROB");
  auto e = error_of([&] { (void)parse(env); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(e.msg(), "unknown CNI_COMMAND: FROB");
  env.erase("CNI_COMMAND");
  e = error_of([&] { (void)parse(env); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(e.msg(), "required env variables [CNI_COMMAND] missing");
}

TEST(CmdArgsTest, EachRequiredVariableIsNamedWhenMissing) {
  struct Row {
    const char* command;
    std::vector<std::string> required;
  };
  const std::vector<std::string> all = {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH",
                                        "CNI_ARGS"};
  const Row rows[] = {
      {"ADD", {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"}},
      {"DEL", {"CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"}},
      {"CHECK", {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"}},
      {"GC", {"CNI_PATH"}},
      {"STATUS", {"CNI_PATH"}},
  };
  for (const auto& row : rows) {
    for (const auto& var : all) {
      for (const bool empty : {false, true}) {
        auto env = full_env(row.command);
        if (empty) {
          env[var] = "";
        } else {
          env.erase(var);
        }
        const bool required =
            std::find(row.required.begin(), row.required.end(), var) != row.required.end();
        if (!required) {
          EXPECT_NO_THROW((void)parse(env)) << row.command << " without " << var;
          continue;
        }
        const auto e = error_of([&] { (void)parse(env); });
        EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment) << row.command << " " << var;
        EXPECT_EQ(e.msg(), "required env variables [" + var + "] missing") << row.command;
      }
    }
  }
}

TEST(CmdArgsTest, ListsEveryMissingVariable) {
  const auto e = error_of([] { (void)parse({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c"}}); });
  EXPECT_EQ(e.msg(), "required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing");
}

TEST(CmdArgsTest, NetnsIsOptionalOnDel) {
  auto env = full_env("DEL");
  env.erase("CNI_NETNS");
  EXPECT_EQ(parse(env).netns, "");
}

TEST(CmdArgsTest, ValidatesTheContainerId) {
  for (const std::string id : {"-abc", ".abc", "_a", "a b", "a/b", "a:b", "ctr\xc3\xa4", "a\n"}) {
    auto env = full_env("ADD");
    env["CNI_CONTAINERID"] = id;
    const auto e = error_of([&] { (void)parse(env); });
    EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment) << id;
    EXPECT_NE(e.msg().find("CNI_CONTAINERID"), std::string::npos) << e.msg();
  }
  for (const std::string id : {"a", "Z9", "abc-1_2.3", "0123456789abcdef"}) {
    auto env = full_env("DEL");
    env["CNI_CONTAINERID"] = id;
    EXPECT_EQ(parse(env).container_id, id);
  }
}

TEST(CmdArgsTest, ValidatesTheInterfaceName) {
  for (const std::string name :
       {"0123456789abcdef", ".", "..", "a/b", "a:b", "a b", "a\tb", "eth0\n",
        "a\u00a0b", "a\u3000b", "a\u2028"}) {
    for (const char* command : {"ADD", "DEL", "CHECK"}) {
      auto env = full_env(command);
      env["CNI_IFNAME"] = name;
      const auto e = error_of([&] { (void)parse(env, with_version("1.0.0")); });
      EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment) << name;
      EXPECT_NE(e.msg().find("CNI_IFNAME"), std::string::npos) << e.msg();
    }
  }
  for (const std::string name : {"0123456789abcde", "eth0", "e", "...", "net-1.2_x", "\xc3\xbc"}) {
    auto env = full_env("ADD");
    env["CNI_IFNAME"] = name;
    EXPECT_EQ(parse(env).ifname, name);
  }
}

TEST(CmdArgsTest, GcAndStatusNeedOnlyThePath) {
  const Environment env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/bin"}};
  EXPECT_EQ(parse(env).command, Command::kGc);
  const Environment status = {
      {"CNI_COMMAND", "STATUS"}, {"CNI_PATH", "/bin"}, {"CNI_IFNAME", "not/checked"}};
  EXPECT_EQ(parse(status).command, Command::kStatus);
}

TEST(CmdArgsTest, BadStdinIsADecodingFailure) {
  for (const std::string doc :
       {"", "   ", "{", "not json", "{\"name\": \"a\"} trailing", "[]", "\"text\"", "42", "null",
        "{\"cniVersion\": 1, \"name\": \"a\"}", "{\"name\": 5}", "{\"name\": \"\xff\"}"}) {
    const auto e = error_of([&] { (void)parse(full_env("ADD"), doc); });
    EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure) << doc << ": " << e.msg();
    EXPECT_TRUE(e.msg().starts_with("decode network config: ")) << e.msg();
  }
}

TEST(CmdArgsTest, MissingVersionMeans010) {
  const auto args = parse(full_env("ADD"), R"({"name": "n"})");
  EXPECT_EQ(args.config_version, "0.1.0");
  EXPECT_EQ(parse(full_env("ADD"), R"({"cniVersion": "", "name": "n"})").config_version, "0.1.0");
}

TEST(CmdArgsTest, UnsupportedVersionIsIncompatible) {
  auto e = error_of([] { (void)parse(full_env("ADD"), with_version("9.9.9")); });
  EXPECT_EQ(e.code(), ErrorCode::kIncompatibleVersion);
  EXPECT_EQ(e.msg(), "incompatible CNI versions");
  EXPECT_EQ(
      e.details(),
      R"(config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"])");
  e = error_of([] { (void)parse(full_env("ADD"), with_version("0.4.0"), {"1.0.0", "1.1.0"}); });
  EXPECT_EQ(e.details(), R"(config is "0.4.0", plugin supports ["1.0.0" "1.1.0"])");
  e = error_of([] { (void)parse(full_env("DEL"), with_version("1.0")); });
  EXPECT_EQ(e.code(), ErrorCode::kIncompatibleVersion);
}

TEST(CmdArgsTest, NetworkNameMustBeSafe) {
  for (const std::string name : {"-net", "a/b", "a b", "../x", ".hidden"}) {
    const auto e = error_of([&] {
      (void)parse(full_env("ADD"), json{{"cniVersion", "1.0.0"}, {"name", name}}.dump());
    });
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << name;
    EXPECT_NE(e.msg().find("\"" + name + "\""), std::string::npos) << e.msg();
  }
  const auto e = error_of([] { (void)parse(full_env("DEL"), R"({"cniVersion": "1.0.0"})"); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "missing network name");
}

TEST(CmdArgsTest, CommandsNeedTheirMinimumVersion) {
  struct Row {
    const char* command;
    const char* version;
    bool allowed;
  };
  for (const auto& row :
       {Row{"CHECK", "0.3.1", false}, Row{"CHECK", "0.1.0", false}, Row{"CHECK", "0.4.0", true},
        Row{"CHECK", "1.1.0", true}, Row{"GC", "1.0.0", false}, Row{"GC", "1.1.0", true},
        Row{"STATUS", "0.4.0", false}, Row{"STATUS", "1.1.0", true}, Row{"DEL", "0.1.0", true}}) {
    if (row.allowed) {
      EXPECT_NO_THROW((void)parse(full_env(row.command), with_version(row.version)))
          << row.command << " " << row.version;
      continue;
    }
    const auto e = error_of([&] { (void)parse(full_env(row.command), with_version(row.version)); });
    EXPECT_EQ(e.code(), ErrorCode::kIncompatibleVersion) << row.command << " " << row.version;
    EXPECT_EQ(e.msg(), std::string("config version does not allow ") + row.command);
  }
  // No config without cniVersion may CHECK: it is 0.1.0.
  EXPECT_EQ(error_of([] { (void)parse(full_env("CHECK"), R"({"name": "n"})"); }).code(),
            ErrorCode::kIncompatibleVersion);
}

// An endless stream of spaces that counts what was read from it.
class EndlessBuf : public std::streambuf {
 public:
  std::size_t served = 0;

 protected:
  int_type underflow() override {
    buf_.assign(4096, ' ');
    served += buf_.size();
    setg(buf_.data(), buf_.data(), buf_.data() + buf_.size());
    return traits_type::to_int_type(' ');
  }

 private:
  std::string buf_;
};

TEST(CmdArgsTest, RefusesOversizedStdinWithoutReadingItAll) {
  EndlessBuf buf;
  std::istream in(&buf);
  const auto e = error_of([&] { (void)CmdArgs::parse(full_env("ADD"), in); });
  EXPECT_EQ(e.code(), ErrorCode::kIoFailure);
  EXPECT_NE(e.msg().find("larger than 16777216 bytes"), std::string::npos) << e.msg();
  EXPECT_LE(buf.served, kMaxStdinBytes + std::size_t{128} * 1024);

  // Exactly at the limit is fine as far as reading goes.
  std::istringstream exact(std::string(kMaxStdinBytes, ' '));
  EXPECT_EQ(read_bounded(exact).size(), kMaxStdinBytes);
  std::istringstream over(std::string(kMaxStdinBytes + 1, ' '));
  EXPECT_THROW((void)read_bounded(over), Error);
}

TEST(CmdArgsTest, RefusesDeeplyNestedConfig) {
  for (const std::size_t depth : {65, 100'000}) {
    const std::string doc =
        R"({"name": "n", "x": )" + std::string(depth, '[') + std::string(depth, ']') + "}";
    const auto e = error_of([&] { (void)parse(full_env("ADD"), doc); });
    EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
    EXPECT_EQ(e.msg(), "decode network config: nesting deeper than 64 levels");
  }
  const std::string ok =
      R"({"name": "n", "x": )" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_NO_THROW((void)parse(full_env("ADD"), ok));
}

TEST(CmdArgsTest, VersionIsLenient) {
  Environment env = {{"CNI_COMMAND", "VERSION"}};
  EXPECT_EQ(parse(env, R"({"cniVersion": "0.4.0"})").config_version, "0.4.0");
  EXPECT_EQ(parse(env, "garbage").config_version, "1.1.0");
  EXPECT_EQ(parse(env, R"({"cniVersion": "9.9.9"})").config_version, "1.1.0");
  EXPECT_EQ(parse(env, "").config_version, "1.1.0");
  EXPECT_EQ(parse(env, R"({"cniVersion": "1.1.0"})", {"0.3.1", "1.0.0"}).config_version, "1.0.0");
}

TEST(CmdArgsTest, PrevResultIsParsedWithTheConfigVersion) {
  EXPECT_EQ(parse(full_env("ADD")).prev_result(), std::nullopt);
  const auto args = parse(full_env("DEL"), R"({"cniVersion": "0.2.0", "name": "n",
      "prevResult": {"ip4": {"ip": "10.0.0.2/24"}}})");
  const auto prev = args.prev_result();
  ASSERT_TRUE(prev.has_value());
  ASSERT_EQ(prev->ips.size(), 1u);
  EXPECT_EQ(prev->ips[0].address.to_string(), "10.0.0.2/24");
  const auto bad = parse(full_env("DEL"), R"({"cniVersion": "1.0.0", "name": "n",
      "prevResult": {"ips": [{"address": "x"}]}})");
  const auto e = error_of([&] { (void)bad.prev_result(); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_TRUE(e.msg().starts_with("prevResult: decode result: ips[0]: address: ")) << e.msg();
}

TEST(CmdArgsTest, RuntimeConfigAndArgs) {
  const auto args = parse(full_env("ADD"), R"({"cniVersion": "1.0.0", "name": "n",
      "runtimeConfig": {"mac": "aa:bb:cc:dd:ee:ff", "ips": ["10.0.0.5/24"]},
      "args": {"cni": {"ips": ["10.0.0.6/24"], "mac": 5}}})");
  EXPECT_EQ(args.runtime_config().size(), 2u);
  EXPECT_EQ(args.runtime_config_field<net::MacAddress>("mac"),
            net::MacAddress::parse("aa:bb:cc:dd:ee:ff"));
  EXPECT_EQ(args.runtime_config_field<std::string>("absent"), std::nullopt);
  EXPECT_EQ(args.args_field<std::vector<net::Prefix>>("ips"),
            std::vector<net::Prefix>{net::Prefix::parse("10.0.0.6/24")});
  const auto e = error_of([&] { (void)args.args_field<std::string>("mac"); });
  EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
  EXPECT_EQ(e.msg(), "args.cni: mac: expected a string, got number");

  const auto none = parse(full_env("ADD"));
  EXPECT_TRUE(none.runtime_config().is_object());
  EXPECT_TRUE(none.runtime_config().empty());
  EXPECT_TRUE(none.args_cni().empty());
  const auto wrong = parse(full_env("ADD"), R"({"name": "n", "runtimeConfig": [], "args": 1})");
  EXPECT_EQ(error_of([&] { (void)wrong.runtime_config(); }).msg(),
            "runtimeConfig: expected an object, got array");
  EXPECT_EQ(error_of([&] { (void)wrong.args_cni(); }).msg(),
            "args: expected an object, got number");
}

TEST(CmdArgsTest, ValidAttachmentsAcceptBothKeys) {
  const Environment env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/bin"}};
  const std::vector<Attachment> expected = {{"c1", "eth0"}, {"c2", "net1"}};
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    const json config = {{"cniVersion", "1.1.0"},
                         {"name", "n"},
                         {key, json::parse(R"([{"containerID": "c1", "ifname": "eth0"},
                                              {"containerID": "c2", "ifname": "net1"}])")}};
    EXPECT_EQ(parse(env, config.dump()).valid_attachments(), expected) << key;
  }
  const json both = {{"cniVersion", "1.1.0"},
                     {"name", "n"},
                     {"cni.dev/valid-attachments", json::array()},
                     {"cni.dev/attachments", json::parse(R"([{"containerID":"c","ifname":"e"}])")}};
  EXPECT_EQ(parse(env, both.dump()).valid_attachments(), std::vector<Attachment>{});
  EXPECT_EQ(parse(env, with_version("1.1.0")).valid_attachments(), std::nullopt);
  const auto bad = parse(env, R"({"cniVersion": "1.1.0", "name": "n",
      "cni.dev/valid-attachments": [{"containerID": "c1"}]})");
  EXPECT_EQ(error_of([&] { (void)bad.valid_attachments(); }).msg(),
            "cni.dev/valid-attachments[0]: missing field \"ifname\"");
}

TEST(CniArgsTest, ParsesPairs) {
  const auto args = CniArgs::parse("IP=10.0.0.5;MAC=aa:bb:cc:dd:ee:ff;K8S_POD_NAME=p;IP=10.0.0.6");
  EXPECT_EQ(args.find("IP"), "10.0.0.6");  // the last one wins
  EXPECT_EQ(args.find("MAC"), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(args.find("ip"), std::nullopt);
  EXPECT_TRUE(args.contains("K8S_POD_NAME"));
  EXPECT_EQ(args.pairs().size(), 4u);
  EXPECT_FALSE(args.ignore_unknown());
  EXPECT_TRUE(CniArgs::parse("").pairs().empty());
  EXPECT_EQ(CniArgs::parse("A=").find("A"), "");
}

TEST(CniArgsTest, MalformedPairsNameCniArgs) {
  for (const char* bad : {"A", "A=1;", ";A=1", "A=1;;B=2", "=1", "A=b=c", "A=1;B"}) {
    const auto e = error_of([&] { (void)CniArgs::parse(bad); });
    EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment) << bad;
    EXPECT_NE(e.msg().find("CNI_ARGS"), std::string::npos) << e.msg();
  }
  EXPECT_EQ(error_of([] { (void)CniArgs::parse("X=1;A=b=c"); }).msg(),
            "invalid CNI_ARGS: malformed pair \"A=b=c\"");
}

TEST(CniArgsTest, IgnoreUnknown) {
  for (const char* on : {"1", "true", "TRUE", "True"})
    EXPECT_TRUE(CniArgs::parse(std::string("IgnoreUnknown=") + on).ignore_unknown()) << on;
  for (const char* off : {"0", "false", "FALSE"})
    EXPECT_FALSE(CniArgs::parse(std::string("IgnoreUnknown=") + off).ignore_unknown()) << off;
  EXPECT_THROW((void)CniArgs::parse("IgnoreUnknown=yes"), Error);

  const auto strict = CniArgs::parse("IP=10.0.0.5;K8S_POD_NAME=p");
  EXPECT_NO_THROW(strict.check_known({"IP", "K8S_POD_NAME"}));
  const auto e = error_of([&] { strict.check_known({"IP"}); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(e.msg(), "CNI_ARGS: unknown key \"K8S_POD_NAME\"");
  EXPECT_NO_THROW(CniArgs::parse("IgnoreUnknown=1;IP=1;K8S_POD_NAME=p").check_known({}));
  EXPECT_NO_THROW(CniArgs::parse("IgnoreUnknown=0;IP=1").check_known({"IP"}));
  EXPECT_THROW(CniArgs::parse("IgnoreUnknown=false;X=1").check_known({"IP"}), Error);
}

TEST(CniArgsTest, CmdArgsExposesThem) {
  auto env = full_env("ADD");
  env["CNI_ARGS"] = "IgnoreUnknown=1;IP=10.0.0.9";
  EXPECT_EQ(parse(env).cni_args().find("IP"), "10.0.0.9");
  env["CNI_ARGS"] = "broken";
  const auto args = parse(env);  // raw CNI_ARGS are only parsed on demand
  EXPECT_EQ(error_of([&] { (void)args.cni_args(); }).code(), ErrorCode::kInvalidEnvironment);
}

}  // namespace
}  // namespace netcore::cni
