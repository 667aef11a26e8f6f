#!/usr/bin/env python3
"""moto server, extended for alpaka's tests.

Usage: moto_eks.py HOST PORT

What it adds to moto 5.2 (and why; each is named in the tests that rely on it):
  * The EKS add-on API (CreateAddon, DescribeAddon, ListAddons, UpdateAddon, DeleteAddon):
    moto answers HTTP 404 for all of them. Add-ons here are ACTIVE at once, like everything in
    moto; the cluster must exist in moto's EKS backend.
  * Add-on versions (DescribeAddonVersions, GET /addons/supported-versions?addonName=&
    kubernetesVersion=; shapes from botocore's EKS model 2017-11-01: `AddonInfo` {addonName,
    type, addonVersions: [{addonVersion, architecture, compatibilities: [{clusterVersion,
    platformVersions, defaultVersion}]}], publisher, owner}). The version strings are the stand-
    in's own, visibly so (`v0.<minor>.<2|1|0>-standin.1`: three per Kubernetes minor, newest
    first, the middle one the default for
    it); real ones come from EKS. CreateAddon without a version takes the default for the
    cluster's version, and CreateAddon/UpdateAddon refuse a version not compatible with it
    (InvalidParameterException), as EKS does.
  * Kubernetes version updates (UpdateClusterVersion, UpdateNodegroupVersion, DescribeUpdate):
    moto has none. Request and answer shapes are botocore's EKS service model (2017-11-01:
    `Update` {id, status, type, params, createdAt, errors}; POST /clusters/{name}/updates,
    POST /clusters/{name}/node-groups/{ng}/update-version, GET /clusters/{name}/updates/{id}).
    The refusals are EKS's documented ones (Amazon EKS User Guide, "Update existing cluster to
    new Kubernetes version": one minor version at a time, no downgrade; a node group's version
    may not pass its cluster's): InvalidParameterException for a step that is not exactly one
    minor up (cluster) or not the cluster's version (nodegroup), ResourceInUseException while
    another update of the cluster is InProgress. An update is InProgress for its first two
    DescribeUpdate calls, then Successful, and only then does the version change: a client
    that does not wait on DescribeUpdate is refused its next step, as by EKS.
  * The control plane's settings (botocore's EKS model 2017-11-01 for every shape): CreateCluster
    keeps `accessConfig` (moto drops it) and fills what EKS fills when a request leaves it out
    (`VpcConfigRequest` docs: public access on, private off, publicAccessCidrs 0.0.0.0/0;
    `CreateAccessConfigRequest.bootstrapClusterCreatorAdminPermissions` true), and refuses
    public and private access both off (InvalidParameterException). UpdateClusterConfig (POST
    /clusters/{name}/update-config; moto's answers `{"cluster": …}` and replaces the whole VPC
    config) answers `{"update": Update}` of type EndpointAccessUpdate or LoggingUpdate, applied
    when the update turns Successful (as version updates below), and refuses what EKS refuses:
    more than one kind of change in one call ("Only one type of update can be allowed.",
    InvalidParameterException: kubernetes-sigs/cluster-api-provider-aws#3553, boto/boto3#2592),
    a call while another update of the cluster is InProgress (ResourceInUseException,
    cloud-custodian/cloud-custodian#9250), a change to what the cluster already has
    (InvalidParameterException, boto/boto3#2592), both endpoints off. AssociateEncryptionConfig
    (POST /clusters/{name}/encryption-config/associate) adds `encryptionConfig` the same way and
    refuses a cluster that has one (InvalidRequestException; EKS cannot change or remove it).
  * Access entries (CreateAccessEntry, DescribeAccessEntry, ListAccessEntries, DeleteAccessEntry,
    AssociateAccessPolicy, ListAssociatedAccessPolicies, DisassociateAccessPolicy, and
    TagResource on an entry's ARN): moto has none. Paths and shapes from the same model
    (`AccessEntry`, `AssociatedAccessPolicy`, `AccessScope`); the principal ARN is a URI label,
    percent-encoded by the SDKs, so these are routed on the raw request URI. Refused as by EKS:
    a second entry for a principal (ResourceInUseException), a principal that is an STS session
    or no IAM role/user of the account (InvalidParameterException; the model's `principalArn`
    docs), a cluster whose authentication mode is CONFIG_MAP (InvalidRequestException), a policy
    that is no EKS access policy (InvalidParameterException). The messages are the stand-in's.
  * Add-on configuration (botocore's EKS model 2017-11-01: CreateAddon/UpdateAddon
    `configurationValues`, a string "validated against the schema returned by
    DescribeAddonConfiguration"; errors InvalidParameterException): a value that is not a JSON
    object is refused with InvalidParameterException, as EKS refuses what fails the schema;
    DescribeAddon returns it as sent.
  * Taking over a self-managed add-on: EKS runs vpc-cni, kube-proxy and coredns self-managed on
    every cluster. CreateAddon of one of those with `configurationValues` and without
    `resolveConflicts: OVERWRITE` (`NONE` is the default: "If the self-managed version of the
    add-on is installed on your cluster, Amazon EKS doesn't change the value. Creation of the
    add-on might fail."; EKS API Reference, CreateAddon) ends CREATE_FAILED with the health
    issue `ConfigurationConflict` (`AddonIssueCode`), as EKS does when the configuration
    changes a field the self-managed one set.
  * Launch templates on nodegroups: moto's CreateNodegroup keeps `launchTemplate` and refuses it
    with `diskSize` (moto's own `validate_launch_template_combination`, as EKS: "If you specify
    launchTemplate, then don't specify diskSize"). UpdateNodegroupVersion with `launchTemplate`
    {id|name, version} (EKS API Reference, UpdateNodegroupVersion: "You can only update a node
    group using a launch template if the node group was originally deployed with a launch
    template. When updating, you must specify the same launch template ID or name that was used
    to create the node group.") is refused with InvalidParameterException for a nodegroup made
    without one, another template, or a version EC2 (moto) does not have; once the update is
    Successful, DescribeNodegroup reports the new version (update params `LaunchTemplateName`,
    `LaunchTemplateVersion`, botocore's `UpdateParamType`). Without `version` the nodegroup keeps
    its Kubernetes version (same reference: "If no version is specified, then the Kubernetes
    version of the node group does not change").
  * GET /_alpaka/access-entries: every access entry and its policies, for eks_authenticator.py.
  * A call log: every request's service and operation, in order, at GET /_alpaka/calls
    (POST /_alpaka/calls/reset empties it).
  * With ALPAKA_STANDIN_EKS_ENDPOINT=URL in its environment, every EKS cluster it makes has that
    endpoint (moto's is a fixed fake hostname) and a CA that is a real certificate (moto's is
    random text, which no Kubernetes client accepts): ALPAKA_STANDIN_EKS_CA_FILE's PEM, or a
    self-signed one. A test points it at its real control plane (integration/controlplane/), so
    the kubeconfig alpaka writes from DescribeCluster reaches it.
  * Injected AWS errors (`POST /_alpaka/faults`, a list of {service, action, code, message,
    times} rules): a matching call is refused before moto sees it, in the service's error wire
    shape (see `_fault_response`), so the tests can show what real AWS does and moto does not
    (EKS refusing a role IAM has not propagated yet, DependencyViolation while ENIs drain).
  * Failing after the effect (a fault rule with "after": true): the matching call is made
    (moto carries it out, its idempotency token is remembered), then its answer is lost: a 5xx
    in the service's wire shape (the rule's code/status, else that service's server error
    from KINDS), or with "drop": true the connection is closed with no answer. AWS does both
    now and then; a client that sends a create without a token again makes a second one.
  * Idempotency tokens honoured (see TOKENS): EC2 ClientToken and EKS clientRequestToken.
  * A kill point (a fault rule with "hang_after": true): the matching call is passed to moto and
    takes effect, then its answer is held (the call is logged with "hung": true) until the next
    POST /_alpaka/faults. A test SIGKILLs the client meanwhile: the crash right after an AWS
    create call and before the client could record what it made.
  * Short pages (`POST /_alpaka/pages {"size": N}`; 0, the default, is moto's one page): moto
    answers every EC2 Describe* and EKS List* call whole, ignoring MaxResults. AWS may answer
    any of them in pages, a `nextToken` leading to the next (EC2 API Reference, "Pagination";
    EKS API Reference, ListClusters/ListNodegroups/ListAddons `nextToken`). With a size set,
    the stand-in asks moto for everything and answers N items a page, the item set of EC2's XML
    (`subnetSet`, `routeTableSet`, …) or the list of EKS's JSON cut to the page, with
    `nextToken` (the offset) while more follow: a client that reads only the first page misses
    the rest, as it would on AWS. The same for IAM's List* calls (`IsTruncated`/`Marker`),
    ELBv2's DescribeLoadBalancers/DescribeTargetGroups (`NextMarker`) and EKS
    DescribeAddonVersions (`addons`, `nextToken`): see QUERY_LISTS and EKS_LISTS.
  * S3 GetBucketVersioning in S3's documented shape, `<VersioningConfiguration>` (moto 5.2's
    root element, `<GetBucketVersioningResponse>`, is one no SDK but boto3 accepts).
moto does not raise every DependencyViolation real AWS raises, so destroy ordering is asserted
on the calls made, not on moto refusing.
Everything else is moto unchanged (moto's own /moto-api/ endpoints included).
"""
import html
import io
import json
import random
import uuid
import re
import sys
import threading
import time
import urllib.parse

