"""Shared by the recording fakes in this directory.

Every fake appends one line per call to $ALPAKA_FAKE_LOG: `[ENV=VALUE ...] tool arg arg ...`
(the env vars a tool reads that the test asserts, e.g. K3D_FIX_DNS), and keeps its state as
JSON files under $ALPAKA_FAKE_STATE/<tool>/. Scripted failures: $ALPAKA_FAKE_FAIL="tool verb"
(e.g. "minikube start") makes that call exit 1 with a message on stderr.
"""
import json
import os
import sys


def record(tool, argv, env_keys=()):
    log = os.environ.get("ALPAKA_FAKE_LOG")
    if log:
        env = [f"{k}={os.environ[k]}" for k in env_keys if k in os.environ]
        with open(log, "a", encoding="utf-8") as f:
            f.write(" ".join(env + [tool] + argv) + "\n")
    fail = os.environ.get("ALPAKA_FAKE_FAIL", "")
    if fail and " ".join([tool] + argv).startswith(fail):
        sys.stderr.write(f"{tool}: scripted failure ({fail})\nsomething went wrong\n")
        sys.exit(1)


def state_dir(tool):
    d = os.path.join(os.environ.get("ALPAKA_FAKE_STATE", "/tmp/alpaka-fake-state"), tool)
    os.makedirs(d, exist_ok=True)
    return d


def load_all(tool):
    d = state_dir(tool)
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                out.append(json.load(f))
    return out


def load(tool, name):
    p = os.path.join(state_dir(tool), name + ".json")
    if not os.path.exists(p):
        return None
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def save(tool, name, obj):
    with open(os.path.join(state_dir(tool), name + ".json"), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)


def remove(tool, name):
    p = os.path.join(state_dir(tool), name + ".json")
    if os.path.exists(p):
        os.remove(p)
        return True
    return False


def flag(argv, name, default=None):
    """Value of `--name=v`, `--name v` (last wins)."""
    val = default
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            val = argv[i + 1]
        elif a.startswith(name + "="):
            val = a.split("=", 1)[1]
    return val


def flags(argv, name):
    """Every value of a repeated flag."""
    out = []
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif a.startswith(name + "="):
            out.append(a.split("=", 1)[1])
    return out
