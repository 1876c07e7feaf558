#pragma once

// A command line of verbs (`nsnet VERB`, `nsnet lab VERB`): the table, its listing for --help,
// and the dispatch.

#include <cstdio>
#include <span>
#include <string_view>

namespace nsnet {

struct Verb {
  std::string_view name;
  int (*main)(int, char**);  // gets argv from the verb on; returns the exit status
  std::string_view summary;
};

// "  NAME   SUMMARY" per verb.
inline void print_verbs(std::FILE* out, std::span<const Verb> verbs) {
  for (const auto& verb : verbs)
    std::fprintf(out, "  %-6.*s %.*s\n", static_cast<int>(verb.name.size()), verb.name.data(),
                 static_cast<int>(verb.summary.size()), verb.summary.data());
}

// The verb called `name`; nullptr when there is none.
inline const Verb* find_verb(std::span<const Verb> verbs, std::string_view name) {
  for (const auto& verb : verbs)
    if (verb.name == name) return &verb;
  return nullptr;
}

}  // namespace nsnet
