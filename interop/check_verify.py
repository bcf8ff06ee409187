"""Check 5: `revoke ciam --verify` against a real RFC 7662 server (authlib, the server of check 3).

Two cases, each with fresh tokens:
- the real server: revoke (RFC 7009) then introspect (RFC 7662, found through
  /.well-known/openid-configuration): every record `verified: true`, exit 0, and authlib itself
  says every token is inactive;
- a server that only pretends: its revocation endpoint answers 200 and revokes nothing; the
  same introspection then says the tokens are alive: every record `failed` with `StillActive`,
  `verified: false`, exit 1, and the tokens are indeed still active.
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


def main():
    require_binary()
    srv = make_server("127.0.0.1", 0, c.app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_port
    problems = []
    for case, endpoint, want_rc in [("real", base, 0), ("pretend", base + "/pretend", 1)]:
        cid, secret = "verify-" + case, "verify-secret-" + case
        c.CLIENTS[cid] = c.Client(cid, secret)
        import random
        toks = [t for t, k in c.issue_tokens(base, cid, secret, random.Random(5), 3) if k == "access_token"]
        args = ["ciam", "--endpoint", endpoint, "--client-id", cid, "--verify", "-o", "json",
                "--input", "-", "--token-type-hint", "access_token"]
        rc, out, err = run(args, {"CIAM_CLIENT_SECRET": secret}, stdin=("\n".join(toks) + "\n").encode())
        recs, summ = parse_ndjson(out)
        print("%s: exit %d, %s" % (case, rc, [(r["status"], r["verified"], (r.get("error") or {}).get("code")) for r in recs]))
        if rc != want_rc:
            problems.append("%s: exit %d want %d; stderr %s" % (case, rc, want_rc, err[-300:]))
        if len(recs) != len(toks):
            problems.append("%s: %d records for %d tokens" % (case, len(recs), len(toks)))
        for r in recs:
            if case == "real" and (r["status"] != "revoked" or r["verified"] is not True):
                problems.append("real: record %r" % r)
            if case == "pretend" and (r["status"] != "failed" or r["verified"] is not False
                                      or (r.get("error") or {}).get("code") != "StillActive"):
                problems.append("pretend: record %r" % r)
        active = [c.introspect(base, cid, secret, t, "access_token") for t in toks]
        if case == "real" and any(active):
            problems.append("real: authlib says a revoked token is still active")
        if case == "pretend" and not all(active):
            problems.append("pretend: a token was revoked by a server that pretends")
        for s in [secret] + toks:
            if s in out or s in err:
                problems.append("%s: a secret or token in the output" % case)
    for p in problems:
        print("PROBLEM:", p)
    finish("check_verify", len(problems))


if __name__ == "__main__":
    main()