import base64
import datetime
import os

import moto.eks.exceptions as eks_exceptions
import moto.eks.models as eks_models
import moto.eks.responses as eks_responses
import moto.eks.urls as eks_urls
from moto.core import DEFAULT_ACCOUNT_ID
from moto.eks.models import eks_backends
from moto.iam.models import iam_backends

PARTITION = "aws"
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

ADDONS = {}  # (region, cluster, addon) -> dict
ACCESS = {}  # (region, cluster, principal ARN) -> {"entry": AccessEntry, "policies": {arn: AssociatedAccessPolicy}}
UPDATES = {}  # update id -> {"region", "cluster", "nodegroup", "version", "polls", "update"}
LOCK = threading.Lock()
CALLS = []
RELEASE = threading.Event()  # set by POST /_alpaka/faults: held answers go


def _region(headers):
    auth = headers.get("Authorization", "") or headers.get("authorization", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth)
    return m.group(1) if m else "us-east-1"


def _error(status, code, message):
    return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, json.dumps(
        {"message": message}
    )


def _ok(body):
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def _cluster(region, name):
    backend = eks_backends[DEFAULT_ACCOUNT_ID][region]
    return backend.clusters.get(name)


def _addon_versions(k8s):
    """The stand-in's add-on versions for a Kubernetes minor, newest first as EKS lists them
    (see the module doc): three, of which the middle one is the default."""
    m = _minor(k8s)[1]
    return [f"v0.{m}.{patch}-standin.1" for patch in (2, 1, 0)]


def _addon_version(k8s):
    """The default add-on version for a Kubernetes minor: not the newest (EKS's default often
    is not: `defaultVersion` marks it, Amazon EKS API Reference, `Compatibility`)."""
    return _addon_versions(k8s)[1]


def addon_versions_handler(request, full_url, headers):
    """DescribeAddonVersions: for every minor from 1.28 to 1.36, three versions newest first,
    each compatible with its own minor only, the middle one its default."""
    q = urllib.parse.parse_qs(urllib.parse.urlparse(full_url).query)
    name = q.get("addonName", ["aws-ebs-csi-driver"])[0]
    wanted = q.get("kubernetesVersion", [None])[0]
    minors = [f"1.{m}" for m in range(28, 37)]
    versions = [{"addonVersion": v, "architecture": ["amd64", "arm64"],
                 "computeTypes": ["ec2"],
                 "compatibilities": [{"clusterVersion": k, "platformVersions": ["*"],
                                      "defaultVersion": v == _addon_version(k)}],
                 "requiresConfiguration": False}
                for k in reversed(minors) if wanted is None or k == wanted
                for v in _addon_versions(k)]
    return _ok({"addons": [{"addonName": name, "type": "storage", "addonVersions": versions,
                            "publisher": "eks", "owner": "aws"}]})


def _compatible(version, cluster_version):
    return version in _addon_versions(cluster_version)


# What EKS installs self-managed on every cluster (Amazon EKS User Guide, "Amazon EKS add-ons":
# vpc-cni, kube-proxy and coredns are installed on a new cluster unless it opts out).
SELF_MANAGED = ("vpc-cni", "kube-proxy", "coredns")


def _bad_configuration(body):
    """InvalidParameterException for a configurationValues that is not a JSON object."""
    raw = body.get("configurationValues")
    if raw is None:
        return None
    try:
        ok = isinstance(json.loads(raw), dict)
    except ValueError:
        ok = False
    if ok:
        return None
    return _error(400, "InvalidParameterException",
                  "ConfigurationValue provided in request is not supported: Json schema "
                  "validation failed with error: [$: string found, object expected]")


def _view(a):
    return {"addon": a}


