# shellcheck shell=bash
# Checksum sources: reads images/checksums.txt, reads what each artifact's publisher states about
# it, pins what is not pinned yet and checks what is. Sourced by build.sh and pin.sh (after
# versions.env and artifacts.sh), which then call
#   sources_init PROG CHECKSUMS RECORD WORK
# PROG starts every error (build.sh, pin.sh); CHECKSUMS is the checksums file
# (images/checksums.txt unless ALPAKA_IMAGES_CHECKSUMS says); RECORD 1 writes pinned values into
# it, 0 only says what would be written; WORK is an empty scratch directory the caller removes
# (downloads go there; unused by --dry-run).
#
# checksums.txt holds one line per (artifact, algorithm):
#   <value> <algo> <artifact-url> <source>
# value   lowercase hex, or `pending`: to be pinned from <source> at the first build
# algo    sha512 | sha256 | sha1 | md5
# source  where the publisher states the value; one of
#   <artifact-url>.<algo>       a checksum file published beside the artifact (Maven Central,
#                               dl.k8s.io): the hex digest, possibly followed by the file name
#   https://api.hub.confluent.io/api/plugins/<owner>/<name>/versions/<version>
#                               Confluent Hub's plugin manifest of that archive (JSON, fields
#                               archive.url, archive.md5, archive.sha1; Confluent's CLI refuses a
#                               download that matches either not: confluentinc/cli,
#                               internal/connect/command_plugin_install.go)
#   https://raw.githubusercontent.com/<owner>/<repo>/<40-hex commit>/<path>#<NAME>
#                               the value assigned to NAME (`NAME=<hex>`) in a file at a fixed
#                               commit (the MD5s Debezium's own image build checks)
#
# Every build reads every source of the artifacts it needs: a source that no longer states the
# pinned value fails the build (nothing is built). A pending value is pinned by downloading the
# artifact, checking it against every value all its sources state (the Hub: MD5 and SHA-1; the
# sources of values already pinned, which state those values), and writing the value in place of
# `pending`. An artifact with no line at all is pinned the same way from its host's publisher
# (publisher_default). The image then gets the strongest pinned value (sha512 > sha256 > sha1 >
# md5), which images/fetch.sh checks again inside `docker build`.
#
# ALPAKA_IMAGES_HOSTS_BASE (tests only): fetch https://HOST/PATH from
# $ALPAKA_IMAGES_HOSTS_BASE/HOST/PATH instead (integration/standins/artifact_hosts.py). What is
# recorded and compared is always the real URL.

sources_init() {
  prog=$1 checksums=$2 record=$3 work=$4 pinned_now=0
}

hex_length() {
  case "$1" in
    sha512) echo 128 ;;
    sha256) echo 64 ;;
    sha1) echo 40 ;;
    md5) echo 32 ;;
    *) return 1 ;;
  esac
}

strength() {
  case "$1" in
    sha512) echo 4 ;;
    sha256) echo 3 ;;
    sha1) echo 2 ;;
    md5) echo 1 ;;
  esac
}

