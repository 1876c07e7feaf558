#!/usr/bin/env python3
"""Checks conf/kubernetes/nsnet-node.yaml: it parses as YAML, holds the ServiceAccount,
ClusterRole (get nodes), ClusterRoleBinding and DaemonSet the node install needs, the DaemonSet's
init container runs the installed scripts/install-node.sh with options that script has, mounts
the host's /opt/cni/bin and /etc/cni/net.d, and takes NODE_NAME from spec.nodeName; and every repo
file the manifest and its Containerfile name exists.

Usage: k8s_manifest_test.py [REPO_ROOT]. Exits 0 when every check passes, 1 otherwise, and 77 (a
skip for CTest) when python3-yaml is not installed.
"""
import pathlib
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("python3 yaml (Debian package python3-yaml) is not installed; skipping", file=sys.stderr)
    sys.exit(77)

INSTALLED_SCRIPT = "/usr/share/nsnet/install-node.sh"  # where the .deb puts scripts/install-node.sh
HOST_DIRS = {"/opt/cni/bin", "/etc/cni/net.d"}


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}", file=sys.stderr)
        return ok


def options_of(script: pathlib.Path) -> set:
    help_text = subprocess.run(["bash", str(script), "--help"], check=True, capture_output=True,
                               text=True).stdout
    return set(re.findall(r"--[a-z][a-z-]+", help_text))


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    manifest = root / "conf/kubernetes/nsnet-node.yaml"
    containerfile = root / "conf/kubernetes/Containerfile"
    script = root / "scripts/install-node.sh"
    c = Checks()

    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d is not None]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    c.check(sorted(by_kind) == ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "ServiceAccount"],
            f"kinds: {sorted(by_kind)}")
    for kind, items in by_kind.items():
        c.check(len(items) == 1, f"one {kind}")
    if not c.check("DaemonSet" in by_kind and "ServiceAccount" in by_kind
                   and "ClusterRole" in by_kind and "ClusterRoleBinding" in by_kind,
                   "every kind present"):
        return 1
    ds = by_kind["DaemonSet"][0]
    sa = by_kind["ServiceAccount"][0]
    role = by_kind["ClusterRole"][0]
    binding = by_kind["ClusterRoleBinding"][0]

    c.check(ds["apiVersion"] == "apps/v1", "DaemonSet apps/v1")
    c.check(ds["metadata"]["namespace"] == "kube-system", "DaemonSet in kube-system")
    c.check(sa["metadata"]["namespace"] == "kube-system", "ServiceAccount in kube-system")
    labels = ds["spec"]["template"]["metadata"]["labels"]
    c.check(all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items()),
            "selector matches the pod template's labels")
    pod = ds["spec"]["template"]["spec"]
    c.check(pod.get("hostNetwork") is True, "hostNetwork")
    c.check(pod.get("priorityClassName") == "system-node-critical", "priorityClassName")
    c.check({"operator": "Exists"} in pod.get("tolerations", []), "tolerates every taint")
    c.check(pod.get("serviceAccountName") == sa["metadata"]["name"], "pod uses the ServiceAccount")

    # RBAC: get nodes, bound to the pod's ServiceAccount.
    c.check(any("" in r.get("apiGroups", []) and "nodes" in r.get("resources", [])
                and "get" in r.get("verbs", []) for r in role["rules"]), "ClusterRole gets nodes")
    c.check(binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                   "name": role["metadata"]["name"]}, "binding names the role")
    c.check({"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "kube-system"}
            in binding["subjects"], "binding names the ServiceAccount")

    # The init container: the installed script, from the API, into the mounted host dirs.
    inits = pod.get("initContainers", [])
    c.check(len(inits) == 1, "one init container")
    init = inits[0]
    command = init.get("command", []) + init.get("args", [])
    c.check(command[:1] == [INSTALLED_SCRIPT], f"init runs {INSTALLED_SCRIPT}: {command[:1]}")
    c.check(script.is_file(), f"{script.relative_to(root)} exists (installed as {INSTALLED_SCRIPT})")
    known = options_of(script)
    for arg in command[1:]:
        if arg.startswith("--"):
            c.check(arg.split("=")[0] in known, f"install-node.sh has option {arg}")
    c.check("--pod-cidr-from-api" in command, "pod CIDR from the API")

    def option(name):
        return command[command.index(name) + 1] if name in command[:-1] else None

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in init.get("volumeMounts", [])}
    host_path_of_mount = {path: volumes.get(name, {}).get("hostPath", {}).get("path")
                          for path, name in mounts.items()}
    c.check(HOST_DIRS <= {v.get("hostPath", {}).get("path") for v in volumes.values()},
            f"hostPath volumes for {sorted(HOST_DIRS)}")
    c.check(host_path_of_mount.get(option("--bin-dir")) == "/opt/cni/bin",
            f"--bin-dir {option('--bin-dir')} is the host's /opt/cni/bin")
    c.check(host_path_of_mount.get(option("--conf-dir")) == "/etc/cni/net.d",
            f"--conf-dir {option('--conf-dir')} is the host's /etc/cni/net.d")
    env = {e["name"]: e for e in init.get("env", [])}
    c.check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            == "spec.nodeName", "NODE_NAME from spec.nodeName")

    # A main container keeps the pod Ready; all containers use the documented image.
    containers = pod.get("containers", [])
    c.check(len(containers) >= 1, "a main container")
    images = {x["image"] for x in inits + containers}
    c.check(len(images) == 1, f"one image: {sorted(images)}")
    text = manifest.read_text()
    for image in images:
        c.check(f"{image} is a placeholder" in " ".join(text.split()),
                f"image {image} documented as a placeholder")
    c.check("--allocate-node-cidrs" in text and ".spec.podCIDR" in text,
            "documents where the pod CIDR comes from")

    # Repo files named in the manifest and the Containerfile exist.
    c.check(containerfile.is_file(), "conf/kubernetes/Containerfile exists")
    cf = containerfile.read_text()
    c.check(re.search(r"^FROM \S*debian:bookworm-slim$", cf, re.M) is not None,
            "Containerfile builds FROM debian:bookworm-slim")
    c.check(INSTALLED_SCRIPT in cf, "Containerfile checks the installed script")
    named = set(re.findall(r"\b((?:conf|scripts|tests|plugins|launcher|netcore)/[\w./-]*\w)", text + cf))
    c.check(bool(named), "the manifest names repo files")
    for path in sorted(named):
        c.check((root / path).exists(), f"{path} (named in conf/kubernetes) exists")

    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