def addons_handler(request, full_url, headers):
    """/clusters/{name}/addons and /clusters/{name}/addons/{addon}[/update]"""
    path = urllib.parse.urlparse(full_url).path
    m = re.match(r".*/clusters/([^/]+)/addons(?:/([^/]+))?(/update)?$", path)
    if not m:
        return _error(404, "ResourceNotFoundException", "no such path")
    cluster, addon, update = m.group(1), m.group(2), m.group(3)
    region = _region(headers)
    if _cluster(region, cluster) is None:
        return _error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    method = request.method
    body = {}
    raw = request.data if hasattr(request, "data") else request.body
    if raw:
        body = json.loads(raw)
    with LOCK:
        if addon is None and method == "POST":
            name = body["addonName"]
            key = (region, cluster, name)
            if key in ADDONS:
                return _error(409, "ResourceInUseException", f"Addon already exists: {name}")
            bad = _bad_configuration(body)
            if bad:
                return bad
            k8s = _cluster(region, cluster).version
            version = body.get("addonVersion") or _addon_version(k8s)
            if not _compatible(version, k8s):
                return _error(400, "InvalidParameterException",
                              f"Addon version {version} is not supported for Kubernetes {k8s}")
            a = {
                "addonName": name,
                "clusterName": cluster,
                "status": "ACTIVE",
                "addonVersion": version,
                "addonArn": f"arn:aws:eks:{region}:{DEFAULT_ACCOUNT_ID}:addon/{cluster}/{name}/stand-in",
                "createdAt": time.time(),
                "modifiedAt": time.time(),
                "tags": body.get("tags", {}),
            }
            if body.get("serviceAccountRoleArn"):
                a["serviceAccountRoleArn"] = body["serviceAccountRoleArn"]
            if body.get("configurationValues"):
                a["configurationValues"] = body["configurationValues"]
                if name in SELF_MANAGED and body.get("resolveConflicts") != "OVERWRITE":
                    a["status"] = "CREATE_FAILED"
                    a["health"] = {"issues": [{
                        "code": "ConfigurationConflict",
                        "message": "Conflicts found when trying to apply. Will not continue due "
                                   "to resolve conflicts mode. Conflicts: DaemonSet.apps "
                                   f"{name} - the self-managed add-on's configuration",
                        "resourceIds": [name]}]}
            ADDONS[key] = a
            return _ok(_view(a))
        if addon is None:
            names = [k[2] for k in ADDONS if k[0] == region and k[1] == cluster]
            return _ok({"addons": names})
        key = (region, cluster, addon)
        a = ADDONS.get(key)
        if a is None:
            return _error(404, "ResourceNotFoundException", f"No addon: {addon} found in cluster: {cluster}")
        if update and method == "POST":
            bad = _bad_configuration(body)
            if bad:
                return bad
            k8s = _cluster(region, cluster).version
            if body.get("addonVersion") and not _compatible(body["addonVersion"], k8s):
                return _error(400, "InvalidParameterException",
                              f"Addon version {body['addonVersion']} is not supported for "
                              f"Kubernetes {k8s}")
            for k in ("serviceAccountRoleArn", "configurationValues", "addonVersion"):
                if k in body:
                    a[k] = body[k]
            a["modifiedAt"] = time.time()
            return _ok({"update": {"id": "stand-in", "status": "Successful", "type": "AddonUpdate"}})
        if method == "DELETE":
            del ADDONS[key]
            return _ok(_view(a))
        return _ok(_view(a))


def _minor(v):
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


def _in_progress(region, cluster):
    return any(u["region"] == region and u["cluster"] == cluster
               and u["update"]["status"] == "InProgress" for u in UPDATES.values())


def updates_handler(request, full_url, headers):
    """UpdateClusterVersion, UpdateNodegroupVersion, DescribeUpdate."""
    parsed = urllib.parse.urlparse(full_url)
    region = _region(headers)
    raw = request.data if hasattr(request, "data") else request.body
    body = json.loads(raw) if raw else {}
    m = re.match(r".*/clusters/([^/]+)/(?:updates(?:/([^/]+))?|node-groups/([^/]+)/update-version)$",
                 parsed.path)
    if not m:
        return _error(404, "ResourceNotFoundException", "no such path")
    cluster_name, update_id, nodegroup = m.group(1), m.group(2), m.group(3)
    cluster = _cluster(region, cluster_name)
    if cluster is None:
        return _error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster_name}.")
    with LOCK:
        if update_id is not None:
            u = UPDATES.get(update_id)
            if u is None or u["cluster"] != cluster_name:
                return _error(404, "ResourceNotFoundException", f"No update found for ID: {update_id}.")
            u["polls"] += 1
            if u["update"]["status"] == "InProgress" and u["polls"] > 2:
                u["update"]["status"] = "Successful"
                if u.get("apply"):
                    u["apply"](cluster)
                elif u["nodegroup"]:
                    ng = cluster.nodegroups[u["nodegroup"]]
                    ng.version = u["version"]
                    if u.get("launch_template_version"):
                        ng.launch_template["version"] = str(u["launch_template_version"])
                else:
                    cluster.version = u["version"]
            return _ok({"update": u["update"]})
        version = body.get("version", "")
        if _in_progress(region, cluster_name):
            return _error(409, "ResourceInUseException",
                          f"Cluster {cluster_name} has an update in progress.")
        if nodegroup is None:
            if _minor(version)[0] != _minor(cluster.version)[0] or \
                    _minor(version)[1] != _minor(cluster.version)[1] + 1:
                return _error(400, "InvalidParameterException",
                              f"Unsupported Kubernetes minor version update from "
                              f"{cluster.version} to {version}")
            params = [{"type": "Version", "value": version},
                      {"type": "PlatformVersion", "value": "eks.1"}]
        else:
            if nodegroup not in cluster.nodegroups:
                return _error(404, "ResourceNotFoundException", f"No node group found for name: {nodegroup}.")
            if version and version != cluster.version:
                return _error(400, "InvalidParameterException",
                              f"Requested Nodegroup Kubernetes version {version} does not match "
                              f"cluster version {cluster.version}")
            ng = cluster.nodegroups[nodegroup]
            template = body.get("launchTemplate")
            if template:
                refused = _template_refused(region, ng, template)
                if refused:
                    return _error(400, "InvalidParameterException", refused)
            version = version or ng.version
            params = [{"type": "Version", "value": version},
                      {"type": "ReleaseVersion", "value": f"{version}.0-stand-in"}]
            if template:
                params += [{"type": "LaunchTemplateName", "value": ng.launch_template["name"]},
                           {"type": "LaunchTemplateVersion", "value": str(template["version"])}]
        uid = str(uuid.uuid4())
        UPDATES[uid] = {"region": region, "cluster": cluster_name, "nodegroup": nodegroup,
                        "version": version, "polls": 0,
                        "launch_template_version": (body.get("launchTemplate") or {}).get("version")
                        if nodegroup else None,
                        "update": {"id": uid, "status": "InProgress", "type": "VersionUpdate",
                                   "params": params, "createdAt": time.time(), "errors": []}}
        return _ok({"update": UPDATES[uid]["update"]})


def _template_refused(region, ng, template):
    """Why EKS refuses UpdateNodegroupVersion's `launchTemplate` for nodegroup `ng`, or None."""
    have = ng.launch_template or {}
    if not have.get("id"):
        return ("You cannot specify a launch template for a node group that was not created "
                "with a launch template.")
    if (template.get("id") and template["id"] != have["id"]) or \
            (template.get("name") and template["name"] != have.get("name")):
        return ("You must specify the same launch template ID or name that was used to create "
                "the node group.")
    from moto.ec2.models import ec2_backends
    try:
        lt = ec2_backends[DEFAULT_ACCOUNT_ID][region].get_launch_template(have["id"])
        lt.get_version(str(template.get("version", "$Default")))
    except Exception:  # noqa: BLE001 - moto's own not-found errors
        return f"Launch template version {template.get('version')} does not exist."
    return None


