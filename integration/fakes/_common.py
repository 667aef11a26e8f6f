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


# --- Flags as the real CLIs parse them -------------------------------------------------------
#
# Each fake declares the flags its real tool defines for the subcommands it models, in a table
# taken from that tool's source (cited next to each table), and `check_flags` refuses any other
# flag as the tool does. A table is a dict: command path ("" for the root, "cluster create") to a
# spec string of its local flags; the root's persistent flags are passed apart. In a spec each
# flag is `name[/shorthand][suffix]`: no suffix a bool (pflag NoOptDefVal "true"), `=` a flag
# that takes a value, `?` one whose value is optional (NoOptDefVal set, e.g. helm 4's `--wait`).
#
# Parsing is spf13/pflag v1.0.5's (flag.go parseArgs/parseLongArg/parseSingleShortArg; later
# versions to v1.0.10 word the errors the same): `--name=v`, `--name v`, `-x v`, `-xv`, `-x=v`,
# grouped bool shorthands `-ab`, `--` ends the flags, flags and arguments interspersed. The
# command is found as spf13/cobra (v1.8.0-v1.10.2) command.go Find/stripFlags does it: the
# first word that is not a flag or a flag's value names the subcommand, level by level; with
# `traverse` (docker's root sets TraverseChildren) Traverse: flags before a subcommand's name
# belong to that level only (docker's global options must come before the subcommand). cobra
# adds `-h/--help` to every command (InitDefaultHelpFlag).


class FlagError(Exception):
    pass


def parse_spec(spec):
    """{long name: (shorthand, kind)}, kind one of bool / value / optional."""
    out = {}
    for tok in spec.split():
        kind = {"=": "value", "?": "optional"}.get(tok[-1], "bool")
        tok = tok.rstrip("=?")
        name, _, short = tok.partition("/")
        out[name] = (short, kind)
    return out


def _by_short(flags, c):
    return next((n for n, (s, _) in flags.items() if s == c), None)


def _takes_next(flags, arg):
    """cobra stripFlags: does this flag (with no `=value`) consume the next argument?"""
    if arg.startswith("--"):
        f = flags.get(arg[2:])
        return f is not None and f[1] == "value"
    n = _by_short(flags, arg[1:2])
    return len(arg) == 2 and n is not None and flags[n][1] == "value"


def _pflag_parse(flags, args):
    """pflag parseArgs over args: the positional arguments, or FlagError with pflag's words."""
    positional = []
    i = 0
    while i < len(args):
        s = args[i]
        i += 1
        if len(s) < 2 or s[0] != "-":
            positional.append(s)
            continue
        if s == "--":
            positional.extend(args[i:])
            break
        if s[1] == "-":
            name = s[2:]
            if not name or name[0] in "-=":
                raise FlagError(f"bad flag syntax: {s}")
            name, eq, value = name.partition("=")
            if name not in flags:
                raise FlagError(f"unknown flag: --{name}")
            kind = flags[name][1]
            if eq:
                _check_bool(name, flags[name], value)
            elif kind == "value":
                if i >= len(args):
                    raise FlagError(f"flag needs an argument: {s}")
                i += 1
            continue
        shorts = s[1:]
        while shorts:
            c = shorts[0]
            name = _by_short(flags, c)
            if name is None:
                raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
            kind = flags[name][1]
            if len(shorts) > 2 and shorts[1] == "=":
                _check_bool(name, flags[name], shorts[2:])
                shorts = ""
            elif kind != "value":
                shorts = shorts[1:]
            elif len(shorts) > 1:
                shorts = ""
            elif i < len(args):
                i += 1
                shorts = ""
            else:
                raise FlagError(f"flag needs an argument: '{c}' in -{shorts}")
    return positional


def _check_bool(name, flag, value):
    # pflag's boolValue.Set is strconv.ParseBool; the error names the flag as FlagUsages does.
    if flag[1] == "bool" and value not in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
        shown = f"-{flag[0]}, --{name}" if flag[0] else f"--{name}"
        raise FlagError(f'invalid argument "{value}" for "{shown}" flag: '
                        f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _find(table, persistent, args, traverse):
    """(command path, the arguments its flag set parses), as cobra Find / Traverse do."""
    path, rest = "", list(args)
    inherited = parse_spec(persistent)
    while True:
        here = {**inherited, **parse_spec(table.get(path, "")), "help": ("h", "bool")}
        if traverse:
            # cobra Traverse: this level's flags up to the first word that names a subcommand.
            j, in_flag = 0, False
            while j < len(rest):
                a = rest[j]
                if in_flag:
                    in_flag = False
                elif a.startswith("-") and "=" not in a and len(a) > 1:
                    in_flag = _takes_next(here, a)
                else:
                    break
                j += 1
            sub = f"{path} {rest[j]}".strip() if j < len(rest) else None
            if sub is None or sub not in table:
                return path, rest, here
            _pflag_parse(here, rest[:j])
            path, rest = sub, rest[j + 1:]
            continue
        j, skip = 0, False
        word = None
        while j < len(rest):
            a = rest[j]
            if skip:
                skip = False
            elif a == "--":
                break
            elif a.startswith("-") and len(a) > 1:
                skip = "=" not in a and _takes_next(here, a)
            else:
                word = j
                break
            j += 1
        sub = f"{path} {rest[word]}".strip() if word is not None else None
        if sub is None or sub not in table:
            return path, rest, here
        path, rest = sub, rest[:word] + rest[word + 1:]


def check_flags(argv, table, persistent="", traverse=False):
    """(the command path argv names, None, its positional arguments), or (path, the FlagError
    the real tool's parser would raise, None); (None, None, None) when argv names a command the
    table does not model (the fake then says it is unsupported). `-h/--help` is refused as not
    modelled: a fake does not print help."""
    try:
        path, rest, flags = _find(table, persistent, argv, traverse)
    except FlagError as e:
        return "", e, None
    if path not in table:
        return None, None, None
    try:
        positional = _pflag_parse(flags, rest)
    except FlagError as e:
        return path, e, None
    if any(a in ("-h", "--help") or a.startswith("--help=") for a in rest):
        sys.stderr.write(f"fake: help is not modelled: {argv}\n")
        sys.exit(64)
    return path, None, positional


def usage(tool, path, table, persistent, use, traverse=False):
    """The head of cobra's usage template (command.go defaultUsageTemplate): the use line and
    the flag names; the flags' descriptions and defaults are left out (not modelled)."""
    fmt = lambda fl: "\n".join(  # noqa: E731
        f"  {'-' + s + ', ' if s else '    '}--{n}" for n, (s, _) in sorted(fl.items()))
    local = {**parse_spec(table.get(path, "")), "help": ("h", "bool")}
    out = f"Usage:\n  {tool} {use}\n\nFlags:\n{fmt(local)}"
    if persistent and not traverse:
        out += f"\n\nGlobal Flags:\n{fmt(parse_spec(persistent))}"
    return out + "\n"
