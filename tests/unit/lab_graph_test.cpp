// `nsnet lab graph`: the Graphviz text of the shipped example labs, read back by a small strict
// DOT reader (the subset to_dot writes); quoting and escaping; determinism; and, when Graphviz is
// installed, `dot -Tsvg` accepting every output.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lab/graph.hpp"
#include "netcore/proc/daemon.hpp"
#include "netcore/proc/process.hpp"
#include "lab/topology.hpp"

namespace lab_graph_test {
namespace {

namespace fs = std::filesystem;
using nsnet::lab::dot_quote;
using nsnet::lab::parse_topology;
using nsnet::lab::PodAddresses;
using nsnet::lab::to_dot;
using nsnet::lab::Topology;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kExamples = {"hostgw-2nodes.json", "rootless.json", "router.json",
                                            "vxlan-4nodes.json"};

std::string read_example(const std::string& name) {
  std::ifstream in(fs::path(NSNET_CONF_DIR) / "lab" / name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

using Attrs = std::map<std::string, std::string>;

struct DotEdge {
  std::string a;
  std::string b;
  Attrs attrs;
  std::string subgraph;  // empty at the top level
};

// What a DOT text declares. Quoted strings are unescaped as Graphviz shows labels: \" -> ",
// \\ -> \, \n -> a line break; any other escape is an error (to_dot writes none).
struct DotGraph {
  std::string name;
  std::map<std::string, Attrs> defaults;  // "graph", "node", "edge"
  std::vector<std::string> node_order;
  std::map<std::string, Attrs> nodes;
  std::map<std::string, std::string> node_subgraph;
  std::vector<DotEdge> edges;
  std::vector<std::string> subgraph_order;
  std::map<std::string, Attrs> subgraphs;  // their `key=value;` statements

  [[nodiscard]] std::vector<const DotEdge*> edges_between(const std::string& a,
                                                          const std::string& b) const {
    std::vector<const DotEdge*> out;
    for (const DotEdge& e : edges)
      if ((e.a == a && e.b == b) || (e.a == b && e.b == a)) out.push_back(&e);
    return out;
  }
};

struct Token {
  enum Kind { kWord, kQuoted, kPunct, kEnd } kind;
  std::string text;
};

class DotReader {
 public:
  explicit DotReader(std::string text) : text_(std::move(text)) {}

  // Throws std::runtime_error naming what is wrong.
  DotGraph read() {
    expect_word("graph");
    graph_.name = quoted();
    expect_punct("{");
    statements("");
    if (next().kind != Token::kEnd) fail("text after the graph");
    for (const DotEdge& e : graph_.edges)
      for (const std::string& end : {e.a, e.b})
        if (!graph_.nodes.count(end)) fail("edge end \"" + end + "\" is not a declared node");
    return graph_;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("offset " + std::to_string(pos_) + ": " + what);
  }

  Token next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == text_.size()) return {Token::kEnd, ""};
    const char c = text_[pos_];
    if (c == '"') {
      std::string value;
      for (++pos_;; ++pos_) {
        if (pos_ >= text_.size()) fail("unterminated string");
        const char d = text_[pos_];
        if (d == '"') break;
        if (d == '\n') fail("raw newline in a string");
        if (d != '\\') {
          value += d;
          continue;
        }
        if (++pos_ >= text_.size()) fail("unterminated escape");
        const char e = text_[pos_];
        if (e == '"' || e == '\\')
          value += e;
        else if (e == 'n')
          value += '\n';
        else
          fail(std::string("unexpected escape \\") + e);
      }
      ++pos_;
      return {Token::kQuoted, value};
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        ++pos_;
      return {Token::kWord, text_.substr(start, pos_ - start)};
    }
    if (text_.compare(pos_, 2, "--") == 0) {
      pos_ += 2;
      return {Token::kPunct, "--"};
    }
    if (std::string_view("{}[];=,").find(c) != std::string_view::npos) {
      ++pos_;
      return {Token::kPunct, std::string(1, c)};
    }
    fail(std::string("unexpected character '") + c + "'");
  }
  Token peek() {
    const std::size_t saved = pos_;
    Token t = next();
    pos_ = saved;
    return t;
  }
  void expect_word(const std::string& w) {
    const Token t = next();
    if (t.kind != Token::kWord || t.text != w) fail("expected " + w + ", got " + t.text);
  }
  void expect_punct(const std::string& p) {
    const Token t = next();
    if (t.kind != Token::kPunct || t.text != p) fail("expected " + p + ", got " + t.text);
  }
  std::string quoted() {
    const Token t = next();
    if (t.kind != Token::kQuoted) fail("expected a quoted id, got " + t.text);
    return t.text;
  }
  Attrs attr_list() {
    Attrs out;
    expect_punct("[");
    for (bool first = true;; first = false) {
      Token t = next();
      if (t.kind == Token::kPunct && t.text == "]") return out;
      if (!first) {
        if (t.kind != Token::kPunct || t.text != ",") fail("expected , or ]");
        t = next();
      }
      if (t.kind != Token::kWord) fail("expected an attribute name, got " + t.text);
      expect_punct("=");
      if (!out.emplace(t.text, quoted()).second) fail("attribute " + t.text + " set twice");
    }
  }
  void statements(const std::string& subgraph) {
    for (;;) {
      const Token t = next();
      if (t.kind == Token::kPunct && t.text == "}") return;
      if (t.kind == Token::kWord && t.text == "subgraph") {
        if (!subgraph.empty()) fail("nested subgraph");
        const std::string id = quoted();
        if (!graph_.subgraphs.emplace(id, Attrs{}).second) fail("subgraph " + id + " twice");
        graph_.subgraph_order.push_back(id);
        expect_punct("{");
        statements(id);
      } else if (t.kind == Token::kWord &&
                 (t.text == "graph" || t.text == "node" || t.text == "edge")) {
        graph_.defaults[t.text] = attr_list();
        expect_punct(";");
      } else if (t.kind == Token::kWord) {  // key=value; in a subgraph
        if (subgraph.empty()) fail("attribute statement at the top level");
        expect_punct("=");
        graph_.subgraphs[subgraph][t.text] = quoted();
        expect_punct(";");
      } else if (t.kind == Token::kQuoted) {
        const Token after = peek();
        if (after.kind == Token::kPunct && after.text == "--") {
          (void)next();
          DotEdge e{t.text, quoted(), {}, subgraph};
          if (peek().text == "[") e.attrs = attr_list();
          graph_.edges.push_back(std::move(e));
        } else {
          if (graph_.nodes.count(t.text)) fail("node \"" + t.text + "\" declared twice");
          graph_.nodes[t.text] = attr_list();
          graph_.node_order.push_back(t.text);
          graph_.node_subgraph[t.text] = subgraph;
        }
        expect_punct(";");
      } else {
        fail("unexpected " + t.text);
      }
    }
  }

  std::string text_;
  std::size_t pos_ = 0;
  DotGraph graph_;
};

DotGraph read_dot(const std::string& text) { return DotReader(text).read(); }

// A lab whose names need quoting: '-' in every name, '"' and '\' in interface names.
const char* const kAwkwardLab = R"({
  "name": "my-lab",
  "nodes": {"web-1": {"hostname": "web-1.example"}, "db-2": {"pods": {"p-1": {"networks": ["n-1"]}},
            "networks": ["n-1"]}},
  "links": [{"a": "web-1:e\"0", "b": "db-2:e\\0", "addresses": {"a": ["10.0.0.1/24"]}}],
  "switches": {"sw-1": {"members": {"web-1:e1": [], "db-2:e1": ["10.1.0.2/24"]}, "mtu": 9000}},
  "checks": {"reach": [{"from": "db-2/p-1", "to": "web-1"}]}
})";

