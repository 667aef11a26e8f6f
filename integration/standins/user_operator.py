"""A stand-in for Strimzi's User Operator against a real Kafka broker: takes a KafkaUser
(`kafka.strimzi.io/v1`, as alpaka renders it) and makes, logged in as a super user (alpaka-admin),
the user's SCRAM-SHA-512 credential and exactly its ACLs; returns (and optionally writes) the
Secret the User Operator would write.

What it copies from Strimzi (strimzi/strimzi-kafka-operator 1.2.0, commit
6c7b43c4af0db547c10463ba09d1dfa6f5e156a0), read, not copied:
- the principal is `User:<metadata.name>`: KafkaUserModel.getScramUserName returns the name as is,
  and SimpleAclOperator builds `new KafkaPrincipal("User", username)`;
- each `spec.authorization.acls[]` rule becomes one Kafka ACL binding per operation
  (user-operator/.../model/acl/SimpleAclRule.java `fromCrd`, `toKafkaAclBinding`):
  * resource (SimpleAclRuleResource.java `fromCrd`, `toKafkaResourcePattern`): `topic` -> TOPIC,
    `group` -> GROUP, `transactionalId` -> TRANSACTIONAL_ID, each with its `name` and
    `patternType` `literal` -> LITERAL (the default, api/.../AclRuleTopicResource.java) or
    `prefix` -> PREFIXED; `cluster` -> CLUSTER named `kafka-cluster`, LITERAL (no name);
  * `type`: `allow` (the default, api/.../AclRule.java) -> ALLOW, `deny` -> DENY;
  * `host`: as given, default `*` (AclRule.java);
  * `operations[]` (api/.../StrimziAclOperation.java): Read, Write, Create, Delete, Alter,
    Describe, ClusterAction, AlterConfigs, DescribeConfigs, IdempotentWrite, All -> the Kafka
    AclOperation of the same name;
- "exactly its ACLs": SimpleAclOperator.internalUpdate deletes the user's current bindings that
  are not desired and creates the desired ones that are missing; a user without
  `spec.authorization` ends with none;
- SCRAM (ScramCredentialsOperator.java): SCRAM-SHA-512, 4096 iterations; the password is the
  existing Secret's if there is one, else generated, 32 characters, the first a letter, the rest
  letters and digits (KafkaUserModel.maybeGeneratePassword, UserOperatorConfig
  STRIMZI_SCRAM_SHA_PASSWORD_LENGTH default 32, operator-common PasswordGenerator);
- the Secret, named after the user, keys `password` and `sasl.jaas.config`
  (`org.apache.kafka.common.security.scram.ScramLoginModule required username="…"
  password="…";`, KafkaUserModel.KEY_PASSWORD, KEY_SASL_JAAS_CONFIG, getSaslJsonConfig).

It refuses (raises Refused, exits 2) what it does not understand instead of skipping it: another
apiVersion or kind, authentication other than scram-sha-512, authorization other than simple,
a resource type, pattern type, rule type or operation outside the lists above, a spec field it
does not handle (quotas, template…).

Library: `admin_client(bootstrap, properties_path)`, `acl_bindings(user)`,
`apply_kafka_user(admin, user, secrets_dir=None)`, `delete_kafka_user(admin, name)`,
`current_acls(admin, name)`.
CLI:
  user_operator.py --bootstrap HOST:PORT --admin-config FILE apply [--secrets-dir DIR] FILE...
      FILE: one KafkaUser or a JSON list of them ("-": stdin). With --secrets-dir the Secret goes
      to DIR/<namespace>/<name>/{password,sasl.jaas.config} (dirs 700, files 600), and a
      password already there is kept.
  user_operator.py --bootstrap HOST:PORT --admin-config FILE acls NAME    (the bindings, JSON)
  user_operator.py --bootstrap HOST:PORT --admin-config FILE delete NAME
The admin config is librdkafka properties (`key=value` lines, e.g. cluster.sh's
DIR/secrets/admin-librdkafka.properties). Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
from typing import Any

from confluent_kafka import KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

API_VERSIONS = {"kafka.strimzi.io/v1", "kafka.strimzi.io/v1beta2"}
TIMEOUT = 30

# Strimzi resource type -> Kafka resource type (librdkafka names the cluster resource BROKER).
RESOURCE_TYPES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.BROKER,
    "transactionalId": ResourceType.TRANSACTIONAL_ID,
}
PATTERN_TYPES = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}
RULE_TYPES = {"allow": AclPermissionType.ALLOW, "deny": AclPermissionType.DENY}
OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "ClusterAction": AclOperation.CLUSTER_ACTION,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
    "All": AclOperation.ALL,
}
CLUSTER_NAME = "kafka-cluster"
SCRAM_ITERATIONS = 4096
PASSWORD_LENGTH = 32


class Refused(ValueError):
    """A KafkaUser this stand-in does not understand."""


def admin_client(bootstrap: str, properties_path: str) -> AdminClient:
    conf: dict[str, str] = {}
    with open(properties_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    conf["bootstrap.servers"] = bootstrap
    failures: list[str] = []

    def on_error(err: Any) -> None:
        # librdkafka retries a failed login forever; the admin's login failing is final here.
        if err.code() == KafkaError._AUTHENTICATION:
            failures.append(err.str())

    conf["error_cb"] = on_error  # type: ignore[assignment]
    admin = AdminClient(conf)
    try:
        admin.list_topics(timeout=15)
    except Exception as e:  # noqa: BLE001 - reported with the login failure below, if any
        failures.append(str(e))
    if failures:
        raise RuntimeError(f"cannot log in to {bootstrap} as the admin: {failures[0]}")
    return admin


def principal(name: str) -> str:
    return f"User:{name}"


def _check_user(user: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if user.get("apiVersion") not in API_VERSIONS or user.get("kind") != "KafkaUser":
        raise Refused(f"not a KafkaUser of {sorted(API_VERSIONS)}: {user.get('apiVersion')}/{user.get('kind')}")
    name = (user.get("metadata") or {}).get("name")
    if not name:
        raise Refused("KafkaUser without metadata.name")
    spec = user.get("spec") or {}
    unknown = set(spec) - {"authentication", "authorization"}
    if unknown:
        raise Refused(f"KafkaUser {name}: spec fields this stand-in does not handle: {sorted(unknown)}")
    auth = (spec.get("authentication") or {}).get("type")
    if auth != "scram-sha-512":
        raise Refused(f"KafkaUser {name}: authentication {auth!r}; only scram-sha-512 is handled")
    return name, spec


def acl_bindings(user: dict[str, Any]) -> set[AclBinding]:
    """The Kafka ACL bindings Strimzi's User Operator makes for `user` (see the module doc)."""
    name, spec = _check_user(user)
    authz = spec.get("authorization")
    if authz is None:
        return set()
    if authz.get("type") != "simple":
        raise Refused(f"KafkaUser {name}: authorization {authz.get('type')!r}; only simple is handled")
    unknown = set(authz) - {"type", "acls"}
    if unknown:
        raise Refused(f"KafkaUser {name}: authorization fields not handled: {sorted(unknown)}")
    out: set[AclBinding] = set()
    for i, rule in enumerate(authz.get("acls") or []):
        where = f"KafkaUser {name}: acls[{i}]"
        unknown = set(rule) - {"type", "resource", "host", "operations"}
        if unknown:
            raise Refused(f"{where}: fields not handled: {sorted(unknown)}")
        resource = rule.get("resource") or {}
        rtype = resource.get("type")
        if rtype not in RESOURCE_TYPES:
            raise Refused(f"{where}: resource type {rtype!r} not one of {sorted(RESOURCE_TYPES)}")
        unknown = set(resource) - {"type", "name", "patternType"}
        if unknown:
            raise Refused(f"{where}: resource fields not handled: {sorted(unknown)}")
        if rtype == "cluster":
            rname, pattern = CLUSTER_NAME, ResourcePatternType.LITERAL
        else:
            rname = resource.get("name")
            if not rname:
                raise Refused(f"{where}: a {rtype} resource needs a name")
            ptype = resource.get("patternType", "literal")
            if ptype not in PATTERN_TYPES:
                raise Refused(f"{where}: patternType {ptype!r} not one of {sorted(PATTERN_TYPES)}")
            pattern = PATTERN_TYPES[ptype]
        kind = rule.get("type", "allow")
        if kind not in RULE_TYPES:
            raise Refused(f"{where}: type {kind!r} not one of {sorted(RULE_TYPES)}")
        host = rule.get("host", "*")
        ops = rule.get("operations")
        if not ops:
            # The v1 CRD requires operations; an empty list would silently grant nothing.
            raise Refused(f"{where}: no operations")
        for op in ops:
            if op not in OPERATIONS:
                raise Refused(f"{where}: operation {op!r} not one of {sorted(OPERATIONS)}")
            out.add(
                AclBinding(
                    RESOURCE_TYPES[rtype], rname, pattern, principal(name), host, OPERATIONS[op], RULE_TYPES[kind]
                )
            )
    return out