def _self_signed_ca():
    """A real self-signed CA certificate, PEM, base64 (as EKS reports certificateAuthority)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


ENDPOINT = os.environ.get("ALPAKA_STANDIN_EKS_ENDPOINT")
if ENDPOINT:
    # ALPAKA_STANDIN_EKS_CA_FILE: the PEM CA of the API server at ENDPOINT (the tests' real
    # control plane), reported as EKS reports it: base64 of the PEM.
    _ca_file = os.environ.get("ALPAKA_STANDIN_EKS_CA_FILE")
    if _ca_file:
        with open(_ca_file, "rb") as f:
            _CA = base64.b64encode(f.read()).decode()
    else:
        _CA = _self_signed_ca()
    _init = eks_models.Cluster.__init__

    def _cluster_init(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.endpoint = ENDPOINT
        self.certificate_authority = {"data": _CA}

    eks_models.Cluster.__init__ = _cluster_init


def _body(request):
    raw = request.data if hasattr(request, "data") else request.body
    return json.loads(raw) if raw else {}


LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def _enabled_logs(logging):
    on = set()
    for setup in (logging or {}).get("clusterLogging", []):
        for t in setup.get("types", []):
            if setup.get("enabled"):
                on.add(t)
            else:
                on.discard(t)
    return on


def _logging_shape(on):
    """As EKS reports `logging`: the enabled types in one LogSetup, the others in another."""
    setups = []
    if on:
        setups.append({"types": [t for t in LOG_TYPES if t in on], "enabled": True})
    if set(LOG_TYPES) - on:
        setups.append({"types": [t for t in LOG_TYPES if t not in on], "enabled": False})
    return {"clusterLogging": setups}


_create_cluster = eks_responses.EKSResponse.create_cluster


def _create_cluster_checked(self):
    vpc = self._get_param("resourcesVpcConfig") or {}
    public = vpc.get("endpointPublicAccess", True)
    private = vpc.get("endpointPrivateAccess", False)
    if not public and not private:
        raise eks_exceptions.InvalidParameterException(
            "Either public or private endpoint access must be enabled.")
    for t in (self._get_param("logging") or {}).get("clusterLogging", []):
        for typ in t.get("types", []):
            if typ not in LOG_TYPES:
                raise eks_exceptions.InvalidParameterException(f"Unknown log type {typ}")
    access = self._get_param("accessConfig") or {}
    result = _create_cluster(self)
    cluster = _cluster(self.region, self._get_param("name"))
    if cluster is not None:
        cluster.resources_vpc_config = dict(
            cluster.resources_vpc_config or {}, endpointPublicAccess=public,
            endpointPrivateAccess=private,
            publicAccessCidrs=vpc.get("publicAccessCidrs") or ["0.0.0.0/0"])
        cluster.logging = _logging_shape(_enabled_logs(self._get_param("logging")))
        cluster.access_config = {
            "authenticationMode": access.get("authenticationMode", "API_AND_CONFIG_MAP"),
            "bootstrapClusterCreatorAdminPermissions":
                access.get("bootstrapClusterCreatorAdminPermissions", True),
        }
    return result


eks_responses.EKSResponse.create_cluster = _create_cluster_checked

_delete_cluster = eks_models.EKSBackend.delete_cluster


def _delete_cluster_and_entries(self, name, *args, **kwargs):
    """A cluster's access entries go with it (they are sub-resources of the cluster)."""
    result = _delete_cluster(self, name, *args, **kwargs)
    with LOCK:
        for key in [k for k in ACCESS if k[0] == self.region_name and k[1] == name]:
            del ACCESS[key]
    return result


eks_models.EKSBackend.delete_cluster = _delete_cluster_and_entries


def _new_update(region, cluster_name, typ, params, apply):
    uid = str(uuid.uuid4())
    UPDATES[uid] = {"region": region, "cluster": cluster_name, "nodegroup": None,
                    "version": None, "polls": 0, "apply": apply,
                    "update": {"id": uid, "status": "InProgress", "type": typ,
                               "params": params, "createdAt": time.time(), "errors": []}}
    return _ok({"update": UPDATES[uid]["update"]})


# UpdateClusterConfig members, each its own kind of update (botocore `UpdateClusterConfigRequest`).
CONFIG_KINDS = ["resourcesVpcConfig", "logging", "accessConfig", "upgradePolicy",
                "zonalShiftConfig", "computeConfig", "kubernetesNetworkConfig", "storageConfig",
                "remoteNetworkConfig", "deletionProtection", "controlPlaneScalingConfig"]


def update_config_handler(request, full_url, headers):
    """UpdateClusterConfig: endpoint access or logging, one kind per call (see the module doc)."""
    region = _region(headers)
    m = re.match(r".*/clusters/([^/]+)/update-config$", urllib.parse.urlparse(full_url).path)
    name = m.group(1)
    cluster = _cluster(region, name)
    if cluster is None:
        return _error(404, "ResourceNotFoundException", f"No cluster found for name: {name}.")
    body = _body(request)
    kinds = [k for k in CONFIG_KINDS if k in body]
    if len(kinds) != 1:
        return _error(400, "InvalidParameterException", "Only one type of update can be allowed.")
    kind = kinds[0]
    with LOCK:
        if _in_progress(region, name):
            typ = "LoggingUpdate" if kind == "logging" else "EndpointAccessUpdate"
            return _error(409, "ResourceInUseException",
                          f"Cannot {typ} because cluster {name} currently has update in progress")
        if kind == "resourcesVpcConfig":
            cur = cluster.resources_vpc_config
            want = body["resourcesVpcConfig"]
            if "subnetIds" in want or "securityGroupIds" in want:
                return _error(400, "InvalidParameterException",
                              "the stand-in models endpoint access updates only")
            public = want.get("endpointPublicAccess", cur.get("endpointPublicAccess", True))
            private = want.get("endpointPrivateAccess", cur.get("endpointPrivateAccess", False))
            cidrs = want.get("publicAccessCidrs", cur.get("publicAccessCidrs", ["0.0.0.0/0"]))
            if not public and not private:
                return _error(400, "InvalidParameterException",
                              "Either public or private endpoint access must be enabled.")
            if (public, private, sorted(cidrs)) == (cur.get("endpointPublicAccess"),
                                                    cur.get("endpointPrivateAccess"),
                                                    sorted(cur.get("publicAccessCidrs", []))):
                return _error(400, "InvalidParameterException",
                              f"Cluster is already at the desired configuration with "
                              f"endpointPrivateAccess: {str(private).lower()} , "
                              f"endpointPublicAccess: {str(public).lower()}, and Public "
                              f"Endpoint Restrictions: {cidrs}")

            def apply(c, public=public, private=private, cidrs=cidrs):
                c.resources_vpc_config = dict(c.resources_vpc_config, endpointPublicAccess=public,
                                              endpointPrivateAccess=private,
                                              publicAccessCidrs=cidrs)

            params = [{"type": "EndpointPublicAccess", "value": str(public).lower()},
                      {"type": "EndpointPrivateAccess", "value": str(private).lower()},
                      {"type": "PublicAccessCidrs", "value": json.dumps(cidrs)}]
            return _new_update(region, name, "EndpointAccessUpdate", params, apply)
        if kind == "logging":
            have = _enabled_logs(cluster.logging)
            want = set(have)
            for setup in body["logging"].get("clusterLogging", []):
                for t in setup.get("types", []):
                    if t not in LOG_TYPES:
                        return _error(400, "InvalidParameterException", f"Unknown log type {t}")
                    (want.add if setup.get("enabled") else want.discard)(t)
            if want == have:
                return _error(400, "InvalidParameterException",
                              "No changes needed for the logging config provided")

            def apply(c, want=want):
                c.logging = _logging_shape(want)

            params = [{"type": "ClusterLogging", "value": json.dumps(body["logging"])}]
            return _new_update(region, name, "LoggingUpdate", params, apply)
        return _error(400, "InvalidParameterException", f"the stand-in does not model {kind}")