TEST(LabGraph, EveryExampleIsWellFormed) {
  for (const std::string& name : kExamples) {
    SCOPED_TRACE(name);
    const Topology t = parse_topology(read_example(name));
    const std::string text = to_dot(t);
    DotGraph g;
    ASSERT_NO_THROW(g = read_dot(text)) << text;
    EXPECT_EQ(g.name, t.name);
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(g.defaults.size(), 3u);

    // One cluster subgraph per node, in file order, holding the node and its pods.
    std::vector<std::string> expected_subgraphs;
    std::size_t attachments = 0;
    for (const auto& node : t.nodes) {
      const std::string sub = "cluster_node:" + node.name;
      expected_subgraphs.push_back(sub);
      ASSERT_TRUE(g.nodes.count("node:" + node.name)) << node.name;
      EXPECT_EQ(g.node_subgraph["node:" + node.name], sub);
      EXPECT_EQ(g.nodes["node:" + node.name]["shape"], "box");
      for (const auto& pod : node.pods) {
        const std::string id = "pod:" + node.name + "/" + pod.name;
        ASSERT_TRUE(g.nodes.count(id)) << id;
        EXPECT_EQ(g.node_subgraph[id], sub);
        EXPECT_EQ(g.nodes[id]["shape"], "ellipse");
        EXPECT_EQ(g.edges_between("node:" + node.name, id).size(), pod.networks.size());
        attachments += pod.networks.size();
      }
    }
    EXPECT_EQ(g.subgraph_order, expected_subgraphs);

    std::size_t members = 0;
    for (const auto& sw : t.switches) {
      ASSERT_TRUE(g.nodes.count("switch:" + sw.name));
      EXPECT_EQ(g.nodes["switch:" + sw.name]["shape"], "hexagon");
      EXPECT_EQ(g.node_subgraph["switch:" + sw.name], "");
      members += sw.members.size();
    }
    const std::size_t cluster_nodes = t.cluster ? t.cluster->nodes.size() : 0;
    EXPECT_EQ(g.nodes.count("cluster"), t.cluster ? 1u : 0u);
    EXPECT_EQ(g.edges.size(), attachments + members + t.links.size() + cluster_nodes);
    std::size_t nodes = t.nodes.size() + t.switches.size() + (t.cluster ? 1 : 0);
    for (const auto& node : t.nodes) nodes += node.pods.size();
    EXPECT_EQ(g.nodes.size(), nodes);
  }
}

