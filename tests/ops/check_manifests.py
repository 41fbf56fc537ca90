#!/usr/bin/env python3
"""What cannot run here, checked against what can: the Dockerfile (ops/docker), the Kubernetes manifests
(ops/kubernetes), the systemd unit and the man page use only flags the binary accepts (`pgtenant --help`),
environment variables it reads or the config they run with expands, HTTP paths it serves, ports their
config listens on, and config keys its loader accepts (`pgtenant --check-config` on every config they
ship) and the README documents. Cross-references inside the manifests (selectors, port names, Secret
keys, the peers list, the alert rules) must agree too.

Usage: check_manifests.py --binary PATH/TO/pgtenant --source REPOSITORY_ROOT
Prints every failure found, exits 1 if there is one."""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

failures = []


def fail(message):
    failures.append(message)


def check(condition, message):
    if not condition:
        fail(message)
    return condition


class Binary:
    """What the binary says about itself: its flags (--help) and the strings it contains."""

    def __init__(self, path):
        self.path = path
        result = subprocess.run([path, "--help"], capture_output=True, text=True, check=False)
        self.help = result.stdout
        self.flags = set(re.findall(r"(?<![\w-])--?[a-z][a-z0-9-]*", self.help))
        self.subcommands = {"doctor"} if re.search(r"^\s*pgtenant doctor\b", self.help, re.M) else set()
        with open(path, "rb") as f:
            self.data = f.read()

    def contains(self, text):
        return text.encode() in self.data

    def check_config(self, config_text, env, what):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config_text)
            f.flush()
            result = subprocess.run([self.path, "--check-config", f.name], capture_output=True, text=True,
                                    env=dict(os.environ, **env), check=False)
        check(result.returncode == 0, f"{what}: pgtenant --check-config refuses it: {result.stderr.strip()}")

    def verifier(self):
        result = subprocess.run([self.path, "--hash-password"], input="placeholder\n", capture_output=True,
                                text=True, check=True)
        return result.stdout.strip()


def flags_in(words):
    """The flags in a command line (a list of words), --name=value split."""
    return [w.split("=", 1)[0] for w in words if re.match(r"^--?[a-z]", w)]


def check_command(binary, words, what):
    for flag in flags_in(words):
        check(flag in binary.flags, f"{what}: flag {flag} is not in `pgtenant --help` ({sorted(binary.flags)})")
    for word in words:
        if re.match(r"^[a-z]+$", word) and word not in ("pgtenant",) and word in ("doctor",):
            check(word in binary.subcommands, f"{what}: subcommand {word} is not in `pgtenant --help`")


def config_path_of(words):
    """The FILE of --config FILE in a command line."""
    for i, word in enumerate(words):
        if word == "--config" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--config="):
            return word.split("=", 1)[1]
    return None


ENV_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def env_references(config_text):
    """{VAR: has_default} for every ${VAR} / ${VAR:-default} of a config file."""
    refs = {}
    for name, default in ENV_REFERENCE.findall(config_text):
        refs[name] = refs.get(name, True) and bool(default)
    return refs


def parse_duration_s(text):
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(text))
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


class Readme:
    """The configuration reference: every `key.path` of the README's table."""

    NAMED = {"backends", "tenants", "users"}  # maps whose keys are names (NAME in the table)

    def __init__(self, path):
        with open(path) as f:
            self.text = f.read()
        self.keys = set(re.findall(r"`([a-z_]+(?:\.[A-Za-z_]+)*)`", self.text))

    def check_keys(self, config, what):
        def walk(node, path):
            key = ".".join(path)
            if path and key in self.keys:
                return
            if isinstance(node, dict) and node:
                for child, value in node.items():
                    name = "NAME" if path and path[-1] in self.NAMED and len(path) == 1 else str(child)
                    walk(value, path + [name])
                return
            if isinstance(node, dict) and key in {k.split(".")[0] for k in self.keys if "." in k}:
                return  # an empty section (health_check: {}) whose keys are documented
            fail(f"{what}: config key {key} is not in the README's configuration reference")

        walk(config, [])