is_hex() { # ALGO VALUE
  local n
  n=$(hex_length "$1") || return 1
  [[ $2 =~ ^[0-9a-f]+$ && ${#2} -eq $n ]]
}

# The kind of SOURCE for ALGO of URL (beside | hub | commit), or the reason it is none.
source_kind() {
  local algo=$1 url=$2 src=$3
  if [[ $src == "$url.$algo" ]]; then
    echo beside
  elif [[ $src =~ ^https://api\.hub\.confluent\.io/api/plugins/([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+)/versions/([A-Za-z0-9._-]+)$ ]]; then
    local owner=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]} version=${BASH_REMATCH[3]}
    if [[ $algo != md5 && $algo != sha1 ]]; then
      echo "Confluent Hub states md5 and sha1 only, not $algo"
      return 1
    fi
    if [[ ${url#https://*/} != "api/plugins/$owner/$name/versions/$version/$owner-$name-$version.zip" ]]; then
      echo "that manifest is about $owner-$name-$version.zip, not this URL"
      return 1
    fi
    echo hub
  elif [[ $src =~ ^https://raw\.githubusercontent\.com/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+/[0-9a-f]{40}/[^#[:space:]]+#[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo commit
  else
    echo "not a source this script can read: <url>.<algo>, a Confluent Hub plugin manifest, or a raw.githubusercontent.com file at a 40-hex commit with #NAME"
    return 1
  fi
}

describe_kind() { # KIND SOURCE
  case "$1" in
    beside) echo "checksum file published beside the artifact" ;;
    hub) echo "Confluent Hub plugin manifest: archive.md5 and archive.sha1" ;;
    commit) echo "${2##*#}=<hex> in that file, at a fixed commit" ;;
  esac
}

# `<algo> <source>` of the publisher of URL's host, for an artifact checksums.txt has no line for.
publisher_default() {
  local url=$1
  case "$url" in
    https://repo1.maven.org/maven2/*) echo "sha512 $url.sha512" ;;
    https://dl.k8s.io/*) echo "sha256 $url.sha256" ;;
    https://hub-downloads.confluent.io/api/plugins/*/*/versions/*/*.zip)
      local p=${url#https://hub-downloads.confluent.io/api/plugins/}
      echo "sha1 https://api.hub.confluent.io/api/plugins/${p%/*}"
      ;;
    *) return 1 ;;
  esac
}

# The lines of $checksums, parsed: e_value e_algo e_url e_src e_line (line numbers). Every line
# is checked; all errors are reported at once.
load_checksums() {
  e_value=() e_algo=() e_url=() e_src=() e_line=()
  local n=0 bad=0 value algo url src rest why i
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    read -r value algo url src rest <<<"$line"
    why=""
    if [[ -n $rest || -z $src ]]; then
      why="want '<value> <algo> <artifact-url> <source>' (4 fields)"
    elif ! hex_length "$algo" >/dev/null; then
      why="unknown algorithm '$algo' (sha512, sha256, sha1, md5)"
    elif [[ $value != pending ]] && ! is_hex "$algo" "$value"; then
      why="'$value' is neither 'pending' nor a lowercase $algo hex digest ($(hex_length "$algo") characters)"
    elif [[ $url != https://* ]]; then
      why="the artifact URL is not https"
    elif ! why=$(source_kind "$algo" "$url" "$src"); then
      why="source $src: $why"
    else
      why=""
      for i in "${!e_url[@]}"; do
        if [[ ${e_url[i]} == "$url" && ${e_algo[i]} == "$algo" ]]; then
          why="a second $algo line for this URL (first on line ${e_line[i]})"
        fi
      done
    fi
    if [[ -n $why ]]; then
      echo "$prog: $checksums line $n: $why" >&2
      bad=1
      continue
    fi
    e_value+=("$value") e_algo+=("$algo") e_url+=("$url") e_src+=("$src") e_line+=("$n")
  done <"$checksums"
  return "$bad"
}

# The indices of URL's lines.
entries_of() {
  local i
  for i in "${!e_url[@]}"; do [[ ${e_url[i]} == "$1" ]] && echo "$i"; done
  return 0
}

# Fetches the https URL to OUT, through ALPAKA_IMAGES_HOSTS_BASE when set. On failure says why.
http_get() {
  local url=$1 out=$2 target=$1 err
  [[ $url == https://* ]] || { echo "not an https URL: $url"; return 1; }
  if [[ -n ${ALPAKA_IMAGES_HOSTS_BASE:-} ]]; then
    target="${ALPAKA_IMAGES_HOSTS_BASE%/}/${url#https://}"
  fi
  if ! err=$(curl -fsSL --retry 3 --connect-timeout 30 --proto-redir =https -o "$out" "$target" 2>&1); then
    rm -f "$out"
    echo "${err:-curl failed}"
    return 1
  fi
}

digest_of() { # ALGO FILE
  if command -v "$1sum" >/dev/null 2>&1; then
    "$1sum" "$2" | cut -d' ' -f1
  else
    openssl dgst "-$1" -r "$2" | cut -d' ' -f1
  fi
}

# What SOURCE states for URL: `<algo> <hex>` lines (the Hub: md5 and sha1). Fails saying why.
stated_values() {
  local algo=$1 url=$2 src=$3 kind file err value
  kind=$(source_kind "$algo" "$url" "$src") || { echo "$kind"; return 1; }
  file="$work/statement"
  err=$(http_get "${src%%#*}" "$file") || { echo "cannot read it: $err"; return 1; }
  case "$kind" in
    beside)
      read -r value _ <"$file" || true
      value=$(tr 'A-F' 'a-f' <<<"$value")
      is_hex "$algo" "$value" || { echo "it holds no $algo hex digest"; return 1; }
      echo "$algo $value"
      ;;
    hub)
      command -v jq >/dev/null 2>&1 || { echo "jq is needed to read it (apt-get install jq)"; return 1; }
      local fields got_url a md5 sha1
      fields=$(jq -er '[.archive.url, .archive.md5, .archive.sha1] | map(strings) | select(length == 3) | join(" ")' "$file" 2>/dev/null) \
        || { echo "it is not a plugin manifest with archive.url, archive.md5 and archive.sha1"; return 1; }
      read -r got_url md5 sha1 <<<"$fields"
      # The archive's host has varied (hub-downloads.confluent.io, CloudFront); its path names it.
      if [[ ${got_url#https://*/} != "${url#https://*/}" ]]; then
        echo "its archive.url is $got_url, another archive than this one"
        return 1
      fi
      for a in "md5 $md5" "sha1 $sha1"; do
        read -r a value <<<"$a"
        value=$(tr 'A-F' 'a-f' <<<"$value")
        is_hex "$a" "$value" || { echo "its archive.$a is not a $a hex digest"; return 1; }
        echo "$a $value"
      done
      ;;
    commit)
      local name=${src##*#} values
      values=$(grep -oE "(^|[^A-Za-z0-9_])$name=\"?[0-9A-Fa-f]+" "$file" | sed -E 's/.*="?//' | tr 'A-F' 'a-f' | sort -u)
      if [[ -z $values || $values == *$'\n'* ]]; then
        echo "it assigns $name $([[ -z $values ]] && echo "no hex value" || echo "more than one value")"
        return 1
      fi
      is_hex "$algo" "$values" || { echo "its $name is not a $algo hex digest"; return 1; }
      echo "$algo $values"
      ;;
  esac
}

# Replaces URL's `pending ALGO` line by VALUE (or adds the line) in $checksums, atomically.
write_pin() {
  local url=$1 algo=$2 src=$3 value=$4 tmp
  tmp=$(mktemp "$checksums.XXXXXX")
  cp -p "$checksums" "$tmp"
  awk -v url="$url" -v algo="$algo" -v src="$src" -v value="$value" '
    !done && $1 == "pending" && $2 == algo && $3 == url && $4 == src && NF == 4 { print value, algo, url, src; done = 1; next }
    { print }
    END { if (!done) print value, algo, url, src }
  ' "$checksums" >"$tmp" || { rm -f "$tmp"; return 1; }
  mv -f "$tmp" "$checksums"
}

# Resolves URL (LABEL names it in messages): checks every source of it, pins what is pending,
# and sets `resolved` to the strongest pinned `<algo>:<hex>`. Prints what it did; fails loudly.
resolve() {
  local url=$1 label=$2 i algo src value line a h stated
  local idx=() c_algo=() c_hex=() c_from=() p_algo=() p_src=() p_value=()
  resolved=""
  while read -r i; do idx+=("$i"); done < <(entries_of "$url")
  if ((${#idx[@]} == 0)); then
    if ! line=$(publisher_default "$url"); then
      echo "$prog: no line in $checksums for $url ($label), and no publisher known for its host;" >&2
      echo "  add '$(printf 'pending <algo> %s <source>' "$url")' with the publisher's checksum source (see images/sources.sh)" >&2
      return 1
    fi
    read -r algo src <<<"$line"
    e_value+=(pending) e_algo+=("$algo") e_url+=("$url") e_src+=("$src") e_line+=("-")
    idx=($((${#e_url[@]} - 1)))
  fi
  for i in "${idx[@]}"; do
    algo=${e_algo[i]} src=${e_src[i]} value=${e_value[i]}
    if ! stated=$(stated_values "$algo" "$url" "$src"); then
      echo "$prog: cannot check $url ($label) against $src: $stated" >&2
      return 1
    fi
    local want=""
    while read -r a h; do
      [[ $a == "$algo" ]] && want=$h
      c_algo+=("$a") c_hex+=("$h") c_from+=("$src states")
    done <<<"$stated"
    if [[ -z $want ]]; then
      echo "$prog: $src states no $algo for $url ($label)" >&2
      return 1
    fi
    if [[ $value == pending ]]; then
      p_algo+=("$algo") p_src+=("$src") p_value+=("$want")
    elif [[ $value != "$want" ]]; then
      {
        echo "$prog: CHECKSUM SOURCE DISAGREES WITH THE PIN for $url ($label):"
        echo "  $checksums pins   $algo $value"
        echo "  $src states $algo $want"
        echo "  Nothing was built and the pin is left as it is: find out why (a republished artifact? a wrong pin?) before touching it."
      } >&2
      return 1
    else
      echo "  $algo $value  $url  (pinned; $src agrees)"
    fi
  done
  # Pending values: the download must match every value c_* holds, i.e. all that URL's sources
  # state (those of pinned values included, each equal to its pin by now).
  if ((${#p_algo[@]})); then
    local file="$work/artifact" err got
    if ! err=$(http_get "$url" "$file"); then
      echo "$prog: cannot download $url ($label) to pin it: $err" >&2
      return 1
    fi
    for i in "${!c_algo[@]}"; do
      got=$(digest_of "${c_algo[i]}" "$file")
      if [[ $got != "${c_hex[i]}" ]]; then
        rm -f "$file"
        {
          echo "$prog: CHECKSUM MISMATCH for $url ($label):"
          echo "  ${c_from[i]} ${c_algo[i]} ${c_hex[i]}"
          echo "  the download is ${c_algo[i]} $got"
          echo "  The download was discarded, not pinned; nothing was built."
        } >&2
        return 1
      fi
    done
    rm -f "$file"
    for i in "${!p_algo[@]}"; do
      if ((record)); then
        write_pin "$url" "${p_algo[i]}" "${p_src[i]}" "${p_value[i]}" || {
          echo "$prog: could not write $checksums" >&2
          return 1
        }
        pinned_now=$((pinned_now + 1))
        echo "  ${p_algo[i]} ${p_value[i]}  $url  (pinned now from ${p_src[i]}; the download matched all ${#c_algo[@]} values its sources state)"
      else
        echo "  ${p_algo[i]} ${p_value[i]}  $url  (would be pinned from ${p_src[i]}; the download matched all ${#c_algo[@]} values its sources state)"
      fi
    done
    if ((record)); then load_checksums || return 1; fi
  fi
  # The strongest value pinned for URL (without record: including what would have been).
  local best="" best_s=0 s
  while read -r i; do
    [[ ${e_value[i]} == pending ]] && continue
    s=$(strength "${e_algo[i]}")
    ((s > best_s)) && best_s=$s best="${e_algo[i]}:${e_value[i]}"
  done < <(entries_of "$url")
  for i in "${!p_algo[@]}"; do
    s=$(strength "${p_algo[i]}")
    ((s > best_s)) && best_s=$s best="${p_algo[i]}:${p_value[i]}"
  done
  # shellcheck disable=SC2034 # the caller's result
  resolved=$best
}

# The --dry-run account of URL: every checksum source it has, without any network access.
describe_sources() {
  local url=$1 i line algo src kind
  local idx=()
  while read -r i; do idx+=("$i"); done < <(entries_of "$url")
  if ((${#idx[@]} == 0)); then
    if ! line=$(publisher_default "$url"); then
      echo "    NO CHECKSUM SOURCE: no line in checksums.txt and no publisher known for its host"
      return 1
    fi
    read -r algo src <<<"$line"
    kind=$(source_kind "$algo" "$url" "$src")
    echo "    $algo to be pinned from $src at first build ($(describe_kind "$kind" "$src"); no line yet: the host's publisher)"
    return 0
  fi
  for i in "${idx[@]}"; do
    kind=$(source_kind "${e_algo[i]}" "$url" "${e_src[i]}")
    if [[ ${e_value[i]} == pending ]]; then
      echo "    ${e_algo[i]} to be pinned from ${e_src[i]} at first build ($(describe_kind "$kind" "${e_src[i]}"))"
    else
      echo "    ${e_algo[i]} ${e_value[i]} pinned; source ${e_src[i]} ($(describe_kind "$kind" "${e_src[i]}")), checked at every build"
    fi
  done
}
