#!/usr/bin/env python3
"""Stand-ins of the hosts images/build.sh, images/pin.sh and images/fetch.sh download from, and of
the checksums their publishers state, for integration/images.rs. Standard library only.

Start: artifact_hosts.py --config CONFIG.json
Listens on 127.0.0.1 (a free port), prints `READY http://127.0.0.1:PORT` (flushed), and serves
until SIGTERM/SIGINT or, when stdin is a pipe, until it closes. The scripts reach it through
ALPAKA_IMAGES_HOSTS_BASE=http://127.0.0.1:PORT: they fetch https://HOST/PATH as
$ALPAKA_IMAGES_HOSTS_BASE/HOST/PATH, so a request path here is `/HOST/PATH` and names the real
URL https://HOST/PATH. The config is read again on every request, so a test tampers with an
archive or makes a publisher state another value by rewriting it:

  {"log": "/abs/requests.log",                       # one line per request: `GET <real url> <status>`
   "files": {"<real url>": "/abs/path", ...},        # served as they are (archives, a GitHub file)
   "statements": {"<real artifact url>": {"md5": "<hex>", "sha1": "<hex>",
                                          "sha256": "<hex>", "sha512": "<hex>"}, ...}}

`statements` are what each artifact's publisher says about it; the test computes them over the
bytes it means the publisher to have published (which may differ from what `files` serves: a
tampered download). They are published in each host's own shape, and only the algorithms that
host publishes:

- repo1.maven.org (Maven Central): `<artifact url>.md5`, `.sha1`, `.sha512` beside the artifact,
  each the bare lowercase hex digest (what Central serves, e.g. .../debezium-connector-mysql/
  3.5.0.Final/debezium-connector-mysql-3.5.0.Final-plugin.tar.gz.sha512). A statement may carry
  `"with_name": true` to append two spaces and the file name (the `sha512sum` line some
  publishers upload instead), which readers must accept too.
- dl.k8s.io: `<artifact url>.sha256` and `.sha512`, the bare hex digest.
- api.hub.confluent.io (Confluent Hub): GET /api/plugins/<owner>/<name>/versions/<version> answers
  the plugin manifest for the archive https://hub-downloads.confluent.io/api/plugins/<owner>/
  <name>/versions/<version>/<owner>-<name>-<version>.zip, as JSON in the shape of confluentinc/cli
  pkg/cpstructs/hub_structs.go (Manifest: name, title, version, owner{username, name},
  archive{url, md5, sha1}, license[{name, url}], end_of_life_at), which the CLI reads with
  internal/pkg/hub/manifest.go GetRemoteManifest (`%s/api/plugins/%s/%s/versions/%s` on
  https://api.hub.confluent.io) and checks a download against (md5 and sha1,
  internal/connect/command_plugin_install.go installFromRemote); the fields this stand-in fills
  are those the CLI's own test server fills (test/test-server/hub_handlers.go). An unknown
  plugin version is a 404 with a JSON body {"message": ...} (the field GetRemoteManifest reports).
- any other URL: `files` only.
Everything else is a 404.

NOT modelled: HEAD, ranges, redirects (dl.k8s.io redirects to a CDN; the scripts forbid any
redirect to a non-HTTPS URL, which nothing here exercises), TLS (the override is plain HTTP),
Central's .sha256 (Debezium uploads none; nothing here asks for it), the Hub's other manifest
fields (description, documentation_url, release_date, ...), rate limits.
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PUBLISHED_BESIDE = {
    "repo1.maven.org": ("md5", "sha1", "sha512"),
    "dl.k8s.io": ("sha256", "sha512"),
}
HUB_API = "api.hub.confluent.io"
HUB_DOWNLOADS = "hub-downloads.confluent.io"
HUB_MANIFEST = re.compile(r"^/api/plugins/([^/]+)/([^/]+)/versions/([^/]+)$")


class Handler(BaseHTTPRequestHandler):
    config_path = ""
    lock = threading.Lock()

    def log_message(self, *args):  # quiet: the test reads the config's log instead
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        config = json.load(open(self.config_path))
        host, _, path = self.path.lstrip("/").partition("/")
        path = "/" + path.split("?", 1)[0]
        url = f"https://{host}{path}"
        status, body, ctype = self.answer(config, host, path, url)
        if config.get("log"):
            with self.lock, open(config["log"], "a") as log:
                log.write(f"GET {url} {status}\n")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, config, host, path, url):
        files = config.get("files", {})
        statements = config.get("statements", {})
        if url in files:
            with open(files[url], "rb") as f:
                return 200, f.read(), "application/octet-stream"
        # A checksum file beside an artifact.
        for algo in PUBLISHED_BESIDE.get(host, ()):
            suffix = "." + algo
            if url.endswith(suffix):
                stated = statements.get(url[: -len(suffix)], {})
                if algo in stated:
                    line = stated[algo]
                    if stated.get("with_name"):
                        line += "  " + url[: -len(suffix)].rsplit("/", 1)[-1]
                    return 200, line.encode(), "text/plain"
        if host == HUB_API:
            m = HUB_MANIFEST.match(path)
            if m:
                owner, name, version = m.groups()
                archive = (f"https://{HUB_DOWNLOADS}/api/plugins/{owner}/{name}/versions/"
                           f"{version}/{owner}-{name}-{version}.zip")
                stated = statements.get(archive)
                if stated is None:
                    body = {"message": f"plugin {owner}/{name} version {version} not found"}
                    return 404, json.dumps(body).encode(), "application/json"
                manifest = {
                    "name": name,
                    "title": name,
                    "version": version,
                    "owner": {"username": owner, "name": "Confluent, Inc."},
                    "archive": {"url": archive, "md5": stated["md5"], "sha1": stated["sha1"]},
                    "license": [{"name": "Confluent Community License",
                                 "url": "https://www.confluent.io/confluent-community-license"}],
                    "end_of_life_at": "",
                }
                return 200, json.dumps(manifest).encode(), "application/json"
        return 404, b"Not Found\n", "text/plain"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    args = ap.parse_args()
    Handler.config_path = os.path.abspath(args.config)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        try:  # os.read: a buffered stdin read in a daemon thread breaks interpreter shutdown
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop()

    try:  # only a pipe counts: a stdin of /dev/null (or a terminal) would stop the server at once
        import stat
        if stat.S_ISFIFO(os.fstat(0).st_mode):
            threading.Thread(target=watch_stdin, daemon=True).start()
    except OSError:
        pass
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
