"""Check: `revoke oauth --issuer` end to end against a real OAuth 2.0 server that issues JWT
access tokens (authlib, Flask), discovery included.

The server (`Server`, started on 127.0.0.1 on a free port) is an authorization server as a
deployment would run it:
  - RFC 9068 JWT access tokens (authlib's JWTBearerTokenGenerator: header typ at+jwt, claims
    iss = the server's issuer URL, exp, aud, client_id, jti, iat, sub, scope), signed RS256 with
    a key generated at start; its public key at /jwks.json;
  - a token endpoint (/oauth2/token: client_credentials for confidential clients, password for
    every client, the public one included);
  - RFC 7009 revocation (/oauth2/revoke) and RFC 7662 introspection (/oauth2/introspect). A JWT
    cannot be "forgotten", so, as real servers do, the server keeps the jti of every token it
    issued and marks it revoked; introspection checks the signature, iss and exp, then the store;
  - RFC 8414 metadata at /.well-known/oauth-authorization-server and the OpenID Connect one at
    /.well-known/openid-configuration (issuer http://127.0.0.1:PORT), naming both endpoints and
    revocation_endpoint_auth_methods_supported = client_secret_basic, client_secret_post, none;
  - three clients: one that authenticates with client_secret_post, one with
    client_secret_basic, and a public one (none).

The checks (CHECKS, each a function of the server) run `revoke oauth --issuer ... --verify -o
json` and assert `status: revoked`, `verified: true`, and that introspection afterwards says
`active: false` (and that the tokens not asked stay active):
  - post:   --client-auth post, the secret from OAUTH2_CLIENT_SECRET;
  - basic:  no --client-auth: chosen from the metadata (client_secret_basic is listed first),
            the secret from --client-secret-file;
  - public: no --client-auth and no secret: `none`, chosen from the metadata;
  - a config context [oauth.NAME] with issuer = "..." (and the secret inline in the private file).

  - token:  `revoke token --config F --input FILE --default oauth.e2e` with the issuer named in
            [oauth.e2e]: fresh JWTs routed by their `iss` (route.matched_by oauth_issuer), and
            an opaque reference token (`server.fresh_opaque`, a handle the server maps to a
            grant) routed by --default; each revoked, `verified: true`, inactive afterwards.

Usage: python check_oauth.py [RUNS] [SEED]  (RUNS tokens are spread over the checks; default 6).
"""
import base64
import json
import logging
import os
import random
import sys
import threading
import time
from collections import Counter

import requests
from flask import Flask, jsonify, request as flask_request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

from common import finish, parse_ndjson, require_binary, run, tmp_path, write_problems

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class Client(ClientMixin):
    def __init__(self, cid, secret, method):
        self.client_id, self.client_secret, self.method = cid, secret, method

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return self.client_secret is not None and client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        # Each client authenticates in its own way only, at every endpoint.
        return method == self.method

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        if self.method == "none":
            return grant_type == "password"
        return grant_type in ("client_credentials", "password")


class Token(TokenMixin):
    def __init__(self, client_id, access_token, claims):
        self.client_id = client_id
        self.access_token = access_token
        self.claims = claims
        self.revoked = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.claims.get("scope", "")

    def get_expires_in(self):
        return self.claims["exp"] - self.claims["iat"]

    def is_expired(self):
        return self.claims["exp"] < time.time()

    def is_revoked(self):
        return self.revoked


