#!/usr/bin/env python3
"""Validates Kubernetes manifests (core, apps, batch, rbac v1) against the models of the official
Kubernetes Python client (PyPI `kubernetes`), which is generated from the Kubernetes OpenAPI spec:
an independent check of what alpaka builds with k8s-openapi.

Usage: k8s_validate.py < manifests.json   (a JSON array of manifests)
Prints one line per problem (`<kind>/<name>: $.path: message`) and exits 1 if there is any;
prints `OK <n>` and exits 0 otherwise.

Checked: every field name exists in the model (the API server would drop an unknown field),
each value has the model's type (str/int/bool, lists, maps, nested objects), and the model's
required fields are present (the client's own constructor validation).
NOT checked: value formats (quantities, DNS names), enum values, cross-field rules and
admission — what only a real API server knows.
"""
import json
import sys

import kubernetes.client as k

PRIMITIVE = {"str": str, "bool": bool, "float": (int, float)}


def model_name(manifest):
    version = manifest.get("apiVersion", "").rsplit("/", 1)[-1]
    return version[:1].upper() + version[1:] + manifest.get("kind", "")


def walk(value, typ, path, errors):
    if typ.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, v in enumerate(value):
            walk(v, typ[5:-1], f"{path}[{i}]", errors)
    elif typ.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        inner = typ[typ.index(",") + 1:-1].strip()
        for key, v in value.items():
            walk(v, inner, f"{path}.{key}", errors)
    elif typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer, got {value!r}")
    elif typ in PRIMITIVE:
        if not isinstance(value, PRIMITIVE[typ]):
            errors.append(f"{path}: expected {typ}, got {value!r}")
    elif typ in ("object", "datetime", "date"):
        pass
    else:
        cls = getattr(k, typ, None)
        if cls is None:
            errors.append(f"{path}: no model {typ}")
            return
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object ({typ}), got {type(value).__name__}")
            return
        by_json = {j: attr for attr, j in cls.attribute_map.items()}
        for key, v in value.items():
            attr = by_json.get(key)
            if attr is None:
                errors.append(f"{path}.{key}: unknown field of {typ}")
            else:
                walk(v, cls.openapi_types[attr], f"{path}.{key}", errors)


def main():
    manifests = json.load(sys.stdin)
    api = k.ApiClient()
    problems = []
    for m in manifests:
        name = f"{m.get('kind')}/{m.get('metadata', {}).get('name')}"
        typ = model_name(m)
        errors = []
        walk(m, typ, "$", errors)
        if not errors:
            try:
                # The generated constructors refuse a missing required field.
                api._ApiClient__deserialize(m, typ)
            except (ValueError, TypeError) as e:
                errors.append(f"$: {e}")
        problems += [f"{name}: {e}" for e in errors]
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"OK {len(manifests)}")


if __name__ == "__main__":
    main()
