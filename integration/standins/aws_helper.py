#!/usr/bin/env python3
"""Out-of-band AWS actions and an independent listing for alpaka's moto tests, with boto3
(installed with moto) — deliberately not alpaka's own code.

Usage: aws_helper.py ENDPOINT REGION COMMAND [ARGS...]
  drift CLUSTER            delete the EBS CSI IRSA role, resize the nodegroup, remove a VPC tag
  controller-objects CLUSTER PROFILE
                           what the LB controller and EBS CSI driver would leave: an ALB and a
                           target group tagged elbv2.k8s.aws/cluster, a k8s-… security group,
                           and a PVC volume tagged with the cluster
  volume CLUSTER PROFILE   a volume tagged with the profile only (not found by the sweep's
                           cluster tag when no sweep runs)
  list-tagged PROFILE      every resource tagged alpaka.io/profile=PROFILE (JSON list)
  endpoints PROFILE        the VPC endpoints tagged with the profile, by service name:
                           {"com.amazonaws.R.ec2": {"type", "subnets", "groups", "routeTables",
                           "privateDns", "state"}}, and "https_from" of their security groups
  policy-document ARN      the default version's document of a customer managed policy
  ids PROFILE              the alpaka.io/id tag of every resource tagged with the profile:
                           {"vpc vpc-…": "aws.vpc.prod", …} (null where it is missing)
  nodes CLUSTER            each nodegroup's amiType, diskSize and launch template (id, version)
                           with that version's IMDS options and block devices, read from EC2:
                           {"<nodegroup>": {"amiType", "diskSize", "launchTemplate",
                           "metadata": {…}, "devices": [{"device", "size", "type", "encrypted",
                           "kms"}], "tagTypes": [...]}}
  legacy-nodegroup CLUSTER NODEGROUP
                           replace the nodegroup by one with the same name, tags and shape but
                           no launch template (`diskSize` instead), as alpaka made them before
  addon CLUSTER NAME       {"status", "configurationValues", "version"} of an add-on (null if none)
  request-tokens CLUSTER   the clientRequestToken EKS recorded for the cluster ({"cluster": …}; the
                           API's Nodegroup and Addon shapes do not return theirs)
  foreign-role NAME        a role by that name that alpaka did not make (tagged team=data only)
  eni SUBNET               a network interface in the subnet, not alpaka's (as a load balancer
                           or a pod leaves behind); prints {"id": …}
  s3-bucket NAME           a plain bucket (no versioning, no default encryption)
  s3-versioned NAME        a bucket with versioning enabled
  s3-versions BUCKET KEY   the serials of every version of a state object, newest first
  s3-get BUCKET KEY        {"exists", "body", "sse", "kms"} of one object
  s3-describe BUCKET       {"versioning", "encryption", "public_access_block"}
  s3-keys BUCKET           every key in the bucket (JSON list)
  principal PATH NAME SESSION
                           an IAM role /PATH/NAME (made if missing) and credentials of a session
                           assumed in it: {"role_arn", "access_key_id", "secret_access_key",
                           "session_token"} (alpaka runs as that session: an access entry names
                           an IAM principal, never moto's default `sts` user)
  role PATH NAME           an IAM role /PATH/NAME (made if missing): {"role_arn"}
  control-plane CLUSTER    DescribeCluster's resourcesVpcConfig, logging, encryptionConfig and
                           accessConfig
  access-entries CLUSTER   {principal ARN: [[policy ARN, scope type], …]} of every access entry
  set-logging CLUSTER TYPE…
                           out of band: exactly TYPE… enabled (UpdateClusterConfig, waited out)
"""
import json
import sys

import boto3

endpoint, region, cmd, *args = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
          aws_secret_access_key="testing")
ec2 = boto3.client("ec2", **kw)
iam = boto3.client("iam", **kw)
eks = boto3.client("eks", **kw)
elbv2 = boto3.client("elbv2", **kw)
s3 = boto3.client("s3", config=__import__("botocore.config").config.Config(
    s3={"addressing_style": "path"}), **kw)
TAG = "alpaka.io/profile"


