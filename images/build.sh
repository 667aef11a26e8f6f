#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds alpaka's images (tool, connect-jdbc, connect-s3) with the names, tags and versions of
# images/versions.env and the checksums of images/checksums.txt, then optionally loads them into
# the profile's k3d/minikube cluster or pushes them. See --help.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all_images=(tool connect-jdbc connect-s3)

usage() {
  cat <<'USAGE'
Usage: images/build.sh [--load k3d|minikube] [--profile NAME] [--push [REGISTRY]] [IMAGE ...]

Builds IMAGE (tool, connect-jdbc, connect-s3; default: all three) with docker, tagged
$IMAGE_REGISTRY/<name>:<tag> from images/versions.env.

  --load k3d        k3d image import -c alpaka-<profile> (default profile: k3d)
  --load minikube   minikube -p alpaka-<profile> image load (default profile: minikube)
  --profile NAME    the alpaka profile whose cluster --load targets
  --push            docker push to IMAGE_REGISTRY (what the stack config references)
  --push REGISTRY   retag as REGISTRY/<name>:<tag>, push, and print the config overrides
                    that make the stack use them (e.g. an ECR registry for EKS)
  -h, --help        this text

Every downloaded artifact must have a checksum in images/checksums.txt; an image with an
unpinned artifact is refused (images/pin.sh pins it on a machine with network access).
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

load="" profile="" push=0 push_registry=""
images=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
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

command -v docker >/dev/null 2>&1 || {
  echo "build.sh: docker not found on PATH; install Docker (https://docs.docker.com/engine/install/) and retry" >&2
  exit 1
}
if [[ -n $load ]] && ! command -v "$load" >/dev/null 2>&1; then
  echo "build.sh: --load $load needs the $load command on PATH" >&2
  exit 1
fi

. "$here/versions.env"
. "$here/artifacts.sh"
checksums=${ALPAKA_IMAGES_CHECKSUMS:-$here/checksums.txt}
[[ -r $checksums ]] || { echo "build.sh: cannot read $checksums" >&2; exit 1; }

valid_sum() {
  case "$1" in
    sha512) [[ $2 =~ ^[0-9a-f]{128}$ ]] ;;
    sha256) [[ $2 =~ ^[0-9a-f]{64}$ ]] ;;
    md5) [[ $2 =~ ^[0-9a-f]{32}$ ]] ;;
    *) return 1 ;;
  esac
}

# `<algo>:<hex>` recorded for URL, or nothing; a malformed line for URL is an error.
checksum_of() {
  local hex algo url rest
  while read -r hex algo url rest; do
    [[ -z $hex || $hex == \#* || $url != "$1" ]] && continue
    if [[ -n $rest ]] || ! valid_sum "$algo" "$hex"; then
      echo "build.sh: malformed line for $url in $checksums (want '<hex> sha512|sha256|md5 <url>')" >&2
      return 1
    fi
    echo "$algo:$hex"
    return 0
  done <"$checksums"
}

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

# `docker build` arguments of an image: its versions and its artifacts' checksums.
build_args_of() {
  local arg key url
  while read -r arg; do echo "--build-arg" && echo "$arg"; done < <(version_args_of "$1")
  while read -r key url; do echo "--build-arg" && echo "$key=$(checksum_of "$url")"; done < <(artifacts_for "$1")
}

# Check every selected image before building any, so a missing pin never leaves half a build.
missing=()
for img in "${images[@]}"; do
  while read -r key url; do
    sum=$(checksum_of "$url") || exit 1
    [[ -n $sum ]] || missing+=("$img: $url")
  done < <(artifacts_for "$img")
done
if ((${#missing[@]})); then
  echo "build.sh: refusing to build: no checksum pinned in $checksums for" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "Pin them on a machine with network access: images/pin.sh --write <url> (or images/pin.sh --write to pin all), review the lines, commit." >&2
  exit 1
fi

pushed=()
for img in "${images[@]}"; do
  ref="$IMAGE_REGISTRY/$(name_of "$img"):$(tag_of "$img")"
  args=()
  while read -r arg; do args+=("$arg"); done < <(build_args_of "$img")
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