def encryption_handler(request, full_url, headers):
    """AssociateEncryptionConfig (see the module doc)."""
    region = _region(headers)
    m = re.match(r".*/clusters/([^/]+)/encryption-config/associate$",
                 urllib.parse.urlparse(full_url).path)
    name = m.group(1)
    cluster = _cluster(region, name)
    if cluster is None:
        return _error(404, "ResourceNotFoundException", f"No cluster found for name: {name}.")
    config = _body(request).get("encryptionConfig") or []
    with LOCK:
        if _in_progress(region, name):
            return _error(409, "ResourceInUseException",
                          f"Cannot AssociateEncryptionConfig because cluster {name} currently "
                          f"has update in progress")
        if cluster.encryption_config:
            return _error(400, "InvalidRequestException",
                          "Encryption is already enabled on the cluster")
        for c in config:
            key = (c.get("provider") or {}).get("keyArn", "")
            # `resources` is deprecated in the model (EKS encrypts all API data); [secrets] or
            # nothing.
            if c.get("resources", ["secrets"]) != ["secrets"] or ":kms:" not in key:
                return _error(400, "InvalidParameterException",
                              "encryptionConfig takes a KMS key ARN (and resources [secrets])")

        def apply(cl, config=config):
            cl.encryption_config = config

        params = [{"type": "EncryptionConfig", "value": json.dumps(config)}]
        return _new_update(region, name, "AssociateEncryptionConfig", params, apply)


def _iam_principals():
    backend = iam_backends[DEFAULT_ACCOUNT_ID][PARTITION]
    return ({r.arn for r in backend.roles.values()} | {u.arn for u in backend.users.values()})


def _entry_arn(region, cluster, principal):
    kind_name = principal.split(":", 5)[5]
    return (f"arn:aws:eks:{region}:{DEFAULT_ACCOUNT_ID}:access-entry/{cluster}/"
            f"{kind_name.split('/')[0]}/{DEFAULT_ACCOUNT_ID}/{kind_name.split('/')[-1]}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, principal)}")


def access_entries(environ, body):
    """The access-entry API on the raw URI (see the module doc): (status, headers, body), or
    None when the path is not one of it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path = urllib.parse.urlparse(raw).path
    tag = re.match(r"^/tags/(.+)$", path)
    if tag:
        arn = urllib.parse.unquote(tag.group(1))
        with LOCK:
            for a in ACCESS.values():
                if a["entry"]["accessEntryArn"] == arn:
                    if environ.get("REQUEST_METHOD") == "POST":
                        a["entry"]["tags"].update(json.loads(body or b"{}").get("tags", {}))
                    elif environ.get("REQUEST_METHOD") == "DELETE":
                        q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                        for k in q.get("tagKeys", []):
                            a["entry"]["tags"].pop(k, None)
                    return _ok({"tags": a["entry"]["tags"]}) if environ.get(
                        "REQUEST_METHOD") == "GET" else _ok({})
        return None
    m = re.match(r"^/clusters/([^/]+)/access-entries(?:/([^/]+))?(/access-policies(?:/([^/]+))?)?$",
                 path)
    if not m:
        return None
    cluster_name = urllib.parse.unquote(m.group(1))
    principal = urllib.parse.unquote(m.group(2)) if m.group(2) else None
    policies, policy = m.group(3), urllib.parse.unquote(m.group(4)) if m.group(4) else None
    method = environ.get("REQUEST_METHOD")
    region = _region({"Authorization": environ.get("HTTP_AUTHORIZATION", "")})
    cluster = _cluster(region, cluster_name)
    if cluster is None:
        return _error(404, "ResourceNotFoundException",
                      f"No cluster found for name: {cluster_name}.")
    req = json.loads(body) if body else {}
    with LOCK:
        if principal is None and method == "POST":
            mode = getattr(cluster, "access_config", {}).get("authenticationMode", "CONFIG_MAP")
            if mode not in ("API", "API_AND_CONFIG_MAP"):
                return _error(400, "InvalidRequestException",
                              "The cluster's authentication mode must be set to one of "
                              "[API, API_AND_CONFIG_MAP] to perform this operation.")
            arn = req.get("principalArn", "")
            if ":sts:" in arn:
                return _error(400, "InvalidParameterException",
                              f"The specified principalArn {arn} is an STS session: access "
                              f"entries name IAM principals.")
            if arn not in _iam_principals():
                return _error(400, "InvalidParameterException",
                              f"The specified principalArn is invalid: {arn} is no IAM role "
                              f"or user of this account.")
            key = (region, cluster_name, arn)
            if key in ACCESS:
                return _error(409, "ResourceInUseException",
                              f"The specified access entry resource is already in use on this "
                              f"cluster.")
            now = time.time()
            entry = {"clusterName": cluster_name, "principalArn": arn,
                     "kubernetesGroups": req.get("kubernetesGroups", []),
                     "accessEntryArn": _entry_arn(region, cluster_name, arn),
                     "createdAt": now, "modifiedAt": now, "tags": req.get("tags", {}),
                     "username": arn, "type": req.get("type", "STANDARD")}
            ACCESS[key] = {"entry": entry, "policies": {}}
            return _ok({"accessEntry": entry})
        if principal is None:
            # Short pages when set, as the EKS List* calls above (module doc).
            items = [k[2] for k in ACCESS if k[0] == region and k[1] == cluster_name]
            q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            offset = int(q.get("nextToken", ["0"])[0] or 0)
            size = PAGE["size"] or len(items) or 1
            page = {"accessEntries": items[offset:offset + size]}
            if offset + size < len(items):
                page["nextToken"] = str(offset + size)
            return _ok(page)
        key = (region, cluster_name, principal)
        a = ACCESS.get(key)
        if a is None:
            return _error(404, "ResourceNotFoundException",
                          f"The specified principalArn could not be found: {principal}")
        if not policies:
            if method == "DELETE":
                del ACCESS[key]
                return _ok({})
            return _ok({"accessEntry": a["entry"]})
        if method == "POST":
            arn = req.get("policyArn", "")
            if not arn.startswith("arn:aws:eks::aws:cluster-access-policy/"):
                return _error(400, "InvalidParameterException",
                              f"{arn} is not an EKS access policy")
            scope = req.get("accessScope") or {}
            if scope.get("type") not in ("cluster", "namespace"):
                return _error(400, "InvalidParameterException", "accessScope.type is required")
            now = time.time()
            assoc = {"policyArn": arn, "accessScope": scope,
                     "associatedAt": a["policies"].get(arn, {}).get("associatedAt", now),
                     "modifiedAt": now}
            a["policies"][arn] = assoc
            return _ok({"clusterName": cluster_name, "principalArn": principal,
                        "associatedAccessPolicy": assoc})
        if method == "DELETE" and policy:
            if a["policies"].pop(policy, None) is None:
                return _error(404, "ResourceNotFoundException",
                              f"The policy {policy} is not associated with {principal}")
            return _ok({})
        return _ok({"clusterName": cluster_name, "principalArn": principal,
                    "associatedAccessPolicies": list(a["policies"].values())})


eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/update-config$"] = update_config_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/encryption-config/associate$"] = encryption_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates$"] = updates_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = updates_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$"] = updates_handler
eks_urls.url_paths["{0}/addons/supported-versions$"] = addon_versions_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons$"] = addons_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$"] = addons_handler
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$"] = addons_handler


def _operation(environ, body):
    """Service and operation of one request, as the SDK sent it."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", auth)
    service = m.group(1) if m else "?"
    action = None
    if body:
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = form.get("Action", [None])[0]
        except Exception:  # noqa: BLE001 - a log must never break a request
            action = None
    target = environ.get("HTTP_X_AMZ_TARGET")
    if action is None and target:
        action = target.split(".")[-1]
    if action is None:
        action = environ.get("REQUEST_METHOD", "?") + " " + environ.get("PATH_INFO", "")
    ident = ""
    if body:
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            for k in ("VpcId", "SubnetId", "InternetGatewayId", "RouteTableId", "NatGatewayId",
                      "AllocationId", "RoleName", "PolicyArn", "LoadBalancerArn", "GroupId",
                      "OpenIDConnectProviderArn"):
                if k in form:
                    ident = form[k][0]
                    break
        except Exception:  # noqa: BLE001
            pass
    return service, action, ident


