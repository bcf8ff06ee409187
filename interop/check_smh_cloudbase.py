"""Check 4: smh and cloudbase wire formats, decoded with Python's urllib.parse / json."""
import hashlib
import itertools
import json
import os
import random
import string
import sys
import threading
from collections import Counter
from urllib.parse import parse_qs, unquote

from common import (Server, run, parse_ndjson, rand_id, rand_ascii_secret, tmp_path, write_problems, finish,
                    require_binary)

lock = threading.Lock()
EXP = {}
SEEN = []


def smh_handler(req):
    e = EXP
    probs = []
    triples = []
    pfx = e["prefix"] + "/api/v1/token/"
    if req.method != "DELETE":
        probs.append("method %s" % req.method)
    if not req.path.startswith(pfx) or "/" in req.path[len(pfx):]:
        probs.append("path %r" % req.path)
    elif unquote(req.path[len(pfx):], errors="strict") != e["lib"]:
        probs.append("LibraryId %r want %r" % (unquote(req.path[len(pfx):]), e["lib"]))
    try:
        q = parse_qs(req.query, keep_blank_values=True, strict_parsing=True, errors="strict")
    except Exception as ex:
        probs.append("query does not parse: %r" % ex)
        q = {}
    for k, v in q.items():
        if len(v) != 1:
            probs.append("param %s repeated" % k)
    if set(q) - {"library_secret", "user_id", "client_id", "session_id"}:
        probs.append("extra params %r" % sorted(q))
    if q.get("library_secret", [None])[0] != e["secret"]:
        probs.append("library_secret differs")
    users = q.get("user_id", [""])[0].split(",") if "user_id" in q else []
    clients = q["client_id"][0].split(",") if "client_id" in q else [None]
    sessions = q["session_id"][0].split(",") if "session_id" in q else [None]
    if not users:
        probs.append("no user_id")
    if len(users) > 10 or len(clients) > 100 or len(sessions) > 100:
        probs.append("batch too large %d/%d/%d" % (len(users), len(clients), len(sessions)))
    if e["clients"] and "client_id" not in q:
        probs.append("client_id missing")
    if e["sessions"] and "session_id" not in q:
        probs.append("session_id missing")
    if req.body:
        probs.append("body %r" % req.body[:50])
    for t in itertools.product(users, clients, sessions):
        triples.append(t)
    with lock:
        SEEN.append(dict(triples=triples, probs=probs, users=users))
    return 204, {}, b""


NEAR_DOTS = ["...", ". .", "%2e", "%2E%2E", ".%2e", "..\\", "\\..", "./", "../", ".\u200b", "\uff0e\uff0e",
             "..;", "..?x", "..#", "....", "..%00"]


NEAR_DOT_RUNS = []


def smh_neg_dots(base, j, lib):
    """--library-id . / .. (also with blanks around them, which are trimmed): exit 2 and no request."""
    global EXP, SEEN
    with lock:
        EXP = dict(lib=lib, secret="s", prefix="", clients=[], sessions=[])
        SEEN = []
    args = ["smh", "--endpoint", base, "-o", "json", "--library-id=" + lib, "--", "u1", "u2"]
    rc, out, err = run(args, {"SMH_LIBRARY_SECRET": "s3cr3t-neg"})
    with lock:
        seen = list(SEEN)
    probs = []
    if rc != 2:
        probs.append("exit %d (want 2)" % rc)
    if seen:
        probs.append("%d request(s) sent (want 0)" % len(seen))
    if "cannot be an id" not in err:
        probs.append("stderr: %r" % err[-300:])
    return dict(rc=rc, requests=len(seen)), probs, args