def tagged_filter(profile):
    return [{"Name": f"tag:{TAG}", "Values": [profile]}]


def access_entries(cluster, profile):
    """The cluster's access entries tagged with the profile (DescribeAccessEntry each)."""
    out = []
    for p in eks.list_access_entries(clusterName=cluster)["accessEntries"]:
        e = eks.describe_access_entry(clusterName=cluster, principalArn=p)["accessEntry"]
        if e.get("tags", {}).get(TAG) == profile:
            out.append(e)
    return out


def role(path, name):
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
        return iam.create_role(RoleName=name, Path=f"/{path}/",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


if cmd == "principal":
    path, name, session = args
    arn = role(path, name)
    c = boto3.client("sts", **kw).assume_role(RoleArn=arn, RoleSessionName=session)["Credentials"]
    print(json.dumps({"role_arn": arn, "access_key_id": c["AccessKeyId"],
                      "secret_access_key": c["SecretAccessKey"], "session_token": c["SessionToken"]}))
elif cmd == "role":
    print(json.dumps({"role_arn": role(*args)}))
elif cmd == "control-plane":
    (cluster,) = args
    c = eks.describe_cluster(name=cluster)["cluster"]
    print(json.dumps({k: c.get(k) for k in ("resourcesVpcConfig", "logging", "encryptionConfig",
                                              "accessConfig")}))
elif cmd == "access-entries":
    (cluster,) = args
    out = {}
    for p in eks.list_access_entries(clusterName=cluster)["accessEntries"]:
        pols = eks.list_associated_access_policies(clusterName=cluster, principalArn=p)
        out[p] = [[a["policyArn"], a["accessScope"]["type"]]
                  for a in pols["associatedAccessPolicies"]]
    print(json.dumps(out))
elif cmd == "set-logging":
    cluster, *types = args
    every = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    setups = [{"types": [t for t in every if t in types], "enabled": True},
              {"types": [t for t in every if t not in types], "enabled": False}]
    u = eks.update_cluster_config(
        name=cluster, logging={"clusterLogging": [x for x in setups if x["types"]]})["update"]
    while eks.describe_update(name=cluster, updateId=u["id"])["update"]["status"] == "InProgress":
        pass
    print(json.dumps({"update": u["id"]}))
elif cmd == "drift":
    (cluster,) = args
    role = f"alpaka-{cluster}-ebs-csi"
    for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName=role)
    ng = eks.list_nodegroups(clusterName=cluster)["nodegroups"][0]
    eks.update_nodegroup_config(clusterName=cluster, nodegroupName=ng,
                                scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3})
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:alpaka.io/cluster", "Values": [cluster]}])["Vpcs"][0]
    ec2.delete_tags(Resources=[vpc["VpcId"]], Tags=[{"Key": "env"}])
    print(json.dumps({"role": role, "nodegroup": ng, "vpc": vpc["VpcId"]}))
elif cmd == "controller-objects":
    cluster, profile = args
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:alpaka.io/cluster", "Values": [cluster]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "tag-key", "Values": ["kubernetes.io/role/elb"]}])["Subnets"]]
    sg = ec2.create_security_group(GroupName=f"k8s-{cluster}-ingress", Description="lbc", VpcId=vpc,
                                   TagSpecifications=[{"ResourceType": "security-group", "Tags": [
                                       {"Key": "elbv2.k8s.aws/cluster", "Value": cluster}]}])["GroupId"]
    lb = elbv2.create_load_balancer(Name=f"k8s-{cluster}-alb", Subnets=subnets, SecurityGroups=[sg],
                                    Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": cluster},
                                          {"Key": "ingress.k8s.aws/stack", "Value": "alpaka/ui"}])
    tg = elbv2.create_target_group(Name=f"k8s-{cluster}-tg", Protocol="HTTP", Port=80, VpcId=vpc,
                                   Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": cluster}])
    vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=50, VolumeType="gp3",
                            TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"},
                                {"Key": TAG, "Value": profile}]}])["VolumeId"]
    print(json.dumps({"sg": sg, "lb": lb["LoadBalancers"][0]["LoadBalancerArn"],
                      "tg": tg["TargetGroups"][0]["TargetGroupArn"], "volume": vol}))
