#!/usr/bin/env python3
"""The EKS token check, as a TokenReview webhook for the real kube-apiserver of the tests.

Usage: eks_authenticator.py --sts URL --admin-account ACCOUNT --credentials FILE [--cluster-id NAME]
       [--access-entries URL] [--log FILE]
Prints `PORT n` once it listens on 127.0.0.1:n (POST /authenticate takes a TokenReview).

A stand-in for aws-iam-authenticator, which an EKS control plane runs for bearer tokens
`k8s-aws-v1.…`. Its checks are taken, rule by rule, from kubernetes-sigs/aws-iam-authenticator
v0.7.18 (commit 81b1dab), pkg/token/token.go `tokenVerifier.Verify`: token at most 4 KiB, the
prefix, base64url without padding, an https URL on an STS host of the aws partition, path "/",
only the whitelisted query parameters each once, Action=GetCallerIdentity, `x-k8s-aws-id` among
the signed headers, 0 <= X-Amz-Expires <= 900, X-Amz-Date no older than 15 minutes. It then
GETs the presigned URL (with `x-k8s-aws-id` and `accept: application/json`, as the
authenticator does) — here from moto (--sts), keeping the STS Host header the URL was signed
for — and maps the caller as pkg/server/server.go does: username the caller's ARN, uid
`aws-iam-authenticator:<account>:<user id>`, the `arn`/`accessKeyId`/`principalId` extras.

moto does not check SigV4 signatures, so the signature is checked here before the URL goes to
moto, as STS checks it (AWS's "Signature Version 4" documentation: "Create a canonical request",
"Create a string to sign", "Calculate the signature", and "Authenticating requests: using query
parameters"): the canonical request of the GET with the URL's query (all but X-Amz-Signature,
RFC 3986-encoded, sorted), the signed headers as the authenticator sends them — `host` and the
`x-k8s-aws-id` of *this* cluster (--cluster-id), so a token made for another cluster fails — and
the hash of the empty body; the key derived from the secret of the access key the credential
names (--credentials: a JSON file `{access key id: secret}` the harness writes, read at each
check). A mismatch is STS's 403 `SignatureDoesNotMatch`, an unknown key its 403
`InvalidClientTokenId`, reported as the authenticator reports a non-200 answer from STS.

What is not real: authorization is reduced to cluster admin or nothing: with --access-entries URL (the moto
stand-in's GET /_alpaka/access-entries), a caller is put in system:masters only when the cluster
has an access entry for its principal (an assumed role's session matched to the role by account
and name, as the EKS access entry of an IAM role covers its sessions) with
AmazonEKSClusterAdminPolicy at cluster scope, as EKS grants; without it, a caller of
--admin-account is (the creator's bootstrap entry). Anyone else is authenticated with no groups
(RBAC then refuses it).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import re
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

PREFIX = "k8s-aws-v1."
MAX_TOKEN = 4 * 1024
WHITELIST = {
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
    "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders",
}
# sts.amazonaws.com (global) or sts.<region>.amazonaws.com; the aws partition only.
STS_HOST = re.compile(r"^sts(\.([a-z]{2}(-gov)?-[a-z]+-\d))?\.amazonaws\.com$")


class Refused(Exception):
    pass


def sts_error(code, message):
    """STS's 403 answer (its XML error shape), as aws-iam-authenticator reports one."""
    body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender'
            f'</Type><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>')
    return Refused(f"error from AWS (expected 200, got 403). Body: {body.encode()!r}")