def _route_presigned(environ):
    """A presigned (query-signed) request, as the EKS authenticator sends STS GetCallerIdentity:
    moto routes a request by its Authorization header's credential scope and, without one,
    takes it for S3. Give it the header the query's X-Amz-Credential/SignedHeaders/Signature
    stand for (real STS accepts either form; moto checks no signature either way)."""
    if environ.get("HTTP_AUTHORIZATION"):
        return
    q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    cred = q.get("X-Amz-Credential", [None])[0]
    if not cred:
        return
    environ["HTTP_AUTHORIZATION"] = (
        f"AWS4-HMAC-SHA256 Credential={cred}, "
        f"SignedHeaders={q.get('X-Amz-SignedHeaders', [''])[0]}, "
        f"Signature={q.get('X-Amz-Signature', [''])[0]}"
    )


def _versioning_shape(app, environ, start_response):
    """GetBucketVersioning: moto 5.2 answers `<GetBucketVersioningResponse>` (empty when the
    bucket never had versioning, else with `<Status>`); S3 answers `<VersioningConfiguration>`,
    empty or with `<Status>`/`<MfaDelete>` (Amazon S3 API Reference, GetBucketVersioning,
    "Response Syntax"), and the Rust SDK refuses any other root element. Put S3's shape back."""
    status, headers, body = _whole(app, environ)
    if b"<GetBucketVersioningResponse" in body and b"<Status>" not in body:
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
    else:
        # Versioning on (or suspended): same root element, with <Status> (and <MfaDelete>).
        body = body.replace(b"<GetBucketVersioningResponse", b"<VersioningConfiguration")
        body = body.replace(b"</GetBucketVersioningResponse>", b"</VersioningConfiguration>")
    return _answer(start_response, status, headers, body)


PAGE = {"size": 0}
# Paginated EC2 calls and the element holding their items (EC2 API Reference, each call's
# "Response Elements").
EC2_ITEM_SETS = {
    "DescribeSubnets": "subnetSet",
    "DescribeRouteTables": "routeTableSet",
    "DescribeVpcs": "vpcSet",
    "DescribeInternetGateways": "internetGatewaySet",
    "DescribeNatGateways": "natGatewaySet",
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeVolumes": "volumeSet",
    "DescribeLaunchTemplates": "launchTemplates",
    "DescribeNetworkInterfaces": "networkInterfaceSet",
}
# EKS List* paths and the member holding their items (botocore's EKS model, each operation's
# paginator `result_key`; DescribeAddonVersions pages over `addons`).
EKS_LISTS = [(re.compile(r"^/clusters$"), "clusters"),
             (re.compile(r"^/clusters/[^/]+/node-groups$"), "nodegroups"),
             (re.compile(r"^/clusters/[^/]+/addons$"), "addons"),
             (re.compile(r"^/addons/supported-versions$"), "addons")]
# Paginated IAM and ELBv2 (awsQuery) calls and the element holding their items as `member`s
# (IAM API Reference, each List* call: request `Marker`/`MaxItems`, response `IsTruncated`,
# `Marker`; Elastic Load Balancing API Reference, DescribeLoadBalancers/DescribeTargetGroups:
# request `Marker`/`PageSize`, response `NextMarker`). ListOpenIDConnectProviders has no pages.
QUERY_LISTS = {
    ("iam", "ListRoles"): "Roles",
    ("iam", "ListPolicies"): "Policies",
    ("iam", "ListAttachedRolePolicies"): "AttachedPolicies",
    ("iam", "ListRolePolicies"): "PolicyNames",
    ("iam", "ListRoleTags"): "Tags",
    ("iam", "ListPolicyTags"): "Tags",
    ("iam", "ListPolicyVersions"): "Versions",
    ("iam", "ListEntitiesForPolicy"): "PolicyRoles",
    ("elasticloadbalancing", "DescribeLoadBalancers"): "LoadBalancers",
    ("elasticloadbalancing", "DescribeTargetGroups"): "TargetGroups",
}


def _whole(app, environ):
    return _capture(lambda sr: app(environ, sr))


def _answer(start_response, status, headers, body):
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