TEST(LabGraph, RouterLinksShowBothEndsAddressesMtuAndRate) {
  const Topology t = parse_topology(read_example("router.json"));
  const DotGraph g = read_dot(to_dot(t));
  EXPECT_EQ(g.subgraphs.at("cluster_node:r1").at("label"), "r1 (router)");  // hostname differs
  EXPECT_EQ(g.subgraphs.at("cluster_node:h1").at("label"), "h1");
  EXPECT_EQ(g.defaults.at("graph").at("label"), "lab router");

  auto e = g.edges_between("node:h1", "node:r1");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]->a, "node:h1");  // link end a first
  EXPECT_EQ(e[0]->attrs.at("label"),
            "h1:eth0 10.0.1.2/24, fd00:1::2/64\nr1:eth1 10.0.1.1/24, fd00:1::1/64");
  e = g.edges_between("node:h2", "node:r1");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]->attrs.at("label"),
            "h2:eth0 10.0.2.2/24, fd00:2::2/64\nr1:eth2 10.0.2.1/24, fd00:2::1/64\nrate 100mbit");
  e = g.edges_between("node:h3", "node:r1");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]->attrs.at("label"), "h3:eth0 10.0.3.2/24\nr1:eth3 10.0.3.1/24\nMTU 1400");
  EXPECT_EQ(g.nodes.at("node:h1").at("label"),
            "h1\nroute 10.0.2.0/24 via 10.0.1.1\nroute fd00:2::/64 via fd00:1::1");
  EXPECT_EQ(g.nodes.at("node:r1").at("label"), "r1");
}

