#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds alpaka's images (tool, connect-jdbc, connect-s3) with the names, tags and versions of
# images/versions.env and the checksums of images/checksums.txt, then optionally loads them into
# the profile's k3d/minikube cluster or pushes them. Before building anything it checks every
# artifact's checksum against the publisher's published value, and pins (records in
# checksums.txt) what is not pinned yet: images/sources.sh. See --help.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all_images=(tool connect-jdbc connect-s3)

usage() {
  cat <<'USAGE'
Usage: images/build.sh [--load k3d|minikube] [--profile NAME] [--push [REGISTRY]] [IMAGE ...]
       images/build.sh --dry-run [IMAGE ...]

Builds IMAGE (tool, connect-jdbc, connect-s3; default: all three) with docker, tagged
$IMAGE_REGISTRY/<name>:<tag> from images/versions.env.

  --load k3d        k3d image import -c alpaka-<profile> (default profile: k3d)
  --load minikube   minikube -p alpaka-<profile> image load (default profile: minikube)
  --profile NAME    the alpaka profile whose cluster --load targets
  --push            docker push to IMAGE_REGISTRY (what the stack config references)
  --push REGISTRY   retag as REGISTRY/<name>:<tag>, push, and print the config overrides
                    that make the stack use them (e.g. an ECR registry for EKS)
  --dry-run         build nothing, fetch nothing: show the checksum source of every
                    artifact of IMAGE, and check every line of images/checksums.txt has one
  -h, --help        this text

Every artifact an image downloads has its checksum in images/checksums.txt with the source it
comes from: a checksum file the publisher puts beside it, Confluent Hub's plugin manifest, or a
file at a fixed commit. Before building, each source is read again and must still state the
pinned value; a `pending` value (or an artifact with no line) is pinned from its source: the
artifact is downloaded, checked against every value stated or pinned for it, and the value is
written into checksums.txt. Any disagreement fails before anything is built. The download inside
`docker build` (images/fetch.sh) checks the pinned value again. Needs curl, jq and coreutils.
USAGE
}

usage_error() {
  echo "build.sh: $*" >&2
  echo "Try 'images/build.sh --help'." >&2
  exit 2
}

is_image() {
  local i
  for i in "${all_images[@]}"; do [[ $1 == "$i" ]] && return 0; done
  return 1
}