class Server:
    """The authorization server, started on 127.0.0.1 on a free port."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.clients = {}
        self.tokens = {}  # jti -> Token
        self.handles = {}  # opaque reference token -> the jti it stands for
        self.wire = []  # (path, Authorization, body) of every revocation request
        self.lock = threading.Lock()
        self.app = Flask(__name__)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.http = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = "http://127.0.0.1:%d" % self.http.server_port
        self._routes()
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    # ------------------------------------------------------------ clients and tokens
    def add_client(self, cid, secret, method):
        self.clients[cid] = Client(cid, secret, method)
        return self.clients[cid]

    def _verified_claims(self, token_string):
        """The claims of a JWT this server issued, signature, iss and exp checked; else None."""
        try:
            tok = jwt.decode(token_string, self.key, algorithms=["RS256"])
        except Exception:
            return None
        c = tok.claims
        if tok.header.get("typ") != "at+jwt" or c.get("iss") != self.issuer or c.get("exp", 0) < time.time():
            return None
        return c

    def _lookup(self, token_string):
        with self.lock:
            jti = self.handles.get(token_string)
            if jti is not None:
                return self.tokens.get(jti)
        c = self._verified_claims(token_string)
        if c is None:
            return None
        with self.lock:
            return self.tokens.get(c.get("jti"))

    def fresh_jwt(self, client, scope="profile"):
        """A new JWT access token of `client`, from the token endpoint as a client would get it."""
        data = {"scope": scope, "client_id": client.client_id}
        auth = None
        if client.method == "none":
            data.update(grant_type="password", username="u", password="pw")
        else:
            data["grant_type"] = "client_credentials"
            if client.method == "client_secret_basic":
                auth = (client.client_id, client.client_secret)
                del data["client_id"]
            else:
                data["client_secret"] = client.client_secret
        r = requests.post(self.issuer + "/oauth2/token", data=data, auth=auth, timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def fresh_opaque(self, client):
        """A new opaque (reference) access token of `client`: a random handle the server maps to
        a fresh JWT's grant, as servers that hand out reference tokens do; revoking either
        revokes the grant."""
        c = self._verified_claims(self.fresh_jwt(client))
        handle = "ref_" + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        with self.lock:
            self.handles[handle] = c["jti"]
        return handle

    def active(self, client, token):
        """RFC 7662 introspection of `token` with `client`'s own authentication."""
        data = {"token": token, "token_type_hint": "access_token"}
        auth = None
        if client.method == "client_secret_basic":
            auth = (client.client_id, client.client_secret)
        else:
            data["client_id"] = client.client_id
            if client.method == "client_secret_post":
                data["client_secret"] = client.client_secret
        r = requests.post(self.issuer + "/oauth2/introspect", data=data, auth=auth, timeout=10)
        r.raise_for_status()
        return r.json()["active"]

    # ------------------------------------------------------------ the authlib server
    def _routes(self):
        outer = self

        def query_client(cid):
            return outer.clients.get(cid)

        def save_token(d, req):
            claims = outer._verified_claims(d["access_token"])
            assert claims is not None, "the server cannot read its own JWT"
            with outer.lock:
                outer.tokens[claims["jti"]] = Token(req.client.client_id, d["access_token"], claims)

        class Generator(JWTBearerTokenGenerator):
            def get_jwks(self):
                return outer.key

        class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

            def authenticate_user(self, username, password):
                class User:
                    def get_user_id(self):
                        return username

                return User() if password == "pw" else None

        class CCGrant(grants.ClientCredentialsGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS = AUTH_METHODS

            def query_token(self, token_string, token_type_hint):
                return outer._lookup(token_string)

            def revoke_token(self, token, request):
                with outer.lock:
                    token.revoked = True

        class Introspection(IntrospectionEndpoint):
            CLIENT_AUTH_METHODS = AUTH_METHODS

            def query_token(self, token_string, token_type_hint):
                return outer._lookup(token_string)

            def introspect_token(self, token):
                return dict(token.claims, active=True, token_type="Bearer")

            def check_permission(self, token, client, request):
                return token.client_id == client.client_id

        app = self.app
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": 3600, "password": 3600}
        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        server.register_token_generator("default", Generator(issuer=self.issuer))
        server.register_grant(PasswordGrant)
        server.register_grant(CCGrant)
        server.register_endpoint(Revocation)
        server.register_endpoint(Introspection)

        def metadata():
            return {
                "issuer": outer.issuer,
                "token_endpoint": outer.issuer + "/oauth2/token",
                "jwks_uri": outer.issuer + "/jwks.json",
                "revocation_endpoint": outer.issuer + "/oauth2/revoke",
                "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
                "introspection_endpoint": outer.issuer + "/oauth2/introspect",
                "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
                "grant_types_supported": ["client_credentials", "password"],
                "token_endpoint_auth_methods_supported": AUTH_METHODS,
            }

        @app.route("/.well-known/oauth-authorization-server")
        def rfc8414():
            return jsonify(metadata())

        @app.route("/.well-known/openid-configuration")
        def oidc():
            return jsonify(dict(metadata(), response_types_supported=["code"],
                                subject_types_supported=["public"],
                                id_token_signing_alg_values_supported=["RS256"]))

        @app.route("/jwks.json")
        def jwks():
            return jsonify({"keys": [outer.key.as_dict(private=False)]})

        @app.route("/oauth2/token", methods=["POST"])
        def issue():
            return server.create_token_response()

        @app.route("/oauth2/revoke", methods=["POST"])
        def revoke():
            with outer.lock:
                outer.wire.append((flask_request.path, flask_request.headers.get("Authorization"),
                                   flask_request.get_data(cache=True)))
            return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

        @app.route("/oauth2/introspect", methods=["POST"])
        def introspect():
            return server.create_endpoint_response(Introspection.ENDPOINT_NAME)


# ---------------------------------------------------------------- the checks
def jwt_claims(token):
    """The claims of a JWT, unverified (what the check asserts the server issues)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def revoke_and_check(srv, client, name, args, env, n, rng, probs):
    """Issues n+1 tokens of `client`, runs `revoke oauth ARGS` on n of them (stdin), and checks
    the records, the introspection after, and that the one not asked stays active."""
    tokens = [srv.fresh_jwt(client) for _ in range(n + 1)]
    for t in tokens:
        c = jwt_claims(t)
        missing = {"iss", "exp", "aud", "client_id", "jti"} - set(c)
        if missing or c["iss"] != srv.issuer or c["client_id"] != client.client_id:
            probs.append("%s: the server's JWT is not RFC 9068-shaped: %r" % (name, c))
        if not srv.active(client, t):
            probs.append("%s: a fresh token is not active" % name)
    asked, spared = tokens[:n], tokens[n]
    rng.shuffle(asked)
    del srv.wire[:]
    rc, out, err = run(args + ["--input", "-"], env, stdin=("\n".join(asked) + "\n").encode())
    if rc != 0:
        probs.append("%s: exit %d; stdout: %s; stderr: %s" % (name, rc, out[-600:], err[-600:]))
        return
    recs, summary = parse_ndjson(out)
    if len(recs) != n:
        probs.append("%s: %d records for %d tokens" % (name, len(recs), n))
    for r in recs:
        if r.get("provider") != "oauth" or r.get("status") != "revoked" or r.get("verified") is not True:
            probs.append("%s: record %s" % (name, json.dumps(r)[:400]))
        if r.get("verify_attempts") != 2:
            probs.append("%s: verify_attempts %r, want 2 (before and after)" % (name, r.get("verify_attempts")))
    if (summary or {}).get("exit_code") != 0:
        probs.append("%s: summary %r" % (name, summary))
    for t in asked:
        if srv.active(client, t):
            probs.append("%s: introspection says a revoked token is still active" % name)
    if not srv.active(client, spared):
        probs.append("%s: a token that was not asked is inactive" % name)
    if len(srv.wire) != n:
        probs.append("%s: %d revocation requests for %d tokens" % (name, len(srv.wire), n))
    for s in asked + [client.client_secret or "\0"]:
        if s in out or s in err:
            probs.append("%s: a token or secret in the output" % name)
            break
    return srv.wire


def base_args(srv, client):
    return ["oauth", "--issuer", srv.issuer, "--client-id", client.client_id, "--verify", "-o", "json"]


def check_post(srv, rng, n, probs):
    client = srv.add_client("post client", "post/Secret+%d" % rng.randrange(10**6), "client_secret_post")
    args = base_args(srv, client) + ["--client-auth", "post"]
    wire = revoke_and_check(srv, client, "post", args, {"OAUTH2_CLIENT_SECRET": client.client_secret}, n, rng,
                            probs) or []
    for _, auth, body in wire:
        if auth or b"client_secret=" not in body:
            probs.append("post: not client_secret_post on the wire: %r" % body[:80])
            break


def check_basic(srv, rng, n, probs):
    client = srv.add_client("basic-client", "basic secret %d" % rng.randrange(10**6), "client_secret_basic")
    secret_file = tmp_path("oauth_basic_secret")
    with open(secret_file, "w") as f:
        f.write(client.client_secret + "\n")
    os.chmod(secret_file, 0o600)
    # No --client-auth: client_secret_basic, the first the metadata lists.
    args = base_args(srv, client) + ["--client-secret-file", secret_file]
    wire = revoke_and_check(srv, client, "basic", args, {}, n, rng, probs) or []
    for _, auth, body in wire:
        if not (auth or "").startswith("Basic ") or b"client_id=" in body:
            probs.append("basic: not client_secret_basic on the wire: %r" % body[:80])
            break


def check_public(srv, rng, n, probs):
    client = srv.add_client("public-spa", None, "none")
    # No --client-auth and no secret: `none`, the only one possible.
    wire = revoke_and_check(srv, client, "public", base_args(srv, client), {}, n, rng, probs) or []
    for _, auth, body in wire:
        if auth or b"client_secret" in body or b"client_id=public-spa" not in body:
            probs.append("public: not a public client on the wire: %r" % body[:80])
            break


def check_context(srv, rng, n, probs):
    client = srv.add_client("ctx-client", "ctxSecret%d" % rng.randrange(10**6), "client_secret_post")
    config = tmp_path("oauth_config.toml")
    with open(config, "w") as f:
        f.write('[oauth.corp]\nissuer = "%s"\nclient-id = "%s"\nclient-auth = "post"\nclient-secret = "%s"\n'
                % (srv.issuer, client.client_id, client.client_secret))
    os.chmod(config, 0o600)
    args = ["--config", config, "--context", "corp", "oauth", "--verify", "-o", "json"]
    revoke_and_check(srv, client, "context", args, {}, n, rng, probs)


def check_token(srv, rng, n, probs):
    """`revoke token`: the provider is not named. A config names the server's issuer in
    [oauth.e2e]; n fresh JWTs (from a file) are routed there by their `iss`, revoked and seen
    dead; one opaque (reference) token is routed there by `--default oauth.e2e`."""
    client = srv.add_client("token-client", "tokSecret/%d" % rng.randrange(10**6), "client_secret_post")
    config = tmp_path("token_config.toml")
    with open(config, "w") as f:
        f.write('[oauth.e2e]\nissuer = "%s"\nclient-id = "%s"\nclient-auth = "post"\nclient-secret = "%s"\n'
                % (srv.issuer, client.client_id, client.client_secret))
    os.chmod(config, 0o600)
    jwts = [srv.fresh_jwt(client) for _ in range(n + 1)]
    opaque = srv.fresh_opaque(client)
    asked, spared = jwts[:n] + [opaque], jwts[n]
    for t in asked + [spared]:
        if not srv.active(client, t):
            probs.append("token: a fresh token is not active")
    rng.shuffle(asked)
    leaked = tmp_path("token_leaked.txt")
    with open(leaked, "w") as f:
        f.write("\n".join(asked) + "\n")
    del srv.wire[:]
    args = ["--config", config, "token", "--input", leaked, "--default", "oauth.e2e", "-o", "json"]
    rc, out, err = run(args, {})
    if rc != 0:
        probs.append("token: exit %d; stdout: %s; stderr: %s" % (rc, out[-600:], err[-600:]))
        return
    recs, summary = parse_ndjson(out)
    if len(recs) != len(asked):
        probs.append("token: %d records for %d tokens" % (len(recs), len(asked)))
    by_line = {}
    for r in recs:
        line = int((r.get("source") or ":0").rsplit(":", 1)[1])
        by_line[line] = r
        token = asked[line - 1] if 0 < line <= len(asked) else None
        want = {"provider": "oauth", "context": "e2e",
                "issuer": None if token == opaque else srv.issuer,
                "matched_by": "default" if token == opaque else "oauth_issuer"}
        if token is None or r.get("route") != want:
            probs.append("token: route %r, want %r" % (r.get("route"), want))
        if r.get("provider") != "oauth" or r.get("status") != "revoked" or r.get("verified") is not True:
            probs.append("token: record %s" % json.dumps(r)[:400])
        if token != opaque and not r.get("expires_at"):
            probs.append("token: no expires_at for a JWT: %s" % json.dumps(r)[:400])
    if sorted(by_line) != list(range(1, len(asked) + 1)):
        probs.append("token: records for lines %r" % sorted(by_line))
    if (summary or {}).get("exit_code") != 0:
        probs.append("token: summary %r" % (summary,))
    for t in asked:
        if srv.active(client, t):
            probs.append("token: introspection says a revoked token is still active")
    if not srv.active(client, spared):
        probs.append("token: a token that was not asked is inactive")
    if len(srv.wire) != len(asked):
        probs.append("token: %d revocation requests for %d tokens" % (len(srv.wire), len(asked)))
    for s in asked + [client.client_secret]:
        if s in out or s in err:
            probs.append("token: a token or secret in the output")
            break


CHECKS = [check_post, check_basic, check_public, check_context, check_token]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    require_binary()
    srv = Server()
    print("authorization server:", srv.issuer)
    problems = []
    tally = Counter()
    for check in CHECKS:
        n = max(1, runs // len(CHECKS)) + rng.randrange(3)
        probs = []
        try:
            check(srv, rng, n, probs)
        except Exception as e:  # a checker error is a failure too
            probs.append("%s: checker error: %r" % (check.__name__, e))
        tally[check.__name__] = n
        print("%-14s %d token(s): %s" % (check.__name__, n, "ok" if not probs else "%d problem(s)" % len(probs)))
        if probs:
            problems.append({"check": check.__name__, "problems": probs[:10]})
    print(json.dumps(dict(tally)))
    write_problems("oauth", problems)
    for p in problems:
        print(json.dumps(p, ensure_ascii=False)[:2000])
    finish("check_oauth", len(problems))


if __name__ == "__main__":
    main()