elif cmd == "volume":
    cluster, profile = args
    vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=10, VolumeType="gp3",
                            TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                {"Key": TAG, "Value": profile}]}])["VolumeId"]
    print(json.dumps({"volume": vol}))
elif cmd == "list-tagged":
    (profile,) = args
    f = tagged_filter(profile)
    out = []
    out += ["vpc " + v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]]
    out += ["subnet " + s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]]
    out += ["igw " + g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]]
    out += ["rtb " + r["RouteTableId"] for r in ec2.describe_route_tables(Filters=f)["RouteTables"]]
    out += ["nat " + n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filter=f)["NatGateways"]
            if n["State"] not in ("deleted",)]
    out += ["eip " + a["AllocationId"] for a in ec2.describe_addresses(Filters=f)["Addresses"]]
    out += ["sg " + g["GroupId"] for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]]
    out += ["vpce " + e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=f)["VpcEndpoints"]
            if e["State"].lower() != "deleted"]
    out += ["volume " + v["VolumeId"] for v in ec2.describe_volumes(Filters=f)["Volumes"]]
    for r in iam.list_roles()["Roles"]:
        tags = iam.list_role_tags(RoleName=r["RoleName"])["Tags"]
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out.append("role " + r["RoleName"])
    for p in iam.list_policies(Scope="Local")["Policies"]:
        tags = iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"]
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out.append("policy " + p["Arn"])
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        tags = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"]).get("Tags", [])
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out.append("oidc " + p["Arn"])
    for name in eks.list_clusters()["clusters"]:
        c = eks.describe_cluster(name=name)["cluster"]
        if c.get("tags", {}).get(TAG) == profile:
            out.append("eks " + name)
            for p in access_entries(name, profile):
                out.append(f"access-entry {name}/{p['principalArn']}")
    out += ["lt " + t["LaunchTemplateId"] for t in ec2.describe_launch_templates(Filters=f)["LaunchTemplates"]]
    out += ["lb " + lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    print(json.dumps(out))
elif cmd == "foreign-role":
    (name,) = args
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "eks.amazonaws.com"}}]}
    r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                        Tags=[{"Key": "team", "Value": "data"}])
    print(json.dumps({"arn": r["Role"]["Arn"]}))
elif cmd == "duplicate-vpc":
    # A second VPC carrying the profile's VPC's tags (its alpaka.io/id too): what a CreateVpc
    # carried out twice leaves.
    profile, alpaka_id = args
    f = tagged_filter(profile) + [{"Name": "tag:alpaka.io/id", "Values": [alpaka_id]}]
    v = ec2.describe_vpcs(Filters=f)["Vpcs"][0]
    tags = [t for t in v.get("Tags", []) if not t["Key"].startswith("aws:")]
    new = ec2.create_vpc(CidrBlock="10.99.0.0/16",
                         TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])
    print(json.dumps(new["Vpc"]["VpcId"]))
elif cmd == "endpoints":
    (profile,) = args
    f = tagged_filter(profile)
    out = {}
    groups = set()
    for e in ec2.describe_vpc_endpoints(Filters=f)["VpcEndpoints"]:
        if e["State"].lower() == "deleted":
            continue
        gs = sorted(g["GroupId"] for g in e.get("Groups", []))
        groups.update(gs)
        out[e["ServiceName"]] = {
            "type": e["VpcEndpointType"],
            "subnets": sorted(e.get("SubnetIds", [])),
            "groups": gs,
            "routeTables": sorted(e.get("RouteTableIds", [])),
            "privateDns": e.get("PrivateDnsEnabled", False),
            "state": e["State"].lower(),
        }
    https = {}
    for g in ec2.describe_security_groups(GroupIds=sorted(groups))["SecurityGroups"] if groups else []:
        https[g["GroupId"]] = sorted(
            r["CidrIp"] for p in g["IpPermissions"]
            if p.get("IpProtocol") == "tcp" and p.get("FromPort") == 443 and p.get("ToPort") == 443
            for r in p.get("IpRanges", []))
    print(json.dumps({"endpoints": out, "https_from": https}))