def _paged_xml(app, environ, start_response, form, marker, drop, items_of, mark):
    """One page of an XML listing: moto's whole answer (the request's own paging keys, `marker`
    and `drop`, taken out), the items `items_of(root, q)` finds cut to the page that starts at
    the offset `marker` carried, and `mark(root, q, next offset or None)` writing the token."""
    import xml.etree.ElementTree as ET
    size = PAGE["size"]
    offset = int(form.pop(marker, ["0"])[0] or 0)
    for key in drop:
        form.pop(key, None)
    raw = urllib.parse.urlencode(form, doseq=True).encode()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    status, headers, body = _whole(app, environ)
    if not status.startswith("200"):
        return _answer(start_response, status, headers, body)
    root = ET.fromstring(body)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)
    items_el = items_of(root, q)
    if items_el is None:
        return _answer(start_response, status, headers, body)
    items = list(items_el)
    for it in items:
        items_el.remove(it)
    for it in items[offset:offset + size]:
        items_el.append(it)
    mark(root, q, offset + size if offset + size < len(items) else None)
    if ns:
        ET.register_namespace("", ns)
    return _answer(start_response, status, headers, ET.tostring(root, encoding="utf-8"))


def _set_tokens(parent, q, tokens):
    """Replace `parent`'s elements named in `tokens` by their given values (None: absent)."""
    import xml.etree.ElementTree as ET
    for name, value in tokens:
        for old in parent.findall(q(name)):
            parent.remove(old)
        if value is not None:
            ET.SubElement(parent, q(name)).text = value


def _paged_ec2(app, environ, start_response, action, form):
    def mark(root, q, nxt):
        _set_tokens(root, q, [("nextToken", None if nxt is None else str(nxt))])
    return _paged_xml(app, environ, start_response, form, "NextToken", ["MaxResults"],
                      lambda root, q: root.find(q(EC2_ITEM_SETS[action])), mark)


def _paged_eks(app, environ, start_response, member):
    size = PAGE["size"]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    offset = int(query.pop("nextToken", ["0"])[0] or 0)
    query.pop("maxResults", None)
    environ["QUERY_STRING"] = urllib.parse.urlencode(query, doseq=True)
    status, headers, body = _whole(app, environ)
    if not status.startswith("200"):
        return _answer(start_response, status, headers, body)
    doc = json.loads(body)
    items = doc.get(member, [])
    doc[member] = items[offset:offset + size]
    doc.pop("nextToken", None)
    if offset + size < len(items):
        doc["nextToken"] = str(offset + size)
    return _answer(start_response, status, headers, json.dumps(doc).encode())


def _paged_query(app, environ, start_response, service, action, form):
    def result(root, q):
        return root.find(q(f"{action}Result"))

    def items_of(root, q):
        r = result(root, q)
        return r.find(q(QUERY_LISTS[(service, action)])) if r is not None else None

    def mark(root, q, nxt):
        token = None if nxt is None else str(nxt)
        if service == "elasticloadbalancing":
            _set_tokens(result(root, q), q, [("NextMarker", token)])
        else:
            _set_tokens(result(root, q), q, [("IsTruncated", "true" if token else "false"),
                                             ("Marker", token)])
    return _paged_xml(app, environ, start_response, form, "Marker", ["MaxItems", "PageSize"],
                      items_of, mark)


def _paged(app, environ, start_response, service, action, body):
    """Answer a paginated call in short pages when a page size is set (see the module doc), or
    None to let it through whole."""
    if not PAGE["size"]:
        return None
    if service == "ec2" and action in EC2_ITEM_SETS:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return _paged_ec2(app, environ, start_response, action, form)
    if (service, action) in QUERY_LISTS:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return _paged_query(app, environ, start_response, service, action, form)
    if service == "eks" and environ.get("REQUEST_METHOD") == "GET":
        path = environ.get("PATH_INFO", "")
        for pattern, member in EKS_LISTS:
            if pattern.match(path):
                return _paged_eks(app, environ, start_response, member)
    return None


# Injected AWS errors: a list of {"service", "action", "code", "message", "status", "times"}
# rules; a call whose service and action match the first rule with times left is answered with
# that error instead of reaching moto (nothing is created or deleted), as AWS refuses it.
FAULTS = []


def _fault_response(service, code, message):
    """The error in the wire shape of the service's protocol, so the SDK parses code and message
    as from AWS:
      * EC2 (ec2 query protocol), EC2 API Reference "Error codes": <Response><Errors><Error>
        <Code/><Message/></Error></Errors><RequestID/></Response>;
      * IAM and STS (awsQuery), IAM API Reference "Common Errors" response: <ErrorResponse>
        <Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>;
      * EKS (restJson1), Amazon EKS API Reference "Common errors": the code in the
        x-amzn-ErrorType header, {"message": …} in the body, x-amzn-RequestId."""
    rid = str(uuid.uuid4())
    if service == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}'
                f"</Code><Message>{html.escape(message)}</Message></Error></Errors>"
                f"<RequestID>{rid}</RequestID></Response>").encode()
        # The id is also in the x-amzn-RequestId header: the Rust SDK reads a request id only
        # from headers (aws-types 1.7.0 `src/request_id.rs`: x-amzn-requestid/x-amz-request-id;
        # aws-sdk-ec2 1.274.0 `src/ec2_query_errors.rs` parses Code and Message only).
        return body, [("Content-Type", "text/xml;charset=UTF-8"), ("x-amzn-RequestId", rid)]
    if service in ("iam", "sts", "elasticloadbalancing"):
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>'
                f"{html.escape(message)}</Message></Error><RequestId>{rid}</RequestId>"
                f"</ErrorResponse>").encode()
        return body, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)]
    body = json.dumps({"message": message}).encode()
    return body, [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{code}:"),
                  ("x-amzn-RequestId", rid)]


# Throttling and server errors as each service names them (for a "rate" rule with "code":
# "throttle" or "5xx"): EC2 RequestLimitExceeded (503) and InternalError/Unavailable; IAM
# Throttling (400) and ServiceFailure (500); EKS ThrottlingException (429) and
# ServerException (500); from each service's API Reference "Common errors".
KINDS = {
    "throttle": {"ec2": ("RequestLimitExceeded", 503), "iam": ("Throttling", 400),
                 "sts": ("Throttling", 400), "eks": ("ThrottlingException", 429),
                 "elasticloadbalancing": ("Throttling", 400)},
    "5xx": {"ec2": ("InternalError", 500), "iam": ("ServiceFailure", 500),
            "sts": ("InternalFailure", 500), "eks": ("ServerException", 500),
            "elasticloadbalancing": ("InternalFailure", 500)},
}


def _injected(service, action):
    """The fault for this call, if any: a rule with "times" left whose service and action
    match ("*" matches any), or a "rate" rule that fires with that probability (seeded)."""
    with LOCK:
        for rule in FAULTS:
            if rule["service"] not in ("*", service):
                continue
            a = rule.get("action", "*")
            if not (a == "*" or action == a or action.startswith(a + " ")):
                continue
            if "rate" in rule:
                rng = rule.setdefault("_rng", random.Random(rule.get("seed", 0)))
                if rng.random() >= rule["rate"]:
                    continue
                kind = rng.choice(rule.get("kinds", ["throttle", "5xx"]))
                code, status = KINDS[kind].get(service, ("InternalFailure", 500))
                rule["count"] = rule.get("count", 0) + 1
                return {"code": code, "status": status, "message": f"injected {kind}"}
            if rule.get("times", 1) > 0:
                rule["times"] = rule.get("times", 1) - 1
                return rule
    return None


