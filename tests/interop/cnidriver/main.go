// cnidriver drives CNI plugins through libcni, the client library real runtimes embed, so the
// interop test sees exactly what a runtime sends (prevResult from libcni's cache, the env, the
// plugin order on DEL) rather than what our own test harness assumes.
//
//	cnidriver [-cni-path DIRS] [-cache-dir DIR] [-cni-args K=V;...] [-cap-args JSON] add|check|del|cached NETCONF_LIST_FILE CONTAINER_ID NETNS_PATH IFNAME
//
// Built in GOPATH mode against Debian's libcni 1.1.2 (golang-github-appc-cni-dev); see
// tests/interop/run.sh.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnidriver [-cni-path DIRS] [-cache-dir DIR] [-cni-args K=V;...] [-cap-args JSON] add|check|del|cached NETCONF_LIST_FILE CONTAINER_ID NETNS_PATH IFNAME")
		flag.PrintDefaults()
	}
	cniPath := flag.String("cni-path", os.Getenv("CNI_PATH"), "plugin directories, ':'-separated (default $CNI_PATH)")
	cacheDir := flag.String("cache-dir", os.Getenv("CNI_CACHE_DIR"), "libcni's result cache directory (default $CNI_CACHE_DIR)")
	cniArgs := flag.String("cni-args", "", "CNI_ARGS for the plugins, \"K=V;K=V\" (libcni's RuntimeConf.Args)")
	capArgs := flag.String("cap-args", "", "capability arguments, a JSON object (libcni's RuntimeConf.CapabilityArgs)")
	flag.Parse()
	if flag.NArg() != 5 {
		flag.Usage()
		os.Exit(1)
	}
	rt := &libcni.RuntimeConf{
		ContainerID: flag.Arg(2),
		NetNS:       flag.Arg(3),
		IfName:      flag.Arg(4),
	}
	err := parseArgs(*cniArgs, *capArgs, rt)
	if err == nil {
		err = run(flag.Arg(0), *cniPath, *cacheDir, flag.Arg(1), rt)
	}
	if err != nil {
		// One line, so a test log shows the whole error next to the case that failed.
		fmt.Fprintln(os.Stderr, "cnidriver: "+strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

// parseArgs fills the runtime's CNI_ARGS pairs and capability arguments, as cnitool reads them
// from its CNI_ARGS and CAP_ARGS variables.
func parseArgs(cniArgs, capArgs string, rt *libcni.RuntimeConf) error {
	if cniArgs != "" {
		for _, pair := range strings.Split(cniArgs, ";") {
			kv := strings.Split(pair, "=")
			if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
				return fmt.Errorf("invalid -cni-args pair %q", pair)
			}
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	if capArgs != "" {
		if err := json.Unmarshal([]byte(capArgs), &rt.CapabilityArgs); err != nil {
			return fmt.Errorf("-cap-args: %w", err)
		}
	}
	return nil
}

func run(cmd, cniPath, cacheDir, listFile string, rt *libcni.RuntimeConf) error {
	if cniPath == "" {
		return errors.New("no plugin path: set -cni-path or CNI_PATH")
	}
	// libcni would fall back to /var/lib/cni; a test must never write the machine's cache.
	if cacheDir == "" {
		return errors.New("no cache directory: set -cache-dir or CNI_CACHE_DIR")
	}
	list, err := libcni.ConfListFromFile(listFile)
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(cniPath), cacheDir, nil)
	// A hung plugin must fail the test, not stall it until ctest's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		// Printed as the last plugin returned it (libcni does not convert it to the list's
		// version), so the test sees which version our plugin actually answered in.
		return printResult(result)
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "cached":
		result, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			return err
		}
		// libcni answers (nil, nil) when there is no cache file; that is a failure here.
		if result == nil {
			return fmt.Errorf("no cached result for network %q, container %q, ifname %q", list.Name, rt.ContainerID, rt.IfName)
		}
		return printResult(result)
	}
	return fmt.Errorf("unknown command %q (want add, check, del or cached)", cmd)
}

// printResult writes the result as indented JSON; Result.Print adds no trailing newline.
func printResult(result types.Result) error {
	if err := result.Print(); err != nil {
		return err
	}
	_, err := fmt.Println()
	return err
}
