"""Check 3: ciam against a real RFC 7009 / RFC 7662 server built with authlib (Flask)."""
import base64
import json
import logging
import os
import random
import string
import sys
import threading
import time
from collections import Counter
from urllib.parse import parse_qsl, unquote

import requests
from flask import Flask, request as flask_request
from werkzeug.serving import make_server

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants, ClientMixin, TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from common import run, parse_ndjson, tmp_path, write_problems, finish, require_binary

# ---------------------------------------------------------------- the OAuth 2.0 server (authlib)
CLIENTS = {}
TOKENS_BY_ACCESS = {}
TOKENS_BY_REFRESH = {}
DB = threading.Lock()
WIRE = []  # raw revocation requests seen


class Client(ClientMixin):
    def __init__(self, cid, secret):
        self.client_id, self.client_secret = cid, secret

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in ("client_credentials", "password")


class Token(TokenMixin):
    def __init__(self, client_id, d):
        self.client_id = client_id
        self.access_token = d["access_token"]
        self.refresh_token = d.get("refresh_token")
        self.scope = d.get("scope", "")
        self.expires_in = d.get("expires_in", 3600)
        self.issued_at = time.time()
        self.access_revoked = False
        self.refresh_revoked = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return False

    def is_revoked(self):
        return self._revoked

    def get_user(self):
        return None

    def get_client(self):
        return CLIENTS[self.client_id]


class TokenView:
    """The same Token object seen through the access or the refresh token."""

    def __init__(self, tok, kind):
        self.t, self.kind = tok, kind

    def __getattr__(self, k):
        return getattr(self.t, k)

    def check_client(self, client):
        return self.t.check_client(client)

    def is_expired(self):
        return False

    def is_revoked(self):
        return self.t.access_revoked if self.kind == "access_token" else self.t.refresh_revoked


def query_client(cid):
    return CLIENTS.get(cid)


def save_token(d, req):
    t = Token(req.client.client_id, d)
    with DB:
        TOKENS_BY_ACCESS[t.access_token] = t
        if t.refresh_token:
            TOKENS_BY_REFRESH[t.refresh_token] = t


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_user(self, username, password):
        return {"id": username} if password == "pw" else None


class CCGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _lookup(token_string, hint):
    with DB:
        if hint == "refresh_token":
            order = ("refresh_token", "access_token")
        else:
            order = ("access_token", "refresh_token")
        for kind in order:  # RFC 7009 2.1: an unknown hint type extends the search
            t = (TOKENS_BY_ACCESS if kind == "access_token" else TOKENS_BY_REFRESH).get(token_string)
            if t:
                return TokenView(t, kind)
    return None


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def revoke_token(self, token, request):
        with DB:
            if token.kind == "access_token":
                token.t.access_revoked = True
            else:  # like CIAM: revoking a refresh token also revokes its access token
                token.t.refresh_revoked = True
                token.t.access_revoked = True


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def introspect_token(self, token):
        return {"active": True, "client_id": token.client_id, "token_type": token.kind}

    def check_permission(self, token, client, request):
        return True


B64TOK = string.ascii_letters + string.digits + "-._~+/="


def gen_token(client, grant_type, user, scope):
    rng = random.SystemRandom()
    extra = "%&?#:;@!*'()[]$,^`{}|\\\"<>é中😀"
    s = "".join(rng.choice(B64TOK + (extra if rng.random() < 0.5 else "")) for _ in range(rng.randint(8, 80)))
    if s.startswith("#"):
        s = "x" + s
    return s


logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log
app = Flask(__name__)
app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = gen_token
app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = gen_token
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_grant(PasswordGrant)
server.register_grant(CCGrant)
server.register_endpoint(Revocation)
server.register_endpoint(Introspection)

PREFIX = "/tenant-x"


@app.route("/oauth2/token", methods=["POST"])
@app.route(PREFIX + "/oauth2/token", methods=["POST"])
def issue():
    return server.create_token_response()


@app.route("/oauth2/revoke", methods=["POST"])
@app.route(PREFIX + "/oauth2/revoke", methods=["POST"])
def revoke():
    raw = flask_request.get_data(cache=True)
    WIRE.append(dict(method=flask_request.method, path=flask_request.path, ctype=flask_request.content_type,
                     auth=flask_request.headers.get("Authorization"), body=raw))
    return server.create_endpoint_response(Revocation.ENDPOINT_NAME)


@app.route("/oauth2/introspect", methods=["POST"])
def introspect():
    return server.create_endpoint_response(Introspection.ENDPOINT_NAME)


# ---------------------------------------------------------------- driver
def rand_client_part(rng, nasty):
    base = string.ascii_letters + string.digits + "-_."
    pool = base + (" :%+&=/~!é中😀'\"\\@#" if nasty else "")
    s = "".join(rng.choice(pool) for _ in range(rng.randint(4, 30)))
    return s.strip() or "c"