class Recording:
    def __init__(self, app):
        self.app = app

    def _hold(self, environ, start_response, entry):
        return _hold_answer(self.app, environ, start_response, entry)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_alpaka/calls":
            if environ.get("REQUEST_METHOD") == "POST":
                with LOCK:
                    CALLS.clear()
                body = b"{}"
            else:
                with LOCK:
                    body = json.dumps(CALLS).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_alpaka/access-entries":
            # For eks_authenticator.py: who has which access policy, every cluster and region.
            with LOCK:
                body = json.dumps([
                    {"region": k[0], "cluster": k[1], "principalArn": k[2],
                     "policies": [[p["policyArn"], p["accessScope"].get("type")]
                                  for p in a["policies"].values()]}
                    for k, a in ACCESS.items()]).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_alpaka/faults" and environ.get("REQUEST_METHOD") == "GET":
            with LOCK:
                body = json.dumps([{k: v for k, v in r.items() if k != "_rng"}
                                   for r in FAULTS]).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_alpaka/pages":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            PAGE["size"] = int(json.loads(environ["wsgi.input"].read(length) or b"{}")
                               .get("size", 0))
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", "2")])
            return [b"{}"]
        if path == "/_alpaka/faults":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            rules = json.loads(environ["wsgi.input"].read(length) or b"[]") if length else []
            with LOCK:
                FAULTS[:] = rules
            RELEASE.set()
            RELEASE.clear()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset"):
                with LOCK:
                    ADDONS.clear()
                    ACCESS.clear()
                    TOKENS.clear()
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        _route_presigned(environ)
        service, action, ident = _operation(environ, body)
        rule = _injected(service, action)
        hang = bool(rule and rule.get("hang_after"))
        with LOCK:
            CALLS.append({"service": service, "action": action, "id": ident,
                          "fault": rule.get("code") if rule else None})
            entry = CALLS[-1]
        if hang:
            return self._hold(environ, start_response, entry)
        if rule and rule.get("after"):
            # The call takes effect (moto makes it, the token is remembered), then the answer
            # is lost: a 5xx in the service's wire shape, or the connection dropped.
            status, headers, out = _capture(
                lambda sr: self._serve(environ, sr, service, action, body))
            with LOCK:
                entry["took_effect"] = status.split(" ")[0]
            if rule.get("drop"):
                return _drop(environ, start_response)
            code, st = KINDS["5xx"].get(service, ("InternalFailure", 500))
            code, st = rule.get("code", code), rule.get("status", st)
            out, headers = _fault_response(service, code, rule.get("message", "injected after effect"))
            start_response(f"{st} Error", headers + [("Content-Length", str(len(out)))])
            return [out]
        if rule:
            body, headers = _fault_response(service, rule["code"], rule.get("message", rule["code"]))
            start_response(f"{rule.get('status', 400)} Error",
                           headers + [("Content-Length", str(len(body)))])
            return [body]
        return self._serve(environ, start_response, service, action, body)

    def _serve(self, environ, start_response, service, action, body):
        """The call as the stand-in answers it without faults."""
        token = _token(environ, service, action, body)
        if token is not None:
            with LOCK:
                seen = TOKENS.get(token[0])
            if seen is not None:
                if seen[0] != token[1]:
                    out, headers = _fault_response(
                        service, "IdempotentParameterMismatch",
                        "The client token you have provided is associated with a resource "
                        "that is already deleted or has different parameters.")
                    start_response("400 Error", headers + [("Content-Length", str(len(out)))])
                    return [out]
                return _answer(start_response, *seen[1])
            status, headers, out = _capture(
                lambda sr: self._untokened(environ, sr, service, action, body))
            if status.startswith("2"):
                with LOCK:
                    TOKENS.setdefault(token[0], (token[1], (status, headers, out)))
            return _answer(start_response, status, headers, out)
        return self._untokened(environ, start_response, service, action, body)

    def _untokened(self, environ, start_response, service, action, body):
        if service == "eks":
            answer = access_entries(environ, body)
            if answer is not None:
                status, headers, out = answer
                out = out.encode()
                start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                               list(headers.items()) + [("Content-Length", str(len(out)))])
                return [out]
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("QUERY_STRING") == "versioning":
            return _versioning_shape(self.app, environ, start_response)
        paged = _paged(self.app, environ, start_response, service, action, body)
        if paged is not None:
            return paged
        return self.app(environ, start_response)


# Idempotency tokens seen: (service, action, token) -> (the request's other parameters, the
# first answer). EC2 ("Ensuring idempotency in Amazon EC2 API requests", EC2 Developer Guide):
# a request repeated with the same client token and parameters gets the first one's result;
# the same token with other parameters is refused IdempotentParameterMismatch. EKS's
# clientRequestToken (Amazon EKS API Reference, CreateCluster/CreateNodegroup/CreateAddon/
# CreateAccessEntry: "a unique, case-sensitive identifier that you provide to ensure the
# idempotency of the request") is kept the same way. moto ignores both: a repeated
# CreateRouteTable makes a second table, a repeated CreateNatGateway fails
# Resource.AlreadyAssociated, a repeated CreateCluster ResourceInUseException.
TOKENS = {}


def _token(environ, service, action, body):
    """((service, action, token), other parameters) of a create that carries a token, else
    None."""
    if not body:
        return None
    if service == "ec2":
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        token = form.pop("ClientToken", [None])[0]
        if token:
            return (service, action, token), sorted(form.items())
        return None
    if service == "eks" and environ.get("REQUEST_METHOD") == "POST":
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        token = doc.pop("clientRequestToken", None) if isinstance(doc, dict) else None
        if token:
            return (service, environ.get("PATH_INFO", ""), token), json.dumps(doc, sort_keys=True)
    return None


def _capture(call):
    """Run a WSGI call and keep its whole answer: (status, headers, body)."""
    got = {}

    def capture(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers
        return lambda _data: None

    body = b"".join(call(capture))
    return got["status"], got["headers"], body


def _drop(environ, start_response):
    """Close the connection without an answer (what a reset after the request reached AWS
    looks like to the client)."""
    import socket
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    start_response("500 Dropped", [("Content-Length", "0")])
    return [b""]


def _hold_answer(app, environ, start_response, entry):
    """Let moto make the call, then keep its answer back until released (see the module doc)."""
    status, headers, body = _whole(app, environ)
    with LOCK:
        entry["hung"] = True
    RELEASE.wait(600)
    return _answer(start_response, status, headers, body)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    run_simple(host, port, Recording(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