TEST(LabGraph, VxlanClusterIsADashedNoteToEachNode) {
  const Topology t = parse_topology(read_example("vxlan-4nodes.json"));
  const DotGraph g = read_dot(to_dot(t));
  ASSERT_TRUE(g.nodes.count("cluster"));
  EXPECT_EQ(g.nodes.at("cluster").at("label"), "cluster (vxlan vni 42, 10.245.0.0/16)");
  EXPECT_EQ(g.nodes.at("cluster").at("style"), "dashed");
  for (int i = 1; i <= 4; ++i) {
    const std::string n = "n" + std::to_string(i);
    SCOPED_TRACE(n);
    const auto e = g.edges_between("cluster", "node:" + n);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0]->attrs.at("style"), "dashed");
    EXPECT_EQ(e[0]->attrs.at("label"), "eth0 192.168.60." + std::to_string(i));
    const auto m = g.edges_between("node:" + n, "switch:underlay");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0]->attrs.at("label"), "eth0\n192.168.60." + std::to_string(i) + "/24");
    EXPECT_EQ(m[0]->attrs.count("style"), 0u);
  }
  EXPECT_EQ(g.nodes.at("node:n1").at("label"),
            "n1\npod CIDR 10.245.0.0/24\ncni0 10.245.0.1\npod MTU 1450");
  EXPECT_EQ(g.nodes.at("node:n4").at("label"),
            "n4\npod CIDR 10.245.100.0/24\ncni0 10.245.100.1\npod MTU 1450");
  EXPECT_EQ(g.nodes.at("switch:underlay").at("label"), "underlay\nswitch");
  const auto pod_edges = g.edges_between("node:n2", "pod:n2/p1");
  ASSERT_EQ(pod_edges.size(), 1u);
  EXPECT_EQ(pod_edges[0]->attrs.at("label"), "eth0 cluster");
  EXPECT_EQ(pod_edges[0]->subgraph, "cluster_node:n2");
}

TEST(LabGraph, HostGwClusterAndHostnames) {
  const DotGraph g = read_dot(to_dot(parse_topology(read_example("hostgw-2nodes.json"))));
  EXPECT_EQ(g.nodes.at("cluster").at("label"), "cluster (host-gw, 10.244.0.0/16)");
  EXPECT_EQ(g.subgraphs.at("cluster_node:n1").at("label"), "n1 (node1)");
  EXPECT_EQ(g.nodes.at("node:n2").at("label"), "n2\npod CIDR 10.244.1.0/24\ncni0 10.244.1.1");
}

TEST(LabGraph, PodsShowTheirNetworksAndKnownAddresses) {
  const Topology t = parse_topology(read_example("rootless.json"));
  DotGraph g = read_dot(to_dot(t));
  EXPECT_EQ(g.nodes.count("cluster"), 0u);
  EXPECT_EQ(g.nodes.at("pod:n1/both").at("label"), "both");  // addresses not known yet
  std::vector<std::string> labels;
  for (const auto* e : g.edges_between("node:n1", "pod:n1/both"))
    labels.push_back(e->attrs.at("label"));
  EXPECT_THAT(labels, ElementsAre("eth0 blue", "net1 red"));

  const PodAddresses up = {{"n1/both", {"10.88.1.5/24", "10.88.2.5/24"}},
                           {"n1/a1", {"10.88.1.2/24"}},
                           {"n9/ghost", {"10.0.0.9/24"}}};  // not in the lab: ignored
  g = read_dot(to_dot(t, up));
  EXPECT_EQ(g.nodes.at("pod:n1/both").at("label"), "both\n10.88.1.5/24\n10.88.2.5/24");
  EXPECT_EQ(g.nodes.at("pod:n1/a1").at("label"), "a1\n10.88.1.2/24");
  EXPECT_EQ(g.nodes.at("pod:n1/a2").at("label"), "a2");
  EXPECT_EQ(g.nodes.count("pod:n9/ghost"), 0u);
}

