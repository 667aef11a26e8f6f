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


def _read(path):
    """The object at path, or None if it is gone: another fake process (a parallel step of the
    same apply) may remove it between listing and reading. Writes are atomic (`save`), so what is
    read is always whole — as the real tools' stores (release Secrets, k3d's docker state) are."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def load_all(tool):
    d = state_dir(tool)
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            obj = _read(os.path.join(d, name))
            if obj is not None:
                out.append(obj)
    return out


def load(tool, name):
    return _read(os.path.join(state_dir(tool), name + ".json"))


def save(tool, name, obj):
    path = os.path.join(state_dir(tool), name + ".json")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def remove(tool, name):
    try:
        os.remove(os.path.join(state_dir(tool), name + ".json"))
        return True
    except FileNotFoundError:
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