elif cmd == "ids":
    (profile,) = args
    f = tagged_filter(profile)
    ID = "alpaka.io/id"

    def tag(tags):
        if isinstance(tags, dict):
            return tags.get(ID)
        return next((t["Value"] for t in tags or [] if t["Key"] == ID), None)

    out = {}
    for v in ec2.describe_vpcs(Filters=f)["Vpcs"]:
        out["vpc " + v["VpcId"]] = tag(v.get("Tags"))
    for x in ec2.describe_subnets(Filters=f)["Subnets"]:
        out["subnet " + x["SubnetId"]] = tag(x.get("Tags"))
    for g in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]:
        out["igw " + g["InternetGatewayId"]] = tag(g.get("Tags"))
    for r in ec2.describe_route_tables(Filters=f)["RouteTables"]:
        out["rtb " + r["RouteTableId"]] = tag(r.get("Tags"))
    for n in ec2.describe_nat_gateways(Filter=f)["NatGateways"]:
        if n["State"] != "deleted":
            out["nat " + n["NatGatewayId"]] = tag(n.get("Tags"))
    for a in ec2.describe_addresses(Filters=f)["Addresses"]:
        out["eip " + a["AllocationId"]] = tag(a.get("Tags"))
    for t in ec2.describe_launch_templates(Filters=f)["LaunchTemplates"]:
        out["lt " + t["LaunchTemplateId"]] = tag(t.get("Tags"))
    for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]:
        out["sg " + g["GroupId"]] = tag(g.get("Tags"))
    for e in ec2.describe_vpc_endpoints(Filters=f)["VpcEndpoints"]:
        if e["State"].lower() != "deleted":
            out["vpce " + e["VpcEndpointId"]] = tag(e.get("Tags"))
    for r in iam.list_roles()["Roles"]:
        tags = iam.list_role_tags(RoleName=r["RoleName"])["Tags"]
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out["role " + r["RoleName"]] = tag(tags)
    for p in iam.list_policies(Scope="Local")["Policies"]:
        tags = iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"]
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out["policy " + p["PolicyName"]] = tag(tags)
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        tags = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"]).get("Tags", [])
        if any(t["Key"] == TAG and t["Value"] == profile for t in tags):
            out["oidc " + p["Arn"]] = tag(tags)
    for name in eks.list_clusters()["clusters"]:
        c = eks.describe_cluster(name=name)["cluster"]
        if c.get("tags", {}).get(TAG) == profile:
            out["eks " + name] = tag(c.get("tags"))
            for ng in eks.list_nodegroups(clusterName=name)["nodegroups"]:
                n = eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"]
                out["nodegroup " + ng] = tag(n.get("tags"))
            for e in access_entries(name, profile):
                out["access-entry " + e["principalArn"]] = tag(e.get("tags"))
    print(json.dumps(out))
elif cmd == "nodes":
    (cluster,) = args
    out = {}
    for ng in eks.list_nodegroups(clusterName=cluster)["nodegroups"]:
        n = eks.describe_nodegroup(clusterName=cluster, nodegroupName=ng)["nodegroup"]
        lt = n.get("launchTemplate")
        entry = {"amiType": n.get("amiType"), "diskSize": n.get("diskSize"), "launchTemplate": lt,
                 "metadata": None, "devices": [], "tagTypes": []}
        if lt:
            v = ec2.describe_launch_template_versions(
                LaunchTemplateId=lt["id"], Versions=[str(lt["version"])])["LaunchTemplateVersions"][0]
            data = v["LaunchTemplateData"]
            entry["metadata"] = data.get("MetadataOptions")
            entry["devices"] = [{"device": m.get("DeviceName"), "size": m.get("Ebs", {}).get("VolumeSize"),
                                 "type": m.get("Ebs", {}).get("VolumeType"),
                                 "encrypted": m.get("Ebs", {}).get("Encrypted"),
                                 "kms": m.get("Ebs", {}).get("KmsKeyId")}
                                for m in data.get("BlockDeviceMappings", [])]
            entry["tagTypes"] = sorted(t["ResourceType"] for t in data.get("TagSpecifications", []))
        out[ng] = entry
    print(json.dumps(out, default=str))
