#pragma once

// The verbs of the nsnet command. Each takes the arguments after its own name and returns the
// process's exit status; errors are one line on stderr.

namespace nsnet {

int run_command(int argc, char** argv);   // nsnet run [options] [--] CMD [ARGS...]
int net_command(int argc, char** argv);   // nsnet net add|check|del|gc|status ...
int ps_command(int argc, char** argv);    // nsnet ps [--json]
int exec_command(int argc, char** argv);  // nsnet exec ID [--] CMD [ARGS...]
int stop_command(int argc, char** argv);  // nsnet stop ID...
int gc_command(int argc, char** argv);    // nsnet gc
int lab_command(int argc, char** argv);   // nsnet lab up|down|ls|exec|check|graph ...

}  // namespace nsnet