TEST(LabGraph, QuotesEveryIdAndEscapesLabels) {
  EXPECT_EQ(dot_quote("web-1"), "\"web-1\"");
  EXPECT_EQ(dot_quote("a\"b"), R"("a\"b")");
  EXPECT_EQ(dot_quote("a\\b"), R"("a\\b")");
  EXPECT_EQ(dot_quote("trailing\\"), R"("trailing\\")");  // must not escape the closing quote
  EXPECT_EQ(dot_quote("two\nlines"), R"("two\nlines")");
  EXPECT_EQ(dot_quote("10.0.0.1/24 n1:eth0"), "\"10.0.0.1/24 n1:eth0\"");
  EXPECT_EQ(dot_quote("tab\there\r"), "\"tab?here?\"");
  EXPECT_EQ(dot_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 kept
  EXPECT_EQ(dot_quote("bad\xff\xc3"), "\"bad??\"");        // invalid or truncated UTF-8
  EXPECT_EQ(dot_quote("\xed\xa0\x80"), "\"???\"");         // a surrogate
  EXPECT_EQ(dot_quote("\xe0\x80\xaf"), "\"???\"");         // overlong
  EXPECT_EQ(dot_quote("\xf0\x9f\x94\x8c"), "\"\xf0\x9f\x94\x8c\"");
  EXPECT_EQ(dot_quote(""), "\"\"");

  const Topology t = parse_topology(kAwkwardLab);
  const std::string text = to_dot(t, {{"db-2/p-1", {"10.2.0.2/24\", evil=\"x", "back\\slash"}}});
  EXPECT_EQ(text.rfind("graph \"my-lab\" {\n", 0), 0u);
  DotGraph g;
  ASSERT_NO_THROW(g = read_dot(text)) << text;
  EXPECT_EQ(g.name, "my-lab");
  ASSERT_TRUE(g.nodes.count("node:web-1"));
  ASSERT_TRUE(g.nodes.count("pod:db-2/p-1"));
  EXPECT_EQ(g.subgraphs.at("cluster_node:web-1").at("label"), "web-1 (web-1.example)");
  // Labels read back exactly as written: the quote and backslash are the interface names'.
  const auto link = g.edges_between("node:web-1", "node:db-2");
  ASSERT_EQ(link.size(), 1u);
  EXPECT_EQ(link[0]->attrs.at("label"), "web-1:e\"0 10.0.0.1/24\ndb-2:e\\0");
  EXPECT_EQ(g.nodes.at("pod:db-2/p-1").at("label"), "p-1\n10.2.0.2/24\", evil=\"x\nback\\slash");
  EXPECT_EQ(g.nodes.at("pod:db-2/p-1").count("evil"), 0u);
  EXPECT_EQ(g.nodes.at("switch:sw-1").at("label"), "sw-1\nswitch\nMTU 9000");
  const auto member = g.edges_between("node:web-1", "switch:sw-1");
  ASSERT_EQ(member.size(), 1u);
  EXPECT_EQ(member[0]->attrs.at("label"), "e1");  // no addresses
  EXPECT_EQ(g.edges_between("node:db-2", "switch:sw-1").at(0)->attrs.at("label"),
            "e1\n10.1.0.2/24");
  EXPECT_EQ(g.edges_between("node:db-2", "pod:db-2/p-1").at(0)->attrs.at("label"), "eth0 n-1");
}

// A node named like the cluster note, or like a keyword, cannot clash with the note or the syntax.
TEST(LabGraph, IdsDoNotClash) {
  const Topology t = parse_topology(R"({
    "name": "clash",
    "nodes": {"cluster": {"pods": {"node": {"networks": ["cluster"]}}},
              "graph": {"pods": {"edge": {"networks": ["cluster"]}}}},
    "links": [{"a": "cluster:eth0", "b": "graph:eth0",
               "addresses": {"a": ["10.0.0.1/24"], "b": ["10.0.0.2/24"]}}],
    "switches": {"subgraph": {"members": {"cluster:e1": [], "graph:e1": []}}},
    "cluster": {"cidr": "10.244.0.0/16", "mode": "host-gw",
                "nodes": {"cluster": {"underlay": "eth0"}, "graph": {"underlay": "eth0"}}},
    "checks": {"reach": [{"from": "cluster/node", "to": "graph/edge"}]}
  })");
  const DotGraph g = read_dot(to_dot(t));
  EXPECT_EQ(g.nodes.size(), 6u);  // 2 nodes, 2 pods, the switch, the cluster note
  EXPECT_TRUE(g.nodes.count("node:cluster"));
  EXPECT_TRUE(g.nodes.count("pod:cluster/node"));
  EXPECT_TRUE(g.nodes.count("switch:subgraph"));
  EXPECT_EQ(g.edges_between("cluster", "node:cluster").size(), 1u);
}