def issue_tokens(base, cid, secret, rng, n):
    out = []  # (token, kind)
    for _ in range(n):
        if rng.random() < 0.5:
            r = requests.post(base + "/oauth2/token", data={"grant_type": "client_credentials"},
                              auth=(cid, secret) if rng.random() < 0.5 else None) if False else \
                requests.post(base + "/oauth2/token", data={"grant_type": "client_credentials",
                                                             "client_id": cid, "client_secret": secret})
        else:
            r = requests.post(base + "/oauth2/token", data={"grant_type": "password", "username": "u",
                                                             "password": "pw", "client_id": cid,
                                                             "client_secret": secret})
        r.raise_for_status()
        d = r.json()
        out.append((d["access_token"], "access_token"))
        if d.get("refresh_token"):
            out.append((d["refresh_token"], "refresh_token"))
    return out


def introspect(base, cid, secret, tok, kind):
    r = requests.post(base + "/oauth2/introspect", data={"token": tok, "token_type_hint": kind,
                                                          "client_id": cid, "client_secret": secret})
    r.raise_for_status()
    return r.json()["active"]


def check_wire(w, cid, secret, mode, hint_wire, probs):
    if w["ctype"] is None or not w["ctype"].startswith("application/x-www-form-urlencoded"):
        probs.append("Content-Type %r" % w["ctype"])
    form = parse_qsl(w["body"].decode("ascii"), keep_blank_values=True, strict_parsing=True)
    keys = [k for k, _ in form]
    fd = dict(form)
    if len(keys) != len(set(keys)):
        probs.append("duplicate form keys %r" % keys)
    if mode == "post":
        if fd.get("client_id") != cid or fd.get("client_secret") != secret:
            probs.append("post: client_id/secret in body %r/%r" % (fd.get("client_id"), "***"))
        if w["auth"]:
            probs.append("post: unexpected Authorization header")
    else:
        if "client_secret" in fd:
            probs.append("basic: client_secret also in body")
        a = w["auth"] or ""
        if not a.startswith("Basic "):
            probs.append("basic: Authorization %r" % a[:20])
        else:
            raw = base64.b64decode(a[6:]).decode("utf-8")
            u, _, p = raw.partition(":")
            # RFC 6749 2.3.1: form-urlencode id and secret before Basic. Decode strictly as a form value.
            from urllib.parse import unquote_plus
            if unquote_plus(u) != cid or unquote_plus(p) != secret:
                probs.append("basic: credentials do not decode with form-urlencoding: %r" % raw[:80])
            if unquote(u) != cid or unquote(p) != secret:
                probs.append("basic: credentials do not decode with plain percent-decoding (authlib): %r" % raw[:80])
    if fd.get("token_type_hint") != hint_wire:
        probs.append("token_type_hint %r want %r" % (fd.get("token_type_hint"), hint_wire))
    if set(keys) - {"token", "token_type_hint", "client_id", "client_secret"}:
        probs.append("extra form keys %r" % keys)
    return fd.get("token")