elif cmd == "legacy-nodegroup":
    cluster, name = args
    n = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
    eks.delete_nodegroup(clusterName=cluster, nodegroupName=name)
    eks.create_nodegroup(clusterName=cluster, nodegroupName=name, nodeRole=n["nodeRole"],
                         subnets=n["subnets"], instanceTypes=n["instanceTypes"], diskSize=100,
                         amiType=n["amiType"], version=n["version"],
                         scalingConfig=n["scalingConfig"], labels=n.get("labels") or {},
                         tags=n.get("tags") or {})
    print("{}")
elif cmd == "addon":
    cluster, name = args
    try:
        a = eks.describe_addon(clusterName=cluster, addonName=name)["addon"]
        print(json.dumps({"status": a.get("status"), "configurationValues": a.get("configurationValues"),
                          "version": a.get("addonVersion")}))
    except eks.exceptions.ResourceNotFoundException:
        print("null")
elif cmd == "request-tokens":
    (cluster,) = args
    print(json.dumps({"cluster": eks.describe_cluster(name=cluster)["cluster"].get("clientRequestToken")}))
elif cmd == "eni":
    n = ec2.create_network_interface(SubnetId=args[0], Description="ELB app/k8s-alpaka-grafana/0123456789abcdef")
    print(json.dumps({"id": n["NetworkInterface"]["NetworkInterfaceId"]}))
elif cmd == "role-trust":
    # A role as IAM holds it: its trust document and the policies attached (GetRole,
    # ListAttachedRolePolicies).
    (name,) = args
    r = iam.get_role(RoleName=name)["Role"]
    doc = r["AssumeRolePolicyDocument"]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    print(json.dumps({"arn": r["Arn"],
                      "trust": doc if isinstance(doc, dict) else json.loads(doc),
                      "policies": sorted(p["PolicyArn"] for p in attached)}))
elif cmd == "policy-document":
    v = iam.get_policy(PolicyArn=args[0])["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=args[0], VersionId=v)["PolicyVersion"]["Document"]
    # boto3 decodes the URL-encoded document IAM returns into a dict.
    print(json.dumps(doc if isinstance(doc, dict) else json.loads(doc)))
elif cmd == "s3-bucket":
    conf = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=args[0], **conf)
    print("{}")
elif cmd == "s3-versioned":
    conf = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=args[0], **conf)
    s3.put_bucket_versioning(Bucket=args[0], VersioningConfiguration={"Status": "Enabled"})
    print("{}")
elif cmd == "s3-versions":
    vs = s3.list_object_versions(Bucket=args[0], Prefix=args[1]).get("Versions", [])
    # S3 lists a key's versions newest first (ListObjectVersions).
    vs = [v for v in vs if v["Key"] == args[1]]
    print(json.dumps([json.loads(s3.get_object(Bucket=args[0], Key=args[1], VersionId=v["VersionId"])["Body"].read())["serial"] for v in vs]))
elif cmd == "s3-get":
    try:
        o = s3.get_object(Bucket=args[0], Key=args[1])
        print(json.dumps({"exists": True, "body": o["Body"].read().decode(),
                          "sse": o.get("ServerSideEncryption"), "kms": o.get("SSEKMSKeyId")}))
    except s3.exceptions.NoSuchKey:
        print(json.dumps({"exists": False}))
elif cmd == "s3-describe":
    v = s3.get_bucket_versioning(Bucket=args[0]).get("Status")
    try:
        e = s3.get_bucket_encryption(Bucket=args[0])["ServerSideEncryptionConfiguration"]["Rules"]
    except Exception:  # noqa: BLE001 - absent configuration
        e = None
    try:
        p = s3.get_public_access_block(Bucket=args[0])["PublicAccessBlockConfiguration"]
    except Exception:  # noqa: BLE001
        p = None
    print(json.dumps({"versioning": v, "encryption": e, "public_access_block": p}))
elif cmd == "s3-keys":
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0]):
        keys += [o["Key"] for o in page.get("Contents", [])]
    print(json.dumps(keys))
else:
    sys.exit(f"unknown command {cmd}")
