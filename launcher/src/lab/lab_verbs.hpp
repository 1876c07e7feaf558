#pragma once

// The verbs of `nsnet lab`. Each takes the arguments after its own name and returns the exit
// status: 0, 1 when it failed (errors are one line on stderr), 2 for a usage error.

#include <optional>
#include <string>

#include "lab/lab_dir.hpp"

namespace nsnet::lab {

int up_verb(int argc, char** argv);
int down_verb(int argc, char** argv);
int ls_verb(int argc, char** argv);
int exec_verb(int argc, char** argv);
int check_verb(int argc, char** argv);
int graph_verb(int argc, char** argv);

// Removes a lab: ends its processes and its keeper, unmounts its namespaces and deletes its
// directory. For `down`, and for `up` after a failure or before rebuilding.
void tear_down(const LabDir& dir, const std::optional<LabRecord>& record);

// Opens an existing lab for a verb, joining a rootless lab's keeper (the process must still be
// single-threaded). nullopt, with the error printed, when there is no such lab.
struct OpenLab {
  LabDir dir;
  LabRecord record;
};
[[nodiscard]] std::optional<OpenLab> open_lab(const char* verb, const std::string& name);

}  // namespace nsnet::lab