load="" profile="" push=0 push_registry="" dry_run=0
images=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run=1; shift ;;
    --load | --load=*)
      if [[ $1 == --load=* ]]; then load=${1#--load=}; shift
      else [[ $# -ge 2 ]] || usage_error "--load needs k3d or minikube"; load=$2; shift 2; fi
      [[ $load == k3d || $load == minikube ]] || usage_error "--load: unknown target '$load' (k3d or minikube)"
      ;;
    --profile | --profile=*)
      if [[ $1 == --profile=* ]]; then profile=${1#--profile=}; shift
      else [[ $# -ge 2 && $2 != -* ]] || usage_error "--profile needs a name"; profile=$2; shift 2; fi
      [[ -n $profile ]] || usage_error "--profile needs a name"
      ;;
    --push=*)
      push=1 push_registry=${1#--push=}
      [[ -n $push_registry ]] || usage_error "--push= needs a registry"
      shift
      ;;
    --push)
      push=1
      # The registry is optional: the next word is one unless it is an option or an image name.
      if [[ $# -ge 2 && $2 != -* ]] && ! is_image "$2"; then push_registry=${2%/}; shift; fi
      shift
      ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      is_image "$1" || usage_error "unknown image '$1' (known: ${all_images[*]})"
      images+=("$1")
      shift
      ;;
  esac
done
[[ -z $profile || -n $load ]] || usage_error "--profile only applies with --load"
((${#images[@]})) || images=("${all_images[@]}")
[[ -n $profile ]] || profile=$load

. "$here/versions.env"
. "$here/artifacts.sh"
. "$here/sources.sh"
checksums=${ALPAKA_IMAGES_CHECKSUMS:-$here/checksums.txt}
[[ -r $checksums ]] || { echo "build.sh: cannot read $checksums" >&2; exit 1; }

if ((dry_run)); then
  sources_init build.sh "$checksums" 0 ""
  # Every line of the file is checked, not only those of IMAGE.
  load_checksums || { echo "build.sh --dry-run: $checksums has lines without a usable checksum source" >&2; exit 1; }
  n=0 pinned=0 pending=0 bad=0
  for img in "${images[@]}"; do
    echo "$img"
    while read -r key url; do
      n=$((n + 1))
      echo "  $key $url"
      describe_sources "$url" || bad=1
    done < <(artifacts_for "$img")
  done
  used=" "
  for img in "${all_images[@]}"; do
    while read -r _ url; do used+="$url "; done < <(artifacts_for "$img")
  done
  for i in "${!e_url[@]}"; do
    if [[ ${e_value[i]} == pending ]]; then pending=$((pending + 1)); else pinned=$((pinned + 1)); fi
    [[ $used == *" ${e_url[i]} "* ]] || echo "note: $checksums line ${e_line[i]}: no image downloads ${e_url[i]} (left from an older version?)"
  done
  if ((bad)); then
    echo "build.sh --dry-run: an artifact has no checksum source" >&2
    exit 1
  fi
  echo "build.sh --dry-run: $n artifacts of ${#images[@]} images, each with a checksum source; $checksums: $pinned values pinned, each with its source, $pending to be pinned at first build. Nothing fetched, nothing built."
  exit 0
fi

command -v docker >/dev/null 2>&1 || {
  echo "build.sh: docker not found on PATH; install Docker (https://docs.docker.com/engine/install/) and retry" >&2
  exit 1
}
if [[ -n $load ]] && ! command -v "$load" >/dev/null 2>&1; then
  echo "build.sh: --load $load needs the $load command on PATH" >&2
  exit 1
fi
for tool in curl cut tr grep sed awk mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool not found on PATH (needed to check checksums)" >&2; exit 1; }
done

name_of() {
  case "$1" in
    tool) echo "$TOOL_IMAGE" ;;
    connect-jdbc) echo "$CONNECT_JDBC_IMAGE" ;;
    connect-s3) echo "$CONNECT_S3_IMAGE" ;;
  esac
}
tag_of() { if [[ $1 == tool ]]; then echo "$TOOL_TAG"; else echo "$CONNECT_TAG"; fi; }

version_args_of() {
  local keys=(STRIMZI_KAFKA_IMAGE STRIMZI_KAFKA_TAG DEBIAN_TAG) k
  case "$1" in
    tool) keys+=(KUBECTL_VERSION) ;;
    connect-jdbc) keys+=(DEBEZIUM_VERSION CONFLUENT_JDBC_VERSION) ;;
    connect-s3) keys+=(CONFLUENT_S3_VERSION) ;;
  esac
  for k in "${keys[@]}"; do echo "$k=${!k}"; done
}

# Check (and pin) every artifact of every selected image before building any, so a checksum
# problem never leaves half a build. sum_args: `KEY=<algo>:<hex>` per image, in artifact order.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sources_init build.sh "$checksums" 1 "$work"
load_checksums || { echo "build.sh: refusing to build: fix $checksums first (build.sh --dry-run shows every source)" >&2; exit 1; }
sum_args=()
for img in "${images[@]}"; do
  echo "== checksums of $img"
  args=""
  while read -r key url; do
    resolve "$url" "$key of $img" || exit 1
    args+="$key=$resolved "
  done < <(artifacts_for "$img")
  sum_args+=("$args")
done
if ((pinned_now)); then
  echo "== $pinned_now checksums pinned in $checksums from their publishers: review and commit them"
fi

# `docker build` arguments of the Nth selected image: its versions and its artifacts' checksums.
build_args_of() {
  local arg
  while read -r arg; do echo "--build-arg" && echo "$arg"; done < <(version_args_of "${images[$1]}")
  for arg in ${sum_args[$1]}; do echo "--build-arg" && echo "$arg"; done
}

pushed=()
for n in "${!images[@]}"; do
  img=${images[n]}
  ref="$IMAGE_REGISTRY/$(name_of "$img"):$(tag_of "$img")"
  args=()
  while read -r arg; do args+=("$arg"); done < <(build_args_of "$n")
  echo "== building $ref"
  docker build -f "$here/Dockerfile.$img" -t "$ref" "${args[@]}" "$here"
  case "$load" in
    k3d) k3d image import -c "alpaka-$profile" "$ref" ;;
    minikube) minikube -p "alpaka-$profile" image load "$ref" ;;
  esac
  if ((push)); then
    if [[ -n $push_registry ]]; then
      target="$push_registry/$(name_of "$img"):$(tag_of "$img")"
      docker tag "$ref" "$target"
    else
      target=$ref
    fi
    docker push "$target"
    pushed+=("$img")
  fi
done

if [[ -n $push_registry ]]; then
  echo
  echo "Pushed to $push_registry. Make the stack use these images: add to your profile's overrides:"
  for img in "${pushed[@]}"; do
    image="$push_registry/$(name_of "$img")" tag=$(tag_of "$img")
    case "$img" in
      tool) printf '  tool:\n    container:\n      image: %s\n      tag: "%s"\n' "$image" "$tag" ;;
      connect-jdbc) printf '  kafka_connect:\n    connects:\n    - type: srccon\n      container:\n        image: %s\n        tag: "%s"\n' "$image" "$tag" ;;
      connect-s3) printf '  # and, for a Connect type running io.confluent.connect.s3.S3SinkConnector:\n  #   container: {image: %s, tag: "%s"}\n' "$image" "$tag" ;;
    esac
  done
fi
