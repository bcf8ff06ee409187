"""Check 5: `revoke ciam --verify` against a real RFC 7662 server (authlib, the server of check 3).

Proof is a change observed: revoke introspects each token before the revocation and after it,
with the same client credentials. Cases, each with fresh tokens:
- the real server: introspect (RFC 7662, found through /.well-known/openid-configuration:
  active), revoke (RFC 7009), introspect (inactive): every record `verified: true`, exit 0, and
  authlib itself says every token is inactive;
- a server that only pretends: its revocation endpoint answers 200 and revokes nothing; the
  same introspection then says the tokens are alive: every record `failed` with `StillActive`,
  `verified: false`, exit 1, and the tokens are indeed still active;
- a server that hides other clients' tokens (RFC 7662 2.2: `active: false` to a client that may
  not introspect the token) and answers 200 to their revocation without revoking them (RFC 7009
  2.2 allows it; Okta does it): asked by another client, every record `revoked` with
  `verified: null` (code `Unverified`), exit 0, and the tokens are still active; asked by the
  owning client, `verified: true` and the tokens are inactive.
"""
import sys
import threading

from flask import jsonify, request as flask_request
from werkzeug.serving import make_server

import check_ciam as c
from common import run, parse_ndjson, finish, require_binary


def _discovery():
    root = flask_request.host_url.rstrip("/")
    return jsonify({"issuer": root, "introspection_endpoint": root + "/oauth2/introspect",
                    "revocation_endpoint": root + "/oauth2/revoke"})


c.app.add_url_rule("/.well-known/openid-configuration", "discovery", _discovery)
c.app.add_url_rule("/pretend/.well-known/openid-configuration", "pretend_discovery", _discovery)


@c.app.route("/pretend/oauth2/revoke", methods=["POST"])
def pretend_revoke():
    return "", 200


def _hiding_discovery():
    root = flask_request.host_url.rstrip("/") + "/hiding"
    return jsonify({"issuer": root, "introspection_endpoint": root + "/oauth2/introspect",
                    "revocation_endpoint": root + "/oauth2/revoke"})


c.app.add_url_rule("/hiding/.well-known/openid-configuration", "hiding_discovery", _hiding_discovery)


class HidingIntrospection(c.Introspection):
    """RFC 7662 2.2: another client's token is answered `active: false`."""
    ENDPOINT_NAME = "hiding_introspection"

    def check_permission(self, token, client, request):
        return token.check_client(client)


c.server.register_endpoint(HidingIntrospection)


@c.app.route("/hiding/oauth2/introspect", methods=["POST"])
def hiding_introspect():
    return c.server.create_endpoint_response(HidingIntrospection.ENDPOINT_NAME)


@c.app.route("/hiding/oauth2/revoke", methods=["POST"])
def hiding_revoke():
    """200 to any authenticated client; only the owner's tokens are revoked."""
    form = flask_request.form
    client = c.CLIENTS.get(form.get("client_id", ""))
    if client is None or not client.check_client_secret(form.get("client_secret", "")):
        return jsonify({"error": "invalid_client"}), 401
    token = c._lookup(form.get("token", ""), form.get("token_type_hint"))
    if token is not None and token.check_client(client):
        with c.DB:
            token.t.access_revoked = True
    return "", 200


def main():
    require_binary()
    srv = make_server("127.0.0.1", 0, c.app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_port
    problems = []
    intruder, intruder_secret = "verify-intruder", "verify-secret-intruder"
    c.CLIENTS[intruder] = c.Client(intruder, intruder_secret)
    for case, endpoint, want_rc in [("real", base, 0), ("pretend", base + "/pretend", 1),
                                    ("hidden", base + "/hiding", 0), ("owner", base + "/hiding", 0)]:
        cid, secret = "verify-" + case, "verify-secret-" + case
        c.CLIENTS[cid] = c.Client(cid, secret)
        import random
        toks = [t for t, k in c.issue_tokens(base, cid, secret, random.Random(5), 3) if k == "access_token"]
        # "hidden": the tokens are verify-hidden's; another client revokes and verifies them.
        rid, rsecret = (intruder, intruder_secret) if case == "hidden" else (cid, secret)
        args = ["ciam", "--endpoint", endpoint, "--client-id", rid, "--verify", "-o", "json",
                "--input", "-", "--token-type-hint", "access_token"]
        rc, out, err = run(args, {"CIAM_CLIENT_SECRET": rsecret}, stdin=("\n".join(toks) + "\n").encode())
        recs, summ = parse_ndjson(out)
        print("%s: exit %d, %s" % (case, rc, [(r["status"], r["verified"], (r.get("error") or {}).get("code")) for r in recs]))
        if rc != want_rc:
            problems.append("%s: exit %d want %d; stderr %s" % (case, rc, want_rc, err[-300:]))
        if len(recs) != len(toks):
            problems.append("%s: %d records for %d tokens" % (case, len(recs), len(toks)))
        for r in recs:
            if r.get("attempts") != 1 or not r.get("verify_attempts"):
                problems.append("%s: attempts %r, verify_attempts %r" % (case, r.get("attempts"), r.get("verify_attempts")))
            if case in ("real", "owner") and (r["status"] != "revoked" or r["verified"] is not True):
                problems.append("%s: record %r" % (case, r))
            if case == "hidden" and (r["status"] != "revoked" or r["verified"] is not None
                                     or (r.get("error") or {}).get("code") != "Unverified"):
                problems.append("hidden: record %r" % r)
            if case == "pretend" and (r["status"] != "failed" or r["verified"] is not False
                                      or (r.get("error") or {}).get("code") != "StillActive"):
                problems.append("pretend: record %r" % r)
        active = [c.introspect(base, cid, secret, t, "access_token") for t in toks]
        if case in ("real", "owner") and any(active):
            problems.append("%s: authlib says a revoked token is still active" % case)
        if case in ("pretend", "hidden") and not all(active):
            problems.append("%s: a token was revoked by a server that pretends or hides" % case)
        for s in [secret, rsecret] + toks:
            if s in out or s in err:
                problems.append("%s: a secret or token in the output" % case)
    for p in problems:
        print("PROBLEM:", p)
    finish("check_verify", len(problems))


if __name__ == "__main__":
    main()