def current_acls(admin: AdminClient, name: str) -> set[AclBinding]:
    f = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, principal(name), None, AclOperation.ANY, AclPermissionType.ANY
    )
    return set(admin.describe_acls(f, request_timeout=TIMEOUT).result(timeout=TIMEOUT))


def _filter(b: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
    )


def _sync_acls(admin: AdminClient, name: str, desired: set[AclBinding]) -> tuple[int, int]:
    current = current_acls(admin, name)
    stale, missing = current - desired, desired - current
    if stale:
        for fut in admin.delete_acls([_filter(b) for b in stale], request_timeout=TIMEOUT).values():
            fut.result(timeout=TIMEOUT)
    if missing:
        for fut in admin.create_acls(list(missing), request_timeout=TIMEOUT).values():
            fut.result(timeout=TIMEOUT)
    return len(missing), len(stale)


def _generate_password() -> str:
    first = string.ascii_letters
    rest = string.ascii_letters + string.digits
    return secrets.choice(first) + "".join(secrets.choice(rest) for _ in range(PASSWORD_LENGTH - 1))


def jaas_config(name: str, password: str) -> str:
    return f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{name}" password="{password}";'


def _write_private(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _claim_password(path: str) -> str:
    """The user's password: the one already in `path`, or a new one put there before it is used.
    Stand-ins reconciling the same user at once (parallel tests on one broker) must agree on one
    password: written only after the broker took it, the last writer's would replace a password
    another stand-in had just handed out in its Secret. The claim is atomic (link fails if taken)."""
    tmp = f"{path}.new-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(_generate_password())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, encoding="utf-8") as f:
        return f.read()


def apply_kafka_user(admin: AdminClient, user: dict[str, Any], secrets_dir: str | None = None) -> dict[str, str]:
    """Reconciles `user` in the broker and returns its Secret's data (`password`,
    `sasl.jaas.config`). Everything is checked before anything is changed."""
    name, _ = _check_user(user)
    desired = acl_bindings(user)
    secret_dir = None
    password = None
    if secrets_dir is not None:
        ns = (user.get("metadata") or {}).get("namespace") or "default"
        secret_dir = os.path.join(secrets_dir, ns, name)
        os.makedirs(secret_dir, mode=0o700, exist_ok=True)
        password = _claim_password(os.path.join(secret_dir, "password"))
    if password is None:
        password = _generate_password()
    upsert = UserScramCredentialUpsertion(
        name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), password.encode("ascii")
    )
    for fut in admin.alter_user_scram_credentials([upsert], request_timeout=TIMEOUT).values():
        fut.result(timeout=TIMEOUT)
    created, deleted = _sync_acls(admin, name, desired)
    data = {"password": password, "sasl.jaas.config": jaas_config(name, password)}
    if secret_dir is not None:
        for key, value in data.items():
            _write_private(os.path.join(secret_dir, key), value)
    print(f"KafkaUser {name}: SCRAM-SHA-512 set, {len(desired)} ACL bindings (+{created} -{deleted})", file=sys.stderr)
    return data


