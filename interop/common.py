"""Shared helpers: a loopback HTTP server that hands every raw request to a handler function,
a runner for the revoke binary, and the per-process scratch / output directories.

Environment:
  REVOKE_BIN   the binary under test (default: <repo>/target/release/revoke, found from this file)
  INTEROP_OUT  where problems_*.json go (default: a fresh temporary directory; never the repo)
"""
import atexit
import json
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REVOKE = os.environ.get("REVOKE_BIN") or os.path.join(os.path.dirname(HERE), "target", "release", "revoke")

# Scratch space for this process: fake HOME (no real tccli / huawei credential files) and input /
# secret files. Removed at exit, since it holds the generated secrets.
WORK = tempfile.mkdtemp(prefix="revoke-interop-")
atexit.register(shutil.rmtree, WORK, True)
FAKEHOME = os.path.join(WORK, "home")
TMP = os.path.join(WORK, "tmp")
os.makedirs(FAKEHOME)
os.makedirs(TMP)

_OUT = []


def out_dir():
    """INTEROP_OUT, or a temporary directory made on first use (kept, so the results can be read)."""
    if not _OUT:
        d = os.environ.get("INTEROP_OUT") or tempfile.mkdtemp(prefix="revoke-interop-out-")
        os.makedirs(d, exist_ok=True)
        _OUT.append(d)
    return _OUT[0]


def tmp_path(name):
    return os.path.join(TMP, name)


def write_problems(name, problems):
    """Write problems_<name>.json to the output directory and return its path."""
    path = os.path.join(out_dir(), "problems_%s.json" % name)
    with open(path, "w") as f:
        json.dump(problems, f, ensure_ascii=False, indent=1)
    print("problems written to", path)
    return path


def finish(name, n_problems, checker_errors=()):
    """Exit status for a check: 1 if any run had a problem or the checker itself failed, else 0."""
    errs = [e for e in checker_errors if e]
    if n_problems or errs:
        print("%s: FAIL (%d run(s) with problems, %d checker error(s))" % (name, n_problems, len(errs)))
        sys.exit(1)
    print("%s: OK" % name)
    sys.exit(0)


def require_binary():
    if not (os.path.isfile(REVOKE) and os.access(REVOKE, os.X_OK)):
        sys.exit("revoke binary not found at %s (cargo build --release, or set REVOKE_BIN)" % REVOKE)


class Req:
    def __init__(self, h):
        self.method = h.command
        self.target = h.path  # raw request-target as on the wire
        self.path, _, self.query = self.target.partition("?")
        self.headers = h.headers  # email.message.Message (case-insensitive)
        self.header_items = list(h.headers.items())
        n = int(h.headers.get("Content-Length") or 0)
        self.body = h.rfile.read(n) if n else b""
        self.client = h.client_address


class Server:
    """handler(req) -> (status, headers_dict, body_bytes)"""

    LOOPBACK = {"127.0.0.1": socket.AF_INET, "::1": socket.AF_INET6}

    def __init__(self, handler, host="127.0.0.1", family=socket.AF_INET):
        if self.LOOPBACK.get(host) != family:  # never listen beyond loopback
            raise ValueError("test servers bind loopback only, not %r" % host)
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                req = Req(self)
                try:
                    status, hdrs, body = handler(req)
                except Exception as e:  # a bug in the checker itself
                    outer.errors.append(repr(e))
                    status, hdrs, body = 500, {}, b"checker error"
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _any

        class S(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.errors = []
        self.httpd = S((host, 0), H)
        self.port = self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run(args, env_extra=None, stdin=None, timeout=300):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TENCENTCLOUD_", "HUAWEICLOUD_", "SMH_", "CIAM_", "REVOKE_", "TCCLI_"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["HOME"] = FAKEHOME  # no real tccli / huawei credential files
    env.update(env_extra or {})
    p = subprocess.run([REVOKE] + args, env=env, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def parse_ndjson(out):
    recs, summ = [], None
    for line in out.splitlines():
        if not line.strip():
            continue
        o = json.loads(line)
        if "summary" in o:
            summ = o
        else:
            recs.append(o)
    return recs, summ


NASTY = [" ", "\"", "'", "\\", "/", ":", "%", "+", "~", "?", "#", "&", "=", ",", ";", "@", "!", "*", "(", ")",
         "[", "]", "{", "}", "<", ">", "|", "^", "`", "$",
         "é", "ü", "中", "文", "日本", "ß", "Ω", "ж", "😀", "🔥", "👩‍💻", "\u00a0", "\u200b", "ǅ", "İ"]


def rand_id(rng, n_min=1, n_max=24, nasty=0.3, allow_edge_ws=False, forbid=""):
    n = rng.randint(n_min, n_max)
    out = []
    for _ in range(n):
        if rng.random() < nasty:
            c = rng.choice(NASTY)
        else:
            c = rng.choice(string.ascii_letters + string.digits + "-_.")
        out.append(c)
    s = "".join(out)
    for ch in forbid:
        s = s.replace(ch, "x")
    if not allow_edge_ws:
        s = s.strip()
        if not s:
            s = "x"
    return s


def rand_ascii_secret(rng, n_min=8, n_max=48):
    chars = "".join(chr(c) for c in range(0x21, 0x7f))
    return "".join(rng.choice(chars) for _ in range(rng.randint(n_min, n_max)))


def rand_alnum(rng, n=20):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))