TEST(LabGraph, OutputIsDeterministicAndInFileOrder) {
  for (const std::string& name : kExamples) {
    SCOPED_TRACE(name);
    const std::string text = read_example(name);
    const std::string first = to_dot(parse_topology(text));
    EXPECT_EQ(to_dot(parse_topology(text)), first);
    EXPECT_EQ(to_dot(parse_topology(text), {}), first);
  }
  // Reordering the file's nodes reorders the output.
  auto doc = nlohmann::ordered_json::parse(read_example("router.json"));
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  for (const char* n : {"r1", "h3", "h2", "h1"}) nodes[n] = doc["nodes"][n];
  doc["nodes"] = nodes;
  const DotGraph g = read_dot(to_dot(parse_topology(doc.dump())));
  EXPECT_THAT(g.subgraph_order, ElementsAre("cluster_node:r1", "cluster_node:h3", "cluster_node:h2",
                                            "cluster_node:h1"));
}

TEST(LabGraph, Rates) {
  using nsnet::lab::format_rate;
  EXPECT_EQ(format_rate(100'000'000), "100mbit");
  EXPECT_EQ(format_rate(1'500'000'000), "1500mbit");
  EXPECT_EQ(format_rate(2'000'000'000), "2gbit");
  EXPECT_EQ(format_rate(64'000), "64kbit");
  EXPECT_EQ(format_rate(1024), "1024bit");
  EXPECT_EQ(format_rate(8), "8bit");
  EXPECT_EQ(format_rate(0), "0bit");
}

// Graphviz itself, when installed: every output renders without a warning.
TEST(LabGraph, GraphvizAcceptsEveryOutput) {
  const auto dot = netcore::proc::find_program("dot");
  if (!dot) GTEST_SKIP() << "graphviz (dot) is not installed";
  std::vector<std::pair<std::string, std::string>> outputs;
  for (const std::string& name : kExamples)
    outputs.emplace_back(name, to_dot(parse_topology(read_example(name))));
  outputs.emplace_back("awkward", to_dot(parse_topology(kAwkwardLab),
                                         {{"db-2/p-1", {"10.2.0.2/24\"", "a\\", "\xff"}}}));
  for (const auto& [name, text] : outputs) {
    SCOPED_TRACE(name);
    const auto run = netcore::proc::run({.program = *dot,
                                         .args = {"-Tsvg"},
                                         .env = netcore::proc::current_environment(),
                                         .input = text,
                                         .timeout = std::chrono::seconds(30)});
    EXPECT_TRUE(run.succeeded()) << run.describe() << "\n" << text;
    // Any warning about the input fails (invalid UTF-8, unknown attributes...); a machine
    // without font configuration may add Fontconfig lines, which say nothing about it.
    std::istringstream err(run.err);
    std::string warnings;
    for (std::string line; std::getline(err, line);)
      if (line.rfind("Fontconfig", 0) != 0) warnings += line + "\n";
    EXPECT_EQ(warnings, "") << text;
    EXPECT_NE(run.out.find("<svg"), std::string::npos);
  }
}

}  // namespace
}  // namespace lab_graph_test