def smh_run(rng, base, i):
    global EXP, SEEN
    lib = rand_id(rng, 1, 20, nasty=0.3)
    if lib in (".", ".."):  # refused since the D1 fix: only in the dedicated negative cases
        lib += "x"
    if rng.random() < 0.05:
        lib = rng.choice(NEAR_DOTS)
        NEAR_DOT_RUNS.append(lib)
    secret = rand_ascii_secret(rng, 8, 64)
    nu = rng.choice([1, 3, 10, 11, 20, 37])
    users = list(dict.fromkeys(rand_id(rng, 1, 20, nasty=0.3, forbid=",") for _ in range(nu)))
    nc = rng.choice([0, 0, 1, 5, 100, 101, 230])
    ns = rng.choice([0, 0, 1, 7, 100, 150])
    clients = list(dict.fromkeys(rand_id(rng, 1, 16, nasty=0.3, forbid=",") for _ in range(nc)))
    sessions = list(dict.fromkeys(rand_id(rng, 1, 16, nasty=0.3, forbid=",") for _ in range(ns)))
    prefix = "/p%d" % i if rng.random() < 0.1 else ""
    args = ["smh", "--endpoint", base + prefix, "-o", "json", "--concurrency", "8", "--library-id=" + lib]
    for c in clients:
        args.append("--client-id=" + c)
    for s in sessions:
        args.append("--session-id=" + s)
    env = {}
    stdin = None
    if rng.random() < 0.5:
        env["SMH_LIBRARY_SECRET"] = secret
    else:
        if rng.random() < 0.5:
            fn = tmp_path("smh_secret_%d" % i)
            with open(fn, "w") as f:
                f.write(secret + "\n")
            os.chmod(fn, 0o600)
            args += ["--library-secret-file", fn]
        else:
            args += ["--library-secret-file", "-"]
            stdin = (secret + "\n").encode()
    k = rng.randint(0, len(users))
    pos, filed = users[:k], users[k:]
    for u in list(filed):
        if u.startswith("#"):
            filed.remove(u)
            pos.append(u)
    users = pos + filed
    if filed:
        fn = tmp_path("smh_users_%d" % i)
        with open(fn, "w") as f:
            f.write("\n".join(filed) + "\n")
        args += ["--input", fn]
    if pos:
        args += ["--"] + pos
    with lock:
        EXP = dict(lib=lib, secret=secret, prefix=prefix, clients=clients, sessions=sessions)
        SEEN = []
    rc, out, err = run(args, env, stdin=stdin)
    with lock:
        seen = list(SEEN)
    probs = []
    for s in seen:
        probs += s["probs"]
    got = Counter(t for s in seen for t in s["triples"])
    want = Counter(itertools.product(users, clients or [None], sessions or [None]))
    if got != want:
        extra = got - want
        missing = want - got
        probs.append("cross product differs: %d extra %r, %d missing %r" % (
            sum(extra.values()), list(extra)[:3], sum(missing.values()), list(missing)[:3]))
    if rc != 0:
        probs.append("exit %d %s" % (rc, err[-300:]))
    try:
        recs, summ = parse_ndjson(out)
        nreq = -(-len(users) // 10) * max(1, -(-len(clients) // 100)) * max(1, -(-len(sessions) // 100))
        if len(recs) != nreq or len(seen) != nreq:
            probs.append("%d records / %d requests, want %d" % (len(recs), len(seen), nreq))
        if any(r["status"] != "revoked" for r in recs):
            probs.append("statuses %r" % Counter(r["status"] for r in recs))
        rec_users = Counter(u for r in recs for u in r["target"]["user_ids"])
        mult = max(1, -(-len(clients) // 100)) * max(1, -(-len(sessions) // 100))
        if rec_users != Counter({u: mult for u in users}):
            probs.append("record user_ids differ")
    except Exception as ex:
        probs.append("NDJSON %r" % ex)
    if secret in out or secret in err:
        probs.append("secret leaked")
    return dict(rc=rc, users=len(users), clients=len(clients), sessions=len(sessions), requests=len(seen),
                triples=sum(got.values())), probs, args, env


# ------------------------------------------------------------------ cloudbase
def cb_handler(req):
    e = EXP
    probs = []
    if req.method != "POST":
        probs.append("method %s" % req.method)
    if req.path != e["prefix"] + "/auth/v1/revoke":
        probs.append("path %r" % req.path)
    q = parse_qs(req.query, keep_blank_values=True)
    if e["client"] is None:
        if q:
            probs.append("unexpected query %r" % req.query)
    elif q != {"client_id": [e["client"]]}:
        probs.append("client_id query %r want %r" % (q, e["client"]))
    auth = req.headers.get_all("Authorization") or []
    tok = None
    if len(auth) != 1 or not auth[0].startswith("Bearer "):
        probs.append("Authorization %r" % auth)
    else:
        tok = auth[0][len("Bearer "):]
    if req.headers.get("x-device-id") != e["device"]:
        probs.append("x-device-id %r want %r" % (req.headers.get("x-device-id"), e["device"]))
    ct = req.headers.get("Content-Type", "")
    if not ct.startswith("application/json"):
        probs.append("Content-Type %r" % ct)
    try:
        b = json.loads(req.body.decode("utf-8"))
        if b != {"token": tok}:
            probs.append("body %r does not equal {'token': <bearer>}" % b)
    except Exception as ex:
        probs.append("body not JSON %r" % ex)
    with lock:
        SEEN.append(dict(token=tok, probs=probs))
    if tok in e["invalid"]:
        return 401, {"Content-Type": "application/json"}, json.dumps(
            {"code": "ACCESS_TOKEN_INVALID", "message": "token invalid", "requestId": "r1"}).encode()
    return 200, {"Content-Type": "application/json"}, b"{}"


TOKCH = string.ascii_letters + string.digits + "-._~+/="


def cb_run(rng, base, i):
    global EXP, SEEN
    n = rng.choice([1, 2, 8, 30])
    toks = []
    for _ in range(n):
        if rng.random() < 0.5:  # JWT-shaped
            toks.append(".".join("".join(rng.choice(string.ascii_letters + string.digits + "-_")
                                         for _ in range(rng.randint(10, 60))) for _ in range(3)))
        else:
            toks.append("".join(rng.choice(TOKCH) for _ in range(rng.randint(8, 80))))
    toks = [t if not t.startswith("#") else "x" + t for t in toks]
    invalid = set(t for t in toks if rng.random() < 0.15)
    client = rand_id(rng, 1, 20, nasty=0.3) if rng.random() < 0.5 else None
    device = "".join(rng.choice(string.ascii_letters + string.digits + "-_.:") for _ in range(rng.randint(4, 40))) \
        if rng.random() < 0.5 else None
    env_id = "env-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    prefix = "/gw%d" % i if rng.random() < 0.1 else ""
    args = ["cloudbase", "--endpoint", base + prefix, "-o", "json", "--concurrency", "8", "--env-id", env_id]
    if client is not None:
        args.append("--client-id=" + client)
    if device is not None:
        args.append("--device-id=" + device)
    stdin = None
    if rng.random() < 0.5:
        stdin = ("\n".join(toks) + "\n").encode()
        args += ["--input", "-"]
    else:
        fn = tmp_path("cb_%d" % i)
        with open(fn, "w") as f:
            f.write("\n".join(toks) + "\n")
        args += ["--input", fn]
    with lock:
        EXP = dict(client=client, device=device, prefix=prefix, invalid=invalid)
        SEEN = []
    rc, out, err = run(args, {}, stdin=stdin)
    with lock:
        seen = list(SEEN)
    probs = [p for s in seen for p in s["probs"]]
    if Counter(s["token"] for s in seen) != Counter(toks):
        probs.append("tokens on the wire differ")
    if rc != 0:
        probs.append("exit %d %s" % (rc, err[-300:]))
    recs, summ = parse_ndjson(out)
    for r in recs:
        t = toks[r["index"]]
        want = "already_invalid" if t in invalid else "revoked"
        if r["status"] != want:
            probs.append("record %d status %s want %s" % (r["index"], r["status"], want))
        if r["target"].get("token") != "sha256:" + hashlib.sha256(t.encode()).hexdigest()[:12]:
            probs.append("fingerprint differs")
    if len(recs) != len(toks):
        probs.append("%d records for %d tokens" % (len(recs), len(toks)))
    for t in toks:
        if t in out or t in err:
            probs.append("token leaked")
            break
    return dict(rc=rc, n=len(toks), invalid=len(invalid), requests=len(seen)), probs, args, {}


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    require_binary()
    PROBLEMS = []
    tot = Counter()
    s1 = Server(smh_handler)
    for i in range(iters):
        res, probs, args, env = smh_run(rng, "http://127.0.0.1:%d" % s1.port, i)
        tot["smh_runs"] += 1
        tot["smh_exit0"] += res["rc"] == 0
        tot["smh_requests"] += res["requests"]
        tot["smh_user_ids"] += res["users"]
        tot["smh_triples_seen"] += res["triples"]
        tot["smh_runs_clients>100"] += res["clients"] > 100
        tot["smh_runs_sessions>100"] += res["sessions"] > 100
        tot["smh_runs_users>10"] += res["users"] > 10
        if probs:
            PROBLEMS.append({"check": "smh", "run": i, "args": args[:12] + ["..."], "env": env, "problems": probs[:6]})
    for j, lib in enumerate([".", "..", " .. ", "\u00a0.", ".\t"[:1], " . "]):
        res, probs, args = smh_neg_dots("http://127.0.0.1:%d" % s1.port, j, lib)
        tot["smh_dot_negative_runs"] += 1
        tot["smh_dot_negative_requests"] += res["requests"]
        tot["smh_dot_negative_ok"] += not probs
        if probs:
            PROBLEMS.append({"check": "smh-dots", "run": j, "args": args, "problems": probs})
    tot["smh_runs_near_dot_library_id"] = len(NEAR_DOT_RUNS)
    s1.close()
    s2 = Server(cb_handler)
    for i in range(iters):
        res, probs, args, env = cb_run(rng, "http://127.0.0.1:%d" % s2.port, i)
        tot["cb_runs"] += 1
        tot["cb_exit0"] += res["rc"] == 0
        tot["cb_tokens"] += res["n"]
        tot["cb_invalid_tokens"] += res["invalid"]
        tot["cb_requests"] += res["requests"]
        if probs:
            PROBLEMS.append({"check": "cloudbase", "run": i, "args": args, "problems": probs[:6]})
    print(json.dumps(dict(tot), indent=1))
    print("runs with problems:", len(PROBLEMS))
    write_problems("smh_cb", PROBLEMS)
    for p in PROBLEMS[:10]:
        print(json.dumps(p, ensure_ascii=False)[:1500])
    print("checker errors:", s1.errors[:3], s2.errors[:3])
    finish("check_smh_cloudbase", len(PROBLEMS), s1.errors + s2.errors)


if __name__ == "__main__":
    main()
