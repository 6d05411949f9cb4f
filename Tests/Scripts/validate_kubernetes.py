#!/usr/bin/python3
"""Checks deploy/kubernetes/*.yaml and deploy/Containerfile against the code.

    /usr/bin/python3 Tests/IntegrationTests/Support/validate_kubernetes.py REPO_ROOT

Needs PyYAML (Debian: python3-yaml). Every YAML document is checked by kind
(DaemonSet, PodMonitor, ServiceMonitor, Service; any other kind is an error),
then the Containerfile. Flags, the pods directory, the config path, the version
and the capabilities are read from the sources and the systemd unit, so a
manifest that drifts from the daemon fails here. No cluster and no container
engine are used. Prints every problem and exits 1, or prints
"ok: N documents, Containerfile" and exits 0. Exit 2: bad usage.
"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("validate_kubernetes.py: PyYAML is missing (apt-get install python3-yaml)")

NAME_LABEL = "app.kubernetes.io/name"
APP = "backlogd"
CONTAINERFILE = "deploy/Containerfile"

# The DaemonSet's added capabilities, in the API's spelling (no CAP_ prefix):
#   DAC_READ_SEARCH  list other users' /proc/<pid>/fd (listener owners)
#   SYS_PTRACE       read those fd links and other users' /proc/<pid>/ns/net
#   SYS_ADMIN        setns() into the pods' network namespaces (--all-namespaces)
# The first two are the unit's CapabilityBoundingSet, the third the
# all-namespaces drop-in's: check_unit_capabilities() holds the list to them.
EXPECTED_CAPABILITIES = ["DAC_READ_SEARCH", "SYS_PTRACE", "SYS_ADMIN"]

# Main-command options that end the process or exclude the daemon's settings.
NOT_FOR_THE_DAEMON = {"once", "check-config", "netns", "format", "window", "help", "version"}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def get(d, *path):
    """d[path[0]][path[1]]…, or None where a step is missing or not a mapping."""
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


# ---------------------------------------------------------------- the sources

class Sources:
    """What the manifests must agree with, read from the repository."""

    def __init__(self, root, problems):
        self.root = root
        self.flags, self.boolean_flags = self._flags(problems)
        self.version = self._match(problems, "Sources/BacklogCore/Version.swift",
                                   r'static let current = "([^"]+)"', "the version")
        self.pods_dir = self._match(problems, "Sources/BacklogCore/Ownership/PodDirectory.swift",
                                    r'static let defaultPath = "([^"]+)"', "the pods directory default")
        self.config_path = self._match(problems, "Sources/BacklogDaemon/Config/DaemonConfig.swift",
                                       r'static let defaultPath = "([^"]+)"', "the config file default")
        package = read(root, "Package.swift")
        self.executables = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', package))
        # systemLibrary providers: the -dev packages a build needs.
        self.apt_build_packages = sorted(set(
            p for group in re.findall(r'providers:\s*\[\s*\.apt\(\[([^\]]*)\]\)', package)
            for p in re.findall(r'"([^"]+)"', group)))

    def _match(self, problems, rel, pattern, what):
        m = re.search(pattern, read(self.root, rel))
        if not m:
            problems.add(rel, f"cannot find {what} (pattern {pattern})")
            return None
        return m.group(1)

    def _flags(self, problems):
        table = read(self.root, "Sources/BacklogDaemon/Config/SettingsTable.swift")
        daemon_flags = read(self.root, "Sources/backlogd/DaemonFlags.swift")
        main = read(self.root, "Sources/backlogd/Backlogd.swift")
        flags = set(re.findall(r'flag:\s*"([^"]+)"', table))
        flags |= set(re.findall(r'customLong\("([^"]+)"\)', daemon_flags))
        # .boolean(...) settings are switches (no value); the log level has no flag: argument.
        boolean = set(re.findall(r'\.boolean\("[^"]+",\s*flag:\s*"([^"]+)"', table))
        if re.search(r'\.logLevel\(', table):
            flags.add("log-level")
        flags.add("all-namespaces")
        boolean.add("all-namespaces")
        # The main command's own options (swift-argument-parser: camelCase -> kebab-case).
        for kind, name in re.findall(r'@(Option|Flag)\b(?:(?!@Option|@Flag).)*?\bvar\s+(\w+)', main, re.DOTALL):
            kebab = re.sub(r'(?<!^)([A-Z])', r'-\1', name).lower()
            flags.add(kebab)
            if kind == "Flag":
                boolean.add(kebab)
        if len(flags) < 10 or "listen" not in flags:
            problems.add("Sources", f"found only {sorted(flags)} as flags: the patterns no longer match the code")
        return flags, boolean


def check_unit_capabilities(root, problems):
    """EXPECTED_CAPABILITIES must be the unit's plus the all-namespaces drop-in's."""
    found = []
    for rel in ("systemd/backlogd.service", "systemd/backlogd.service.d/all-namespaces.conf"):
        for line in read(root, rel).splitlines():
            if line.startswith("CapabilityBoundingSet="):
                found += [c[len("CAP_"):] if c.startswith("CAP_") else c for c in line.split("=", 1)[1].split()]
    if sorted(found) != sorted(EXPECTED_CAPABILITIES):
        problems.add("systemd/", f"the unit and its drop-in grant {sorted(found)}, this script expects "
                                 f"{sorted(EXPECTED_CAPABILITIES)}: update EXPECTED_CAPABILITIES and the DaemonSet together")


# ---------------------------------------------------------------- quantities

_SUFFIXES = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value):
    m = re.fullmatch(r'([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?', str(value))
    if not m:
        return None
    return float(m.group(1)) * _SUFFIXES[m.group(2) or ""]


# ---------------------------------------------------------------- documents

def load_documents(root, problems):
    docs = []
    files = sorted(glob.glob(os.path.join(root, "deploy/kubernetes/*.yaml")))
    if not files:
        problems.add("deploy/kubernetes", "no *.yaml files")
    for path in files:
        rel = os.path.relpath(path, root)
        try:
            with open(path, encoding="utf-8") as f:
                loaded = list(yaml.load_all(f, Loader=UniqueKeyLoader))
        except yaml.YAMLError as e:
            problems.add(rel, f"not valid YAML: {e}")
            continue
        for i, doc in enumerate(loaded):
            if doc is None:  # an empty document (a trailing ---)
                continue
            where = f"{rel} document {i + 1}"
            if not isinstance(doc, dict):
                problems.add(where, "is not a mapping")
                continue
            for key in ("apiVersion", "kind"):
                if not isinstance(doc.get(key), str) or not doc[key]:
                    problems.add(where, f"{key} is missing")
            name = get(doc, "metadata", "name")
            if not isinstance(name, str) or not name:
                problems.add(where, "metadata.name is missing")
            else:
                where = f"{rel} {doc.get('kind')}/{name}"
            docs.append((where, doc))
    return docs


def check_labels_select(selector_where, match_labels, labels, labels_where, problems):
    if not isinstance(match_labels, dict) or not match_labels:
        problems.add(selector_where, "selector.matchLabels is missing or empty")
        return
    for k, v in match_labels.items():
        if (labels or {}).get(k) != v:
            problems.add(selector_where, f"selects {k}={v}, which {labels_where} does not carry (it has {labels})")


def check_daemonset(where, ds, src, problems):
    """Returns (namespace, pod labels, container ports by name, container port numbers)."""
    if ds.get("apiVersion") != "apps/v1":
        problems.add(where, f"apiVersion is {ds.get('apiVersion')!r}, not apps/v1")
    if get(ds, "metadata", "labels", NAME_LABEL) != APP:
        problems.add(where, f"metadata.labels lacks {NAME_LABEL}: {APP}")
    template_labels = get(ds, "spec", "template", "metadata", "labels")
    match = get(ds, "spec", "selector", "matchLabels")
    if not isinstance(match, dict) or not match:
        problems.add(where, "spec.selector.matchLabels is missing or empty")
    elif match != template_labels:
        problems.add(where, f"spec.selector.matchLabels {match} is not the template's labels {template_labels}")
    if get(ds, "spec", "selector", "matchExpressions") is not None:
        problems.add(where, "spec.selector.matchExpressions: not supported here, use matchLabels only")
    if (template_labels or {}).get(NAME_LABEL) != APP:
        problems.add(where, f"the pod template's labels lack {NAME_LABEL}: {APP}")

    pod = get(ds, "spec", "template", "spec")
    if not isinstance(pod, dict):
        problems.add(where, "spec.template.spec is missing")
        return None
    for key in ("hostPID", "hostNetwork"):
        if pod.get(key) is not True:
            problems.add(where, f"{key} must be true (it is {pod.get(key)!r}): backlogd reads the node's /proc and sockets")
    if pod.get("dnsPolicy") != "ClusterFirstWithHostNet":
        problems.add(where, f"dnsPolicy is {pod.get('dnsPolicy')!r}; with hostNetwork it must be ClusterFirstWithHostNet")
    tolerations = pod.get("tolerations") or []
    if not any(isinstance(t, dict) and t.get("operator") == "Exists" and "key" not in t and "effect" not in t
               for t in tolerations):
        problems.add(where, "no toleration {operator: Exists} without key and effect: it would not run on every node")

    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        problems.add(where, "spec.template.spec.containers is missing")
        return None
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if names.count(APP) != 1:
        problems.add(where, f"needs exactly one container named {APP} (has {names})")
        return None
    c = next(c for c in containers if c.get("name") == APP)
    cw = f"{where} container {APP}"

    image = c.get("image")
    if src.version and image != f"ghcr.io/backlogd/backlogd:{src.version}":
        problems.add(cw, f"image is {image!r}, not ghcr.io/backlogd/backlogd:{src.version} (Version.swift)")
    if c.get("command") is not None:
        problems.add(cw, "command replaces the image's ENTRYPOINT (/usr/bin/backlogd): give args only")

    # Ports.
    ports_by_name, port_numbers = {}, set()
    for p in c.get("ports") or []:
        number = p.get("containerPort") if isinstance(p, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            problems.add(cw, f"port {p!r} has no valid containerPort")
            continue
        if p.get("protocol", "TCP") != "TCP":
            problems.add(cw, f"port {number} is not TCP")
        if "hostPort" in p and p["hostPort"] != number:
            problems.add(cw, f"port {number}: with hostNetwork hostPort must equal containerPort (is {p['hostPort']})")
        if number in port_numbers:
            problems.add(cw, f"containerPort {number} is listed twice")
        port_numbers.add(number)
        if "name" in p:
            if p["name"] in ports_by_name:
                problems.add(cw, f"port name {p['name']!r} is used twice")
            ports_by_name[p["name"]] = number
    if "metrics" not in ports_by_name:
        problems.add(cw, "no port named metrics (the PodMonitor scrapes it by that name)")

    # Args: flags the daemon has, values where they take one.
    args = c.get("args")
    given = {}
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        problems.add(cw, "args must be a list of strings")
        args = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if not a.startswith("--"):
            problems.add(cw, f"arg {a!r} is not a --flag (positional arguments are not taken)")
            continue
        flag, has_value, value = a[2:].partition("=")
        if flag not in src.flags:
            problems.add(cw, f"--{flag} is not a backlogd flag (SettingsTable.swift, DaemonFlags.swift, Backlogd.swift)")
            continue
        if flag in NOT_FOR_THE_DAEMON:
            problems.add(cw, f"--{flag} is not for the daemon (it makes backlogd exit or is --once's)")
        if flag in src.boolean_flags:
            if has_value:
                problems.add(cw, f"--{flag} takes no value (given {a!r})")
            value = "true"
        elif not has_value:
            if i < len(args) and not args[i].startswith("--"):
                value = args[i]
                i += 1
            else:
                problems.add(cw, f"--{flag} needs a value")
                continue
        given.setdefault(flag, []).append(value)
    if "all-namespaces" not in given:
        problems.add(cw, "--all-namespaces is missing: pod network namespaces would not be watched "
                         "(and SYS_ADMIN would be granted for nothing)")
    listen_ports = set()
    for value in given.get("listen", []):
        m = re.fullmatch(r'(?:\[[0-9A-Fa-f:.]+\]|[0-9.]*)?:([0-9]+)', value)
        if not m:
            problems.add(cw, f"--listen={value}: not HOST:PORT, [V6]:PORT or :PORT")
        else:
            listen_ports.add(int(m.group(1)))
    if not given.get("listen"):
        problems.add(cw, "--listen is missing (the port must be stated where the probes and ports can be checked)")
    elif listen_ports != port_numbers:
        problems.add(cw, f"--listen ports {sorted(listen_ports)} are not the containerPorts {sorted(port_numbers)}")

    # Probes: the daemon's /healthz on a port the container declares.
    for probe_name in ("livenessProbe", "readinessProbe"):
        probe = c.get(probe_name)
        if not isinstance(probe, dict):
            problems.add(cw, f"{probe_name} is missing")
            continue
        http = probe.get("httpGet")
        tcp = probe.get("tcpSocket")
        target = http or tcp
        if not isinstance(target, dict):
            problems.add(cw, f"{probe_name} is neither httpGet nor tcpSocket")
            continue
        if http is not None and http.get("path") != "/healthz":
            problems.add(cw, f"{probe_name} asks {http.get('path')!r}, not /healthz")
        port = target.get("port")
        if isinstance(port, int):
            if port not in port_numbers:
                problems.add(cw, f"{probe_name} port {port} is not a containerPort {sorted(port_numbers)}")
        elif port not in ports_by_name:
            problems.add(cw, f"{probe_name} port {port!r} is not a named port {sorted(ports_by_name)}")

    # Resources.
    resources = c.get("resources") or {}
    for key in set(resources) - {"requests", "limits", "claims"}:
        problems.add(cw, f"resources.{key}: not a field of resources")
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            v = get(resources, kind, r)
            if v is None:
                problems.add(cw, f"resources.{kind}.{r} is missing")
            elif quantity(v) is None:
                problems.add(cw, f"resources.{kind}.{r} {v!r} is not a quantity")
    for r in ("cpu", "memory"):
        req, lim = quantity(get(resources, "requests", r)), quantity(get(resources, "limits", r))
        if req is not None and lim is not None and req > lim:
            problems.add(cw, f"resources: the {r} request is above its limit")

    # Security context.
    sc = c.get("securityContext")
    if not isinstance(sc, dict):
        problems.add(cw, "securityContext is missing")
        sc = {}
    expect = {"runAsUser": 0, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
    for key, value in expect.items():
        if sc.get(key) != value or type(sc.get(key)) is not type(value):
            problems.add(cw, f"securityContext.{key} is {sc.get(key)!r}, must be {value!r}")
    if sc.get("privileged") is True:
        problems.add(cw, "securityContext.privileged: the capabilities below are all it needs")
    caps = sc.get("capabilities") or {}
    if caps.get("drop") != ["ALL"]:
        problems.add(cw, f"capabilities.drop is {caps.get('drop')!r}, must be [ALL]")
    added = caps.get("add") or []
    if any(isinstance(a, str) and a.startswith("CAP_") for a in added):
        problems.add(cw, f"capabilities.add {added}: write them without CAP_ (the API refuses "
                         "allowPrivilegeEscalation: false with CAP_SYS_ADMIN spelled so)")
    if sorted(a[4:] if isinstance(a, str) and a.startswith("CAP_") else a for a in added) != sorted(EXPECTED_CAPABILITIES) \
            or len(added) != len(set(added)):
        problems.add(cw, f"capabilities.add is {added}, must be exactly {EXPECTED_CAPABILITIES}")
    if get(sc, "appArmorProfile", "type") != "Unconfined":
        problems.add(cw, "securityContext.appArmorProfile.type must be Unconfined: the runtime's default "
                         "AppArmor profile refuses ptrace reads of other processes' /proc/<pid>/fd")

    # Volumes and mounts.
    volumes = {}
    for v in pod.get("volumes") or []:
        name = v.get("name") if isinstance(v, dict) else None
        if not name:
            problems.add(where, f"volume {v!r} has no name")
            continue
        if name in volumes:
            problems.add(where, f"volume {name!r} is defined twice")
        volumes[name] = v
    mounts = c.get("volumeMounts") or []
    used, mount_paths = set(), {}
    for m in mounts:
        name = m.get("name") if isinstance(m, dict) else None
        path = m.get("mountPath") if isinstance(m, dict) else None
        if name not in volumes:
            problems.add(cw, f"volumeMount {name!r} (at {path}) has no volume of that name")
            continue
        used.add(name)
        if not isinstance(path, str) or not path.startswith("/"):
            problems.add(cw, f"volumeMount {name!r}: mountPath {path!r} is not absolute")
            continue
        if path in mount_paths:
            problems.add(cw, f"mountPath {path} is used twice")
        mount_paths[path] = name
        host = volumes[name].get("hostPath")
        if host is not None:
            if m.get("readOnly") is not True:
                problems.add(cw, f"hostPath mount {name!r} at {path} is not readOnly: true")
            if m.get("mountPropagation") not in (None, "None", "HostToContainer"):
                problems.add(cw, f"mount {name!r}: mountPropagation {m.get('mountPropagation')!r} "
                                 "(Bidirectional needs a privileged container)")
            hp = host.get("path") if isinstance(host, dict) else None
            if not isinstance(hp, str) or not hp.startswith("/"):
                problems.add(where, f"volume {name!r}: hostPath.path {hp!r} is not absolute")
            elif os.path.normpath(hp) in ("/", "/proc", "/sys", "/etc", "/var", "/run"):
                problems.add(where, f"volume {name!r} mounts the node's {hp}: backlogd reads /proc itself "
                                    "(hostPID) and needs no more of the node")
    for name in volumes:
        if name not in used:
            problems.add(where, f"volume {name!r} is mounted by no container")
    pods_dir = (given.get("kubernetes.pods-dir") or [src.pods_dir])[-1]
    if pods_dir and pods_dir not in mount_paths:
        problems.add(cw, f"the pods directory {pods_dir} (kubernetes.pods_dir) is not a mountPath {sorted(mount_paths)}")
    if "/run/netns" not in mount_paths:
        problems.add(cw, "/run/netns is not mounted: named pod namespaces would lose their names")
    return {
        "namespace": get(ds, "metadata", "namespace"),
        "labels": template_labels or {},
        "ports_by_name": ports_by_name,
        "port_numbers": port_numbers,
    }


def check_namespace(where, doc, ds, problems):
    ns = get(doc, "metadata", "namespace")
    if ns != ds["namespace"]:
        problems.add(where, f"metadata.namespace is {ns!r}, the DaemonSet's is {ds['namespace']!r}")


def check_podmonitor(where, pm, ds, problems):
    if pm.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.add(where, f"apiVersion is {pm.get('apiVersion')!r}, not monitoring.coreos.com/v1")
    check_namespace(where, pm, ds, problems)
    if get(pm, "spec", "namespaceSelector") is not None:
        problems.add(where, "spec.namespaceSelector: not expected (the PodMonitor lives beside the DaemonSet)")
    check_labels_select(where, get(pm, "spec", "selector", "matchLabels"), ds["labels"], "the DaemonSet's pods", problems)
    endpoints = get(pm, "spec", "podMetricsEndpoints")
    if not isinstance(endpoints, list) or not endpoints:
        problems.add(where, "spec.podMetricsEndpoints is missing or empty")
        return
    for e in endpoints:
        check_endpoint(where, e, set(ds["ports_by_name"]), "the container's port names", problems)


def check_endpoint(where, e, port_names, what, problems):
    if not isinstance(e, dict):
        problems.add(where, f"endpoint {e!r} is not a mapping")
        return
    if "targetPort" in e:
        problems.add(where, "endpoint uses targetPort (deprecated): use port with the port's name")
    if e.get("port") not in port_names:
        problems.add(where, f"endpoint port {e.get('port')!r} is not one of {what} {sorted(port_names)}")
    if e.get("path", "/metrics") != "/metrics":
        problems.add(where, f"endpoint path {e.get('path')!r} is not /metrics")
    if not e.get("interval"):
        problems.add(where, "endpoint has no interval")
    if not any(isinstance(r, dict) and r.get("sourceLabels") == ["__meta_kubernetes_pod_node_name"]
               and r.get("targetLabel") == "instance" and r.get("action", "replace") == "replace"
               for r in e.get("relabelings") or []):
        problems.add(where, "no relabeling sets instance from __meta_kubernetes_pod_node_name")


def check_service(where, svc, ds, problems):
    if svc.get("apiVersion") != "v1":
        problems.add(where, f"apiVersion is {svc.get('apiVersion')!r}, not v1")
    check_namespace(where, svc, ds, problems)
    check_labels_select(where, get(svc, "spec", "selector"), ds["labels"], "the DaemonSet's pods", problems)
    names = set()
    for p in get(svc, "spec", "ports") or []:
        target = p.get("targetPort", p.get("port"))
        if not (target in ds["ports_by_name"] or target in ds["port_numbers"]):
            problems.add(where, f"service port {p.get('name')!r} targets {target!r}, not a container port")
        if p.get("name"):
            names.add(p["name"])
    return {"labels": get(svc, "metadata", "labels") or {}, "port_names": names}


def check_servicemonitor(where, sm, ds, services, problems):
    if sm.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.add(where, f"apiVersion is {sm.get('apiVersion')!r}, not monitoring.coreos.com/v1")
    check_namespace(where, sm, ds, problems)
    match = get(sm, "spec", "selector", "matchLabels") or {}
    selected = [s for s in services if all(s["labels"].get(k) == v for k, v in match.items())]
    if not match or not selected:
        problems.add(where, f"selector {match} selects none of the Services in deploy/kubernetes")
        return
    names = set().union(*(s["port_names"] for s in selected))
    for e in get(sm, "spec", "endpoints") or [None]:
        check_endpoint(where, e, names, "the Service's port names", problems)


# ---------------------------------------------------------------- Containerfile

def containerfile_instructions(text):
    """(line number, INSTRUCTION, rest) with continuations joined and comments dropped."""
    out, buf, start = [], "", None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if start is None:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((start, word.upper(), rest.strip()))
        buf, start = "", None
    if buf:
        word, _, rest = buf.strip().partition(" ")
        out.append((start, word.upper(), rest.strip()))
    return out


def copy_parts(rest):
    """(flags, sources, destination) of a COPY/ADD, shell or JSON form."""
    flags = {}
    words = shlex.split(rest)
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    if words and words[0].startswith("["):
        words = json.loads(" ".join(words))
    if len(words) < 2:
        return flags, [], None
    return flags, words[:-1], words[-1]


def tracked(root, rel):
    """Whether rel (a file or directory) holds files git tracks; None outside a git checkout."""
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--", rel], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return bool(out.stdout.strip())


def check_containerfile(root, src, ds, problems):
    where = CONTAINERFILE
    path = os.path.join(root, CONTAINERFILE)
    if not os.path.isfile(path):
        problems.add(where, "is missing")
        return
    stages = []  # {"name", "copies": [(flags, sources, dest)], "runs": [text]}
    entrypoint, entrypoint_stage, exposed = None, None, set()
    for n, word, rest in containerfile_instructions(read(root, CONTAINERFILE)):
        at = f"{where}:{n}"
        if word == "FROM":
            m = re.fullmatch(r'(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?', rest, re.IGNORECASE)
            if not m:
                problems.add(at, f"FROM {rest!r} is not understood")
                continue
            stages.append({"image": m.group(1), "name": m.group(2), "copies": [], "runs": []})
            continue
        if word == "ARG" and not stages:
            continue
        if not stages:
            problems.add(at, f"{word} before any FROM")
            continue
        stage = stages[-1]
        if word in ("COPY", "ADD"):
            flags, sources, dest = copy_parts(rest)
            if dest is None:
                problems.add(at, f"{word} {rest!r} has no source or destination")
                continue
            stage["copies"].append((flags, sources, dest))
            if "from" in flags:
                if flags["from"] not in [s["name"] for s in stages[:-1]]:
                    problems.add(at, f"{word} --from={flags['from']}: no earlier stage of that name")
                continue
            for s in sources:
                if re.match(r'[a-z]+://', s):
                    problems.add(at, f"{word} {s}: a URL, not a file of the repository")
                    continue
                rel = os.path.normpath(s)
                if rel.startswith("..") or os.path.isabs(s):
                    problems.add(at, f"{word} {s}: outside the build context (the repository root)")
                    continue
                matches = glob.glob(os.path.join(root, rel))
                if not matches:
                    problems.add(at, f"{word} {s}: no such file or directory in the repository")
                    continue
                if tracked(root, rel) is False:
                    problems.add(at, f"{word} {s}: exists here but git does not track it (ignored or new), "
                                     "so a fresh clone has no such path")
        elif word == "RUN":
            stage["runs"].append(rest)
        elif word == "ENTRYPOINT":
            try:
                entrypoint = json.loads(rest)
            except ValueError:
                entrypoint = None
            if not (isinstance(entrypoint, list) and entrypoint and all(isinstance(e, str) for e in entrypoint)):
                problems.add(at, f"ENTRYPOINT {rest!r} is not the exec (JSON) form: signals would go to a shell")
                entrypoint = None
            entrypoint_stage = len(stages) - 1
        elif word == "EXPOSE":
            for p in rest.split():
                m = re.fullmatch(r'([0-9]+)(?:/tcp)?', p)
                if not m:
                    problems.add(at, f"EXPOSE {p}: not a TCP port")
                else:
                    exposed.add(int(m.group(1)))
    if len(stages) < 2:
        problems.add(where, "needs a build stage and a runtime stage")
        return
    final = stages[-1]

    # The build: the product, release, static Swift runtime, the system libraries' -dev packages.
    builds = [(s, r) for s in stages[:-1] for r in s["runs"] if "swift build" in r]
    if not builds:
        problems.add(where, "no RUN swift build in a build stage")
        return
    build_stage, build = builds[0]
    products = re.findall(r'--product[= ](\S+)', build)
    if len(products) != 1:
        problems.add(where, f"the swift build RUN names {len(products)} --product; it must name one")
        return
    product = products[0]
    if product not in src.executables:
        problems.add(where, f"--product {product} is not an executable product of Package.swift {sorted(src.executables)}")
    for needed in ("-c release", "--static-swift-stdlib"):
        if needed not in build:
            problems.add(where, f"swift build lacks {needed} (packaging/deb/build builds so)")
    build_runs = " ".join(build_stage["runs"])
    for pkg in src.apt_build_packages:
        if not re.search(rf'(?<![\w.-]){re.escape(pkg)}(?![\w.-])', build_runs):
            problems.add(where, f"the build stage installs no {pkg} (a systemLibrary provider in Package.swift)")
    if "Package.swift" not in [s for f, srcs, _ in build_stage["copies"] if "from" not in f for s in srcs]:
        problems.add(where, "the build stage does not COPY Package.swift")

    # The entrypoint is the product, copied from the build stage.
    if entrypoint is None or entrypoint_stage != len(stages) - 1:
        problems.add(where, "no ENTRYPOINT (exec form) in the runtime stage, the last one")
    else:
        binary = entrypoint[0]
        if os.path.basename(binary) != product:
            problems.add(where, f"ENTRYPOINT runs {binary}, but the build makes {product}")
        copied = False
        for flags, sources, dest in final["copies"]:
            if flags.get("from") != build_stage["name"]:
                continue
            for s in sources:
                target = os.path.join(dest, os.path.basename(s)) if dest.endswith("/") else dest
                if target == binary and os.path.basename(s) == product:
                    copied = True
        if not copied:
            problems.add(where, f"the runtime stage does not COPY --from={build_stage['name']} the {product} binary to {binary}")
        if len(entrypoint) > 1:
            problems.add(where, "ENTRYPOINT carries arguments: leave them to the DaemonSet's args")

    # The config file lands where the daemon reads it by default.
    for flags, sources, dest in final["copies"]:
        if "from" not in flags and any(s.endswith("config.yaml") for s in sources) and dest != src.config_path:
            problems.add(where, f"config.yaml is copied to {dest}, the daemon reads {src.config_path}")

    if ds is not None and exposed != ds["port_numbers"]:
        problems.add(where, f"EXPOSE {sorted(exposed)} is not the DaemonSet's containerPorts {sorted(ds['port_numbers'])}")


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    if not os.path.isfile(os.path.join(root, "Package.swift")):
        print(f"validate_kubernetes.py: {root} is not the repository root (no Package.swift)", file=sys.stderr)
        return 2
    problems = Problems()
    try:
        src = Sources(root, problems)
        check_unit_capabilities(root, problems)
    except OSError as e:
        problems.add("sources", f"cannot read: {e}")
        src = None
    docs = load_documents(root, problems)

    ds = None
    if src is not None:
        daemonsets = [(w, d) for w, d in docs if d.get("kind") == "DaemonSet"]
        if len(daemonsets) != 1:
            problems.add("deploy/kubernetes", f"{len(daemonsets)} DaemonSets; there must be exactly one")
        else:
            ds = check_daemonset(*daemonsets[0], src, problems)
        services = []
        for w, d in docs:
            kind = d.get("kind")
            if kind == "DaemonSet" or ds is None:
                continue
            if kind == "PodMonitor":
                check_podmonitor(w, d, ds, problems)
            elif kind == "Service":
                services.append(check_service(w, d, ds, problems))
            elif kind == "ServiceMonitor":
                pass  # after every Service is known
            else:
                problems.add(w, f"kind {kind!r}: this script has no check for it (add one)")
        for w, d in docs:
            if d.get("kind") == "ServiceMonitor" and ds is not None:
                check_servicemonitor(w, d, ds, services, problems)
        check_containerfile(root, src, ds, problems)

    if problems.items:
        for p in problems.items:
            print(f"FAIL {p}")
        print(f"validate_kubernetes.py: {len(problems.items)} problem(s)")
        return 1
    print(f"ok: {len(docs)} documents, Containerfile")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