def delete_kafka_user(admin: AdminClient, name: str) -> None:
    """What the User Operator does when a KafkaUser goes: its ACLs and credential go."""
    _sync_acls(admin, name, set())
    deletion = UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512)
    for fut in admin.alter_user_scram_credentials([deletion], request_timeout=TIMEOUT).values():
        try:
            fut.result(timeout=TIMEOUT)
        except Exception as e:  # noqa: BLE001 - a user without a credential is already gone
            if "RESOURCE_NOT_FOUND" not in str(e):
                raise


def binding_json(b: AclBinding) -> dict[str, str]:
    return {
        "resourceType": b.restype.name,
        "name": b.name,
        "patternType": b.resource_pattern_type.name,
        "principal": b.principal,
        "host": b.host,
        "operation": b.operation.name,
        "permission": b.permission_type.name,
    }


def _load(paths: list[str]) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    for p in paths:
        doc = json.load(sys.stdin) if p == "-" else json.load(open(p, encoding="utf-8"))
        users.extend(doc if isinstance(doc, list) else [doc])
    return users


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--admin-config", required=True, help="librdkafka properties of a super user")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("apply")
    a.add_argument("--secrets-dir")
    a.add_argument("files", nargs="+")
    sub.add_parser("acls").add_argument("name")
    sub.add_parser("delete").add_argument("name")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "apply":
            users = _load(args.files)
            for u in users:  # refuse before touching the broker
                acl_bindings(u)
            admin = admin_client(args.bootstrap, args.admin_config)
            for u in users:
                apply_kafka_user(admin, u, args.secrets_dir)
        elif args.cmd == "acls":
            admin = admin_client(args.bootstrap, args.admin_config)
            rows = sorted((binding_json(b) for b in current_acls(admin, args.name)), key=json.dumps)
            print(json.dumps(rows, indent=1))
        else:
            delete_kafka_user(admin_client(args.bootstrap, args.admin_config), args.name)
    except Refused as e:
        print(f"user_operator: refused: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"user_operator: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