def one_run(rng, base, i, wrong_secret=False):
    nasty = rng.random() < 0.5
    cid = rand_client_part(rng, nasty) + str(i)
    secret = rand_client_part(rng, nasty)
    if rng.random() < 0.25:  # D3 regression: an inner space (or several) in the id and/or the secret
        which = rng.choice(["id", "secret", "both"])
        sp = rng.choice([" ", "  ", " + ", "%20 "])
        if which in ("id", "both"):
            cid = "c" + sp + cid
        if which in ("secret", "both"):
            secret = "s" + sp + secret
    CLIENTS[cid] = Client(cid, secret)
    toks = issue_tokens(base, cid, secret, rng, rng.choice([1, 2, 5, 12]))
    hint = rng.choice([None, None, "access_token", "refresh_token"])
    hint_spelling = None
    if hint:
        hint_spelling = hint
        if os.environ.get("OLD_HINT"):
            rng.choice([hint, hint])
    pool = [t for t in toks if hint is None or t[1] == hint]
    targets = [t for t in pool if rng.random() < 0.7] or pool[:1]
    unknown = [(gen_token(None, None, None, None) + "unk", None) for _ in range(rng.choice([0, 0, 1, 3]))]
    if not targets and not unknown:
        unknown = [(gen_token(None, None, None, None) + "unk", None)]
    allt = targets + unknown
    rng.shuffle(allt)
    mode = rng.choice(["post", "basic"])
    prefix = PREFIX if rng.random() < 0.15 else ""
    args = ["ciam", "--endpoint", base + prefix, "-o", "json", "--concurrency", "8", "--client-id=" + cid]
    if mode == "basic" or rng.random() < 0.5:
        args += ["--client-auth", mode]
    if hint:
        args += ["--token-type-hint", hint_spelling]
    env = {}
    sent_secret = secret + ("WRONG" if wrong_secret else "")
    if rng.random() < 0.5:
        env["CIAM_CLIENT_SECRET"] = sent_secret
    else:
        fn = tmp_path("ciam_secret_%d" % i)
        with open(fn, "w") as f:
            f.write(sent_secret + ("\n" if rng.random() < 0.5 else ""))
        os.chmod(fn, 0o600)
        args += ["--client-secret-file", fn]
    stdin = None
    if rng.random() < 0.5:
        fn = tmp_path("ciam_tokens_%d" % i)
        with open(fn, "w") as f:
            f.write("\n".join(t for t, _ in allt) + "\n")
        args += ["--input", fn]
    else:
        stdin = ("\n".join(t for t, _ in allt) + "\n").encode()
        args += ["--input", "-"]
    del WIRE[:]
    rc, out, err = run(args, env, stdin=stdin)
    wire = list(WIRE)
    probs = []
    res = dict(rc=rc, n=len(allt), unknown=len(unknown), mode=mode, hint=hint_spelling, requests=len(wire),
               space=(" " in cid or " " in secret))
    if wrong_secret:
        if rc == 0:
            probs.append("wrong secret accepted?! wire: %r" % [(w["auth"], w["body"][:300]) for w in wire][:2])
        recs, summ = parse_ndjson(out) if out.strip() else ([], None)
        if rc != 3:
            probs.append("wrong secret: exit %d want 3; stderr %s" % (rc, err[-300:]))
        if len(wire) != 1:
            probs.append("wrong secret: %d requests want 1" % len(wire))
        st = Counter(r["status"] for r in recs)
        if st != Counter({"failed": 1, "skipped": len(allt) - 1}):
            probs.append("wrong secret statuses %r" % dict(st))
        for t, k in targets:
            if k and not introspect(base, cid, secret, t, k):
                probs.append("wrong secret: a token got revoked anyway")
        return res, probs, args, env
    seen_tokens = Counter()
    for w in wire:
        if w["path"] != prefix + "/oauth2/revoke":
            probs.append("path %r" % w["path"])
        seen_tokens[check_wire(w, cid, secret, mode, hint, probs)] += 1
    if rc != 0:
        probs.append("exit %d; stderr: %s" % (rc, err[-400:]))
        return res, probs, args, env
    if seen_tokens != Counter(t for t, _ in allt):
        probs.append("tokens on the wire differ from asked")
    recs, summ = parse_ndjson(out)
    if len(recs) != len(allt) or any(r["status"] != "revoked" for r in recs):
        probs.append("records: %r" % Counter(r["status"] for r in recs))
    import hashlib
    for r in recs:
        want = "sha256:" + hashlib.sha256(allt[r["index"]][0].encode()).hexdigest()[:12]
        if r["target"].get("token") != want:
            probs.append("record %d fingerprint %r want %r" % (r["index"], r["target"], want))
    revoked_refresh_access = set()
    for t, k in targets:
        if introspect(base, cid, secret, t, k):
            probs.append("token still active after revoke (%s)" % k)
    # tokens not asked stay active (except access tokens whose refresh token was revoked)
    by_tok = {t: TOKENS_BY_ACCESS.get(t) or TOKENS_BY_REFRESH.get(t) for t, _ in toks}
    asked = set(t for t, _ in targets)
    for t, k in toks:
        if t in asked:
            continue
        obj = by_tok[t]
        if k == "access_token" and obj.refresh_token in asked:
            continue
        if not introspect(base, cid, secret, t, k):
            probs.append("a token that was not asked is inactive (%s)" % k)
    for s in [secret] + [t for t, _ in allt]:
        if len(s) >= 8 and (s in out or s in err):
            probs.append("secret/token leaked to output")
            break
    return res, probs, args, env


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    require_binary()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_port
    tot = Counter()
    PROBLEMS = []
    for i in range(iters):
        res, probs, args, env = one_run(rng, base, i)
        tot["runs"] += 1
        tot["targets"] += res["n"]
        tot["unknown_tokens"] += res["unknown"]
        tot["requests"] += res["requests"]
        tot["mode_" + res["mode"]] += 1
        tot["hint_%s" % res["hint"]] += 1
        tot["exit0"] += res["rc"] == 0
        if res["space"]:
            tot["space_%s_runs" % res["mode"]] += 1
            tot["space_%s_clean" % res["mode"]] += not probs
        if probs:
            PROBLEMS.append({"run": i, "args": args, "env": env, "problems": probs[:10]})
    for j in range(10):
        res, probs, args, env = one_run(rng, base, 10000 + j, wrong_secret=True)
        tot["wrong_secret_runs"] += 1
        tot["wrong_secret_ok"] += not probs
        if probs:
            PROBLEMS.append({"run": "wrong%d" % j, "args": args, "env": env, "problems": probs[:10]})
    print(json.dumps(dict(tot), indent=1))
    print("runs with problems:", len(PROBLEMS))
    cats = Counter()
    for p in PROBLEMS:
        for x in set(y[:40] for y in p["problems"]):
            cats[x] += 1
    print("problem categories:", dict(cats))
    write_problems("ciam", PROBLEMS)
    for p in PROBLEMS[:6]:
        print(json.dumps(p, ensure_ascii=False)[:2000])
    finish("check_ciam", len(PROBLEMS))


if __name__ == "__main__":
    main()