def _uri_encode(s):
    return urllib.parse.quote(s, safe="-_.~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_signature(u, lower, cluster_header, credentials):
    """The SigV4 query-string signature of the presigned URL, as STS checks it (module doc)."""
    with open(credentials, encoding="utf-8") as f:
        secrets = json.load(f)
    key_id, _, scope = lower.get("x-amz-credential", "").partition("/")
    secret = secrets.get(key_id)
    if secret is None:
        raise sts_error("InvalidClientTokenId",
                        "The security token included in the request is invalid.")
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)
             if k != "X-Amz-Signature"]
    query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}"
                     for k, v in sorted((_uri_encode(k), v) for k, v in pairs))
    # The headers the authenticator sends to STS; any other signed header cannot match.
    sent = {"host": u.netloc, "x-k8s-aws-id": cluster_header}
    signed = lower.get("x-amz-signedheaders", "").split(";")
    headers = "".join(f"{h}:{sent.get(h, '')}\n" for h in signed)
    canonical = "\n".join(["GET", u.path or "/", query, headers, ";".join(signed),
                           hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", lower.get("x-amz-date", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, lower.get("x-amz-signature", "")):
        raise sts_error("SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your AWS Secret Access Key and signing method. Consult "
                        "the service documentation for details.")


def verify(token, sts, cluster_header, credentials):
    if len(token) > MAX_TOKEN:
        raise Refused("token is too large")
    if not token.startswith(PREFIX):
        raise Refused(f"token is missing expected {PREFIX!r} prefix")
    raw = token[len(PREFIX):]
    if "=" in raw:
        raise Refused("illegal base64 data (padding)")
    try:
        url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except Exception as e:  # noqa: BLE001 - any decoding failure is a format error
        raise Refused(str(e))
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https":
        raise Refused(f"unexpected scheme {u.scheme!r} in pre-signed URL")
    if not STS_HOST.match(u.netloc):
        raise Refused(f"could not parse region for pre-signed URL {u.netloc}")
    if u.path != "/":
        raise Refused("unexpected path in pre-signed URL")
    params = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    lower = {}
    for k, v in params.items():
        if k.lower() not in WHITELIST:
            raise Refused(f"non-whitelisted query parameter {k!r}")
        if len(v) != 1 or k.lower() in lower:
            raise Refused("query parameter with multiple values not supported")
        lower[k.lower()] = v[0]
    if lower.get("action") != "GetCallerIdentity":
        raise Refused("unexpected action parameter in pre-signed URL")
    if "x-k8s-aws-id" not in lower.get("x-amz-signedheaders", "").split(";"):
        raise Refused("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    try:
        expires = int(lower.get("x-amz-expires", ""))
    except ValueError:
        expires = -1
    if not 0 <= expires <= 900:
        raise Refused(f"invalid X-Amz-Expires parameter in pre-signed URL: {expires}")
    if not lower.get("x-amz-date"):
        raise Refused("X-Amz-Date parameter must be present in pre-signed URL")
    date = datetime.datetime.strptime(lower["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc)
    if datetime.datetime.now(datetime.timezone.utc) > date + datetime.timedelta(minutes=15):
        raise Refused(f"X-Amz-Date parameter is expired (15 minute expiration) {date}")

    check_signature(u, lower, cluster_header, credentials)
    req = urllib.request.Request(
        sts.rstrip("/") + "/?" + u.query,
        headers={"Host": u.netloc, "x-k8s-aws-id": cluster_header,
                 "accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        raise Refused(f"error from AWS (expected 200, got {e.code}). Body: {e.read()[:300]!r}")
    return caller(body, lower["x-amz-credential"].split("/")[0])


def caller(body, access_key):
    """Account, ARN, user id from STS's answer (JSON when STS honours `accept`; moto answers XML)."""
    try:
        r = json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
        return r["Account"], r["Arn"], r["UserId"], access_key
    except (ValueError, KeyError):
        pass
    root = ET.fromstring(body)
    get = lambda tag: next(e.text for e in root.iter() if e.tag.endswith("}" + tag) or e.tag == tag)
    return get("Account"), get("Arn"), get("UserId"), access_key


ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def covers(entry_arn, caller_arn):
    """Does the access entry of `entry_arn` (an IAM role or user) cover the caller?"""
    if entry_arn == caller_arn:
        return True
    m = re.match(r"^arn:aws:sts::(\d+):assumed-role/([^/]+)/", caller_arn)
    e = re.match(r"^arn:aws:iam::(\d+):role/(?:.*/)?([^/]+)$", entry_arn)
    return bool(m and e and m.groups() == e.groups())


def is_admin(args, account, arn):
    if not args.access_entries:
        return account == args.admin_account
    with urllib.request.urlopen(args.access_entries + "/_alpaka/access-entries") as r:
        entries = json.loads(r.read())
    return any(e["cluster"] == args.cluster_id and covers(e["principalArn"], arn)
               and [ADMIN_POLICY, "cluster"] in e["policies"] for e in entries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sts", required=True)
    ap.add_argument("--admin-account", required=True)
    ap.add_argument("--cluster-id", default="")
    ap.add_argument("--access-entries")
    ap.add_argument("--credentials", required=True,
                    help="JSON file {access key id: secret access key}, read at each check")
    ap.add_argument("--log")
    args = ap.parse_args()

    def log(line):
        if args.log:
            with open(args.log, "a") as f:
                f.write(line + "\n")

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            token = review.get("spec", {}).get("token", "")
            out = {"apiVersion": review.get("apiVersion", "authentication.k8s.io/v1"),
                   "kind": "TokenReview"}
            try:
                account, arn, user_id, key = verify(token, args.sts, args.cluster_id, args.credentials)
            except Refused as e:
                log(f"REFUSED {e}")
                out["status"] = {"authenticated": False, "error": str(e)}
                self._send(403, out)
                return
            except Exception as e:  # noqa: BLE001 - STS unreachable or answering nonsense
                log(f"ERROR {type(e).__name__}: {e}")
                out["status"] = {"authenticated": False, "error": f"STS: {e}"}
                self._send(500, out)
                return
            groups = ["system:masters"] if is_admin(args, account, arn) else []
            log(f"ALLOWED {arn} groups={','.join(groups)}")
            out["status"] = {"authenticated": True, "user": {
                "username": arn,
                "uid": f"aws-iam-authenticator:{account}:{user_id}",
                "groups": groups,
                "extra": {"arn": [arn], "accessKeyId": [key], "principalId": [user_id]},
            }}
            self._send(200, out)

        def _send(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(f"PORT {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