def load_all(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def check_man_page(binary, source):
    with open(os.path.join(source, "man", "pgtenant.8")) as f:
        man = f.read().replace("\\-", "-").replace("\\", "")
    # Every flag main.cc declares to CLI11 (-h included, which --help does not list) and --help shows.
    with open(os.path.join(source, "proxy", "main.cc")) as f:
        declared = {name for names in re.findall(r'add_(?:flag|option)\("([^"]+)"', f.read()) for name in names.split(",")}
    check("--config" in declared, "found no CLI11 flags in proxy/main.cc (the man page check is blind)")
    for flag in sorted(binary.flags | binary.subcommands | declared):
        check(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", man),
              f"man/pgtenant.8 does not document {flag} (from proxy/main.cc or `pgtenant --help`)")
    signals = set()
    for root, _, files in os.walk(os.path.join(source, "proxy")):
        for name in files:
            if name.endswith(".cc"):
                with open(os.path.join(root, name)) as f:
                    for line in f:
                        if "uv_signal_start" in line or "std::pair{&sig" in line:
                            signals.update(re.findall(r"\bSIG[A-Z0-9]+\b", line))
                        if "}, SIG" in line:  # a lambda's uv_signal_start(..., [](...) {...}, SIGHUP)
                            signals.update(re.findall(r"\bSIG[A-Z0-9]+\b", line))
    check(signals, "found no signal handling in proxy/ (the man page check is blind)")
    section = man.split(".SH SIGNALS", 1)[-1].split(".SH ", 1)[0]
    for signal in sorted(signals):
        check(signal in section, f"man/pgtenant.8's SIGNALS does not document {signal}, which proxy/ handles")
    return signals


def check_unit(binary, source):
    with open(os.path.join(source, "ops", "systemd", "pgtenant.service")) as f:
        unit = f.read()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    words = shlex.split(exec_start)
    check_command(binary, words[1:], "pgtenant.service ExecStart")
    check(re.search(r"^Type=notify$", unit, re.M), "pgtenant.service: not Type=notify")
    check(re.search(r"^ExecReload=.*-HUP \$MAINPID$", unit, re.M), "pgtenant.service: ExecReload does not send SIGHUP")
    check(binary.contains("NOTIFY_SOCKET"), "the binary never reads NOTIFY_SOCKET, yet the unit is Type=notify")
    return words[0], config_path_of(words)


def parse_dockerfile(path):
    """[(instruction, arguments)], continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            instruction, _, arguments = text.partition(" ")
            instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def exec_form(arguments):
    return yaml.safe_load(arguments) if arguments.startswith("[") else shlex.split(arguments)


def check_dockerfile(binary, readme, source, binary_path, config_path):
    path = os.path.join(source, "ops", "docker", "Dockerfile")
    with open(path) as f:
        text = f.read()
    instructions = parse_dockerfile(path)
    of = lambda name: [a for i, a in instructions if i == name]
    froms = of("FROM")
    check(len(froms) >= 2, "Dockerfile: not multi-stage")
    for base in froms:
        check(re.match(r"debian:12(-slim)?\b", base), f"Dockerfile: FROM {base} is not Debian 12")
    runs = " ".join(of("RUN"))
    deps_flags = re.findall(r"scripts/deps((?: --[a-z]+)*)", runs)
    check(deps_flags and "scripts/package" in runs, "Dockerfile: the build stage does not run scripts/deps and scripts/package")
    with open(os.path.join(source, "scripts", "deps")) as f:
        deps = f.read()
    for flag in " ".join(deps_flags).split():
        check(re.search(rf"^\s*{re.escape(flag)}\)", deps, re.M), f"Dockerfile: scripts/deps has no {flag}")
    users = of("USER")
    check(users and users[-1].split(":")[0] not in ("root", "0"), "Dockerfile: the final stage runs as root")
    uid = users[-1].split(":")[0] if users else None

    entrypoint = exec_form(of("ENTRYPOINT")[-1])
    cmd = exec_form(of("CMD")[-1])
    check(entrypoint == [binary_path], f"Dockerfile: ENTRYPOINT {entrypoint} is not the packaged {binary_path}")
    check_command(binary, cmd, "Dockerfile CMD")
    check(config_path_of(cmd) == config_path, f"Dockerfile: CMD's --config is not {config_path}")

    copies = [shlex.split(a) for a in of("COPY")]
    image_config = None
    for words in copies:
        words = [w for w in words if not w.startswith("--")]
        if words[-1] == config_path:
            image_config = os.path.join(source, words[0])
    for words in copies:
        if not any(w.startswith("--from") for w in words):
            paths = [w for w in words if not w.startswith("--")][:-1]
            for p in paths:
                check(p == "." or os.path.exists(os.path.join(source, p)), f"Dockerfile: COPY source {p} does not exist")
    if not check(image_config, f"Dockerfile: nothing is copied to {config_path}"):
        return uid
    with open(image_config) as f:
        config_text = f.read()
    config = yaml.safe_load(config_text)
    refs = env_references(config_text)
    for name, has_default in refs.items():
        check(has_default or name in text, f"Dockerfile: {name}, required by {image_config}, is not mentioned")
    binary.check_config(config_text, {name: binary.verifier() for name, has_default in refs.items() if not has_default}, "ops/docker/pgtenant.yaml")
    readme.check_keys(config, "ops/docker/pgtenant.yaml")

    listen_port, metrics = config["listen"]["port"], config.get("metrics")
    check(metrics, "ops/docker/pgtenant.yaml has no metrics: the HEALTHCHECK has nothing to ask")
    exposed = {int(p.split("/")[0]) for a in of("EXPOSE") for p in a.split()}
    expected = {listen_port} | ({metrics["port"]} if metrics else set())
    check(exposed == expected, f"Dockerfile: EXPOSE {sorted(exposed)}, the config listens on {sorted(expected)}")
    health = " ".join(of("HEALTHCHECK"))
    port = re.search(r"/dev/tcp/[^/]+/(\d+)", health)
    path_match = re.search(r"GET (\S+) HTTP", health)
    check(port and metrics and int(port.group(1)) == metrics["port"], "Dockerfile: HEALTHCHECK port is not metrics.port")
    check(path_match and path_match.group(1) == "/readyz", "Dockerfile: HEALTHCHECK does not ask /readyz")
    if path_match:
        check(binary.contains(path_match.group(1)), f"Dockerfile: HEALTHCHECK asks {path_match.group(1)}, which the binary does not serve")
    for name in re.findall(r"^ENV\s+([A-Z_][A-Z0-9_]*)", text, re.M):
        check(binary.contains(name) or name in refs, f"Dockerfile: ENV {name} is read neither by pgtenant nor by its config")
    return uid


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_kubernetes(binary, readme, source, config_path, image_uid, version):
    directory = os.path.join(source, "ops", "kubernetes")
    files = sorted(f for f in os.listdir(directory) if f.endswith(".yaml"))
    docs = {}
    for name in files:
        for doc in load_all(os.path.join(directory, name)):
            docs.setdefault(doc["kind"], []).append(doc)
    kustomization = docs["Kustomization"][0]
    listed = set(kustomization["resources"])
    check(listed == set(files) - {"kustomization.yaml", "secret.example.yaml"},
          f"kustomization.yaml lists {sorted(listed)}, the directory has {files}")

    statefulset = docs["StatefulSet"][0]
    spec = statefulset["spec"]
    pod = spec["template"]
    pod_labels = pod["metadata"]["labels"]
    check(labels_match(spec["selector"]["matchLabels"], pod_labels), "StatefulSet: selector does not match its pods")
    container = pod["spec"]["containers"][0]
    words = container.get("command", []) + container.get("args", [])
    check_command(binary, words, "StatefulSet args")
    env = {e["name"]: e for e in container.get("env", [])}
    check(container["image"].endswith(":" + version), f"StatefulSet: image {container['image']} is not version {version}")
    check(pod["spec"]["securityContext"].get("runAsNonRoot") is True, "StatefulSet: runAsNonRoot is not set")
    check(str(pod["spec"]["securityContext"].get("runAsUser")) == str(image_uid),
          f"StatefulSet: runAsUser is not the image's USER {image_uid}")

    # The instance id is the pod's ordinal.
    instance = words[words.index("--instance-id") + 1] if "--instance-id" in words else None
    variable = re.fullmatch(r"\$\((\w+)\)", instance or "")
    source_field = env.get(variable.group(1), {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") if variable else None
    check(source_field == "metadata.labels['apps.kubernetes.io/pod-index']",
          f"StatefulSet: --instance-id {instance} is not the pod's ordinal (the pod-index label)")

    # The config: the ConfigMap mounted where --config points.
    path = config_path_of(words)
    check(path == config_path, f"StatefulSet: --config {path}, the package's config is {config_path}")
    mount = next((m for m in container["volumeMounts"] if path and path.startswith(m["mountPath"].rstrip("/") + "/")), None)
    config_text = None
    if check(mount, f"StatefulSet: nothing is mounted where --config {path} is"):
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
        configmap = next((c for c in docs["ConfigMap"] if c["metadata"]["name"] == volume["configMap"]["name"]), None)
        key = os.path.basename(path)
        if check(configmap and key in configmap["data"], f"StatefulSet: ConfigMap {volume['configMap']['name']} has no {key}"):
            config_text = configmap["data"][key]
    if config_text is None:
        return
    config = yaml.safe_load(config_text)
    refs = env_references(config_text)

    # Environment: each variable is read by pgtenant, expanded by the config or used in the args.
    secrets = {s["metadata"]["name"]: s for s in load_all(os.path.join(directory, "secret.example.yaml"))}
    for name, entry in env.items():
        used = name in refs or f"$({name})" in " ".join(words) or (name.startswith("PGTENANT_") and binary.contains(name))
        check(used, f"StatefulSet: env {name} is read neither by pgtenant nor by its config nor its args")
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret = secrets.get(ref["name"])
            check(secret and ref["key"] in secret.get("stringData", {}),
                  f"StatefulSet: env {name} names Secret {ref['name']} key {ref['key']}, not in secret.example.yaml")
    for name, has_default in refs.items():
        check(has_default or name in env, f"ConfigMap: ${{{name}}} has no default and the StatefulSet does not set it")
    binary.check_config(config_text, {name: binary.verifier() for name, has_default in refs.items() if not has_default}, "ConfigMap pgtenant.yaml")
    readme.check_keys(config, "ConfigMap pgtenant.yaml")

    # peers: every pod by its DNS name under the headless Service, id = ordinal.
    expected = [{"id": i, "address": f"{statefulset['metadata']['name']}-{i}.{spec['serviceName']}:{config['listen']['port']}"}
                for i in range(spec["replicas"])]
    check(config.get("peers") == expected, f"ConfigMap: peers {config.get('peers')} are not {expected} (run ops/kubernetes/render-peers --write)")

    # Ports and probes.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    metrics = config.get("metrics", {})
    check(ports.get("postgres") == config["listen"]["port"], "StatefulSet: containerPort postgres is not listen.port")
    check(metrics and ports.get("metrics") == metrics["port"], "StatefulSet: containerPort metrics is not metrics.port")
    check(config["listen"]["address"] in ("0.0.0.0", "::") and metrics.get("address") in ("0.0.0.0", "::"),
          "ConfigMap: listen or metrics does not listen on every interface (probes and peers come from outside the pod)")
    for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        probe = container.get(probe_name, {}).get("httpGet", {})
        check(probe.get("path") == path, f"StatefulSet: {probe_name} does not ask {path}")
        check(binary.contains(path), f"StatefulSet: {probe_name} asks {path}, which the binary does not serve")
        check(probe.get("port") in ("metrics", metrics.get("port")), f"StatefulSet: {probe_name} is not on the metrics port")
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    shutdown = parse_duration_s(config.get("limits", {}).get("shutdown_timeout", "30s"))
    check(shutdown is not None and grace > shutdown + 1,
          f"StatefulSet: terminationGracePeriodSeconds {grace} leaves no time beyond limits.shutdown_timeout")

    services = {s["metadata"]["name"]: s for s in docs["Service"]}
    headless = services.get(spec["serviceName"])
    if check(headless and headless["spec"].get("clusterIP") == "None",
             f"StatefulSet: serviceName {spec['serviceName']} is not a headless Service"):
        check(headless["spec"].get("publishNotReadyAddresses") is True,
              "headless Service: a draining (not ready) pod must stay resolvable for forwarded cancels")
    for service in services.values():
        check(labels_match(service["spec"]["selector"], pod_labels), f"Service {service['metadata']['name']}: selector does not match the pods")
        for port in service["spec"]["ports"]:
            check(port["targetPort"] in ports, f"Service {service['metadata']['name']}: targetPort {port['targetPort']} is no container port")
    for pdb in docs["PodDisruptionBudget"]:
        check(labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels), "PodDisruptionBudget: selector does not match the pods")

    monitor = docs["ServiceMonitor"][0]
    scraped = [s for s in services.values() if labels_match(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
    check(len(scraped) == 1, f"ServiceMonitor selects {len(scraped)} Services, not one")
    for endpoint in monitor["spec"]["endpoints"]:
        for service in scraped:
            target = next((p for p in service["spec"]["ports"] if p["name"] == endpoint["port"]), None)
            check(target and target["targetPort"] == "metrics", f"ServiceMonitor: port {endpoint['port']} is not the metrics port")
        check(binary.contains(endpoint.get("path", "/metrics")), f"ServiceMonitor: the binary does not serve {endpoint.get('path')}")

    # The alert rules: one source, ops/prometheus/alerts.yml.
    alerts_path = os.path.join(source, "ops", "prometheus", "alerts.yml")
    if check(os.path.exists(alerts_path), "ops/prometheus/alerts.yml is missing (the PrometheusRule's source)"):
        with open(alerts_path) as f:
            alerts = yaml.safe_load(f)
        rules = docs.get("PrometheusRule", [])
        check(rules and rules[0]["spec"] == alerts,
              "prometheusrule.yaml differs from ops/prometheus/alerts.yml (run ops/kubernetes/render-prometheusrule)")
        # The job label a ServiceMonitor gives its targets is the Service's name (or its jobLabel's value):
        # an alert on up{job=~"..."} must match it, or "instance down" never fires.
        for service in scraped:
            job = service["metadata"]["labels"].get(monitor["spec"].get("jobLabel", ""), service["metadata"]["name"])
            for pattern in re.findall(r'job=~?"([^"]+)"', yaml.safe_dump(alerts)):
                check(re.fullmatch(pattern, job), f"alerts.yml selects job {pattern!r}, the ServiceMonitor's job is {job!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    source = args.source
    binary = Binary(args.binary)
    check("--config" in binary.flags and "--instance-id" in binary.flags, f"`pgtenant --help` lists no --config/--instance-id: {binary.help!r}")
    readme = Readme(os.path.join(source, "README.md"))
    check(re.search(r"^## Deploying", readme.text, re.M), "README has no Deploying section")
    with open(os.path.join(source, "CMakeLists.txt")) as f:
        version = re.search(r"project\(pgtenant VERSION (\S+)", f.read()).group(1)

    signals = check_man_page(binary, source)
    binary_path, config_path = check_unit(binary, source)
    uid = check_dockerfile(binary, readme, source, binary_path, config_path)
    check_kubernetes(binary, readme, source, config_path, uid, version)

    for message in failures:
        print("FAIL:", message)
    if failures:
        sys.exit(1)
    print(f"OK: flags {sorted(binary.flags)}, signals {sorted(signals)}, Dockerfile, systemd unit, "
          f"ops/kubernetes ({len(os.listdir(os.path.join(source, 'ops', 'kubernetes')))} files) agree with the binary, "
          f"the config loader and the README")


if __name__ == "__main__":
    main()
