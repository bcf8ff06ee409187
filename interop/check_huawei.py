"""Check 2: identity-store requests verified with huaweicloudsdkcore's own Signer."""
import configparser
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import unquote, parse_qsl, quote

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from common import (Server, run, parse_ndjson, rand_id, rand_ascii_secret, rand_alnum, tmp_path,
                    write_problems, finish, require_binary)

lock = threading.Lock()
EXP = {}
SEEN = []  # dicts
PROBLEMS = []


def sdk_authorization(req, signed_names, ak, sk):
    hdrs = {}
    for name in signed_names:
        vals = req.headers.get_all(name) or []
        if len(vals) != 1:
            raise ValueError("signed header %s present %d times" % (name, len(vals)))
        # keep the received spelling of the name
        orig = next(k for k, _ in req.header_items if k.lower() == name)
        hdrs[orig] = vals[0]
    r = SdkRequest(method=req.method, schema="http", host=req.headers.get("Host"),
                   resource_path=req.path,
                   query_params=parse_qsl(req.query, keep_blank_values=True),
                   header_params=hdrs, body=req.body or None)
    Signer(SimpleNamespace(ak=ak, sk=sk)).sign(r)
    return r.header_params["Authorization"]


def handler(req):
    e = EXP
    probs = []
    h = req.headers
    auth = h.get("Authorization", "")
    verified = False
    try:
        algo, rest = auth.split(" ", 1)
        parts = dict(p.split("=", 1) for p in rest.split(", "))
        signed = parts["SignedHeaders"].split(";")
        if algo != "SDK-HMAC-SHA256":
            probs.append("algorithm %r" % algo)
        if parts["Access"] != e["ak"]:
            probs.append("Access %r" % parts["Access"])
        want = sdk_authorization(req, signed, e["ak"], e["sk"])
        verified = want == auth
        if not verified:
            probs.append("signature mismatch: got %r want %r" % (auth, want))
        for must in ["host", "x-sdk-date"] + (["x-security-token"] if e["token"] else []) + \
                (["x-project-id"] if e["project"] else []):
            if must not in signed:
                probs.append("%s not in SignedHeaders %r" % (must, signed))
    except Exception as ex:
        signed = []
        probs.append("cannot verify %r: %r" % (auth, ex))
    try:
        d = datetime.strptime(h.get("X-Sdk-Date", ""), "%Y%m%dT%H%M%SZ")
        if abs((d - datetime.utcnow()).total_seconds()) > 900:
            probs.append("X-Sdk-Date skew %s" % h.get("X-Sdk-Date"))
    except ValueError:
        probs.append("bad X-Sdk-Date %r" % h.get("X-Sdk-Date"))
    if h.get("Host") != e["host"]:
        probs.append("Host %r want %r" % (h.get("Host"), e["host"]))
    if h.get("X-Security-Token") != e["token"]:
        probs.append("X-Security-Token %r want %r" % (h.get("X-Security-Token"), e["token"]))
    if h.get("X-Project-Id") != e["project"]:
        probs.append("X-Project-Id %r want %r" % (h.get("X-Project-Id"), e["project"]))
    segs = req.path.split("/")
    dec = [unquote(s, errors="strict") for s in segs]
    base = e["prefix"].split("/") + ["v1", "identity-stores", e["store"], "tenant", e["tenant"], "bearer-token"]
    kind, tok = None, None
    if dec[:len(base)] == base and len(dec) == len(base) and req.method == "GET":
        kind = "list"
    elif dec[:len(base)] == base and len(dec) == len(base) + 1 and req.method == "DELETE":
        kind, tok = "delete", dec[-1]
        # the SDK's own wire form for a path parameter is quote(v, safe='')
        if segs[-1] != quote(tok, safe=""):
            probs.append("NOTE wire segment %r differs from SDK quote() %r" % (segs[-1], quote(tok, safe="")))
    else:
        probs.append("unexpected %s %r (decoded %r)" % (req.method, req.target, dec))
    for i, s in enumerate(segs[:len(base)]):
        if i < len(base) and i > 0 and s != quote(base[i], safe="") and base[i] == e["store"] and s:
            probs.append("NOTE store segment %r vs quote %r" % (s, quote(base[i], safe="")))
    if req.body:
        probs.append("non-empty body %r" % req.body[:100])
    q = parse_qsl(req.query, keep_blank_values=True)
    status, body = 200, b""
    if not verified:
        status = 401
        body = json.dumps({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information",
                           "request_id": uuid.uuid4().hex}).encode()
    elif kind == "list":
        pages = e["pages"]
        qd = dict(q)
        if not q:
            pi = 0
        else:
            if qd.get("limit") is None or "marker" not in qd:
                probs.append("list query %r" % q)
            pi = e["markers"].index(qd.get("marker")) + 1 if qd.get("marker") in e["markers"] else -1
            if pi < 0:
                probs.append("unknown marker %r" % qd.get("marker"))
                pi = 0
        page = {"bearer_tokens": [{"token_id": t, "creation_time": 1700000000000, "expiration_time": 1800000000000}
                                  for t in pages[pi]]}
        if pi + 1 < len(pages):
            page["page_info"] = {"next_marker": e["markers"][pi], "current_count": len(pages[pi])}
        body = json.dumps(page).encode()
    elif kind == "delete":
        pass
    with lock:
        SEEN.append(dict(kind=kind, token=tok, ok=verified, probs=probs, query=q))
    return status, {"Content-Type": "application/json", "X-Request-Id": uuid.uuid4().hex}, body


# After the D1 fix, "." and ".." appear only in the dedicated negative cases (neg_dots); the random
# ids get near-miss dot ids instead, which must be sent as ordinary segments.
NEAR_DOTS = ["...", ". .", "%2e", "%2E", "%2e%2e", ".%2e", "%2E.", "..\\", "\\..", "./", "../", ".\u200b",
             "\u200b..", "\uff0e\uff0e", "..;", ".;", "..%00", "..?", "..#", ".. x", "\u2024\u2024", "....", "..\u00e9"]


NEAR_DOT_USES = [0]


def rid(rng, *a, **k):
    if rng.random() < 0.04:
        NEAR_DOT_USES[0] += 1
        return rng.choice(NEAR_DOTS)
    s = rand_id(rng, *a, **k)
    if s in (".", ".."):
        s = s + "x"
    return s


def one_run(rng, srv, i, wrong_key=False):
    global EXP, SEEN
    ak = rand_alnum(rng, rng.randint(16, 24)).upper()
    sk = rand_ascii_secret(rng, 20, 48)
    token = rand_ascii_secret(rng, 20, 200) if rng.random() < 0.5 else None
    project = rand_alnum(rng, 32).lower() if rng.random() < 0.5 else None
    store = rid(rng, 1, 20, nasty=0.3)
    tenant = rid(rng, 1, 20, nasty=0.3)
    prefix = "/gw/p%d" % i if rng.random() < 0.1 else ""
    use_all = rng.random() < 0.35
    args = ["identity-store", "--endpoint", "http://127.0.0.1:%d%s" % (srv.port, prefix), "-o", "json",
            "--concurrency", "8", "--identity-store-id=" + store, "--tenant-id=" + tenant]
    if rng.random() < 0.5:
        args += ["--region", rng.choice(["ap-southeast-1", "cn-north-4"])]
    ids = []
    pages, markers = [[]], []
    if use_all:
        n = rng.choice([0, 1, 3, 10, 25, 60])
        allids = list(dict.fromkeys(rid(rng, 1, 30, nasty=0.35) for _ in range(n)))
        npages = rng.choice([1, 1, 2, 3])
        pages = [allids[k::npages] for k in range(npages)]
        markers = [rid(rng, 1, 20, nasty=0.4) + str(k) for k in range(npages)]
        ids = allids
        args += ["--all"]
    else:
        n = rng.choice([1, 2, 5, 20, 50])
        ids = [rid(rng, 1, 30, nasty=0.35) for _ in range(n)]
        k = rng.randint(0, n)
        pos, filed = ids[:k], ids[k:]
        for p in list(filed):
            if p.startswith("#"):
                filed.remove(p)
                pos.append(p)
        ids = pos + filed
        if filed:
            fn = tmp_path("hw_%d.txt" % i)
            with open(fn, "w") as f:
                f.write("\n".join(filed) + "\n")
            args += ["--input", fn]
        if pos:
            args += ["--"] + pos
    env = {}
    if rng.random() < 0.25:
        fn = tmp_path("hwcred_%d.ini" % i)
        cp = configparser.ConfigParser(interpolation=None)
        cp["basic"] = {"ak": ak, "sk": sk}
        if token:
            cp["basic"]["security_token"] = token
        if project:
            cp["basic"]["project_id"] = project
        with open(fn, "w") as f:
            cp.write(f)
        os.chmod(fn, 0o600)
        env["HUAWEICLOUD_SDK_CREDENTIALS_FILE"] = fn
    else:
        env.update(HUAWEICLOUD_SDK_AK=ak, HUAWEICLOUD_SDK_SK=sk)
        if token:
            env["HUAWEICLOUD_SDK_SECURITY_TOKEN"] = token
        if project:
            if rng.random() < 0.5:
                env["HUAWEICLOUD_SDK_PROJECT_ID"] = project
            else:
                args.insert(1, "--project-id=" + project)
    if project and "HUAWEICLOUD_SDK_CREDENTIALS_FILE" in env and rng.random() < 0.3:
        args.insert(1, "--project-id=" + project)
    with lock:
        EXP = dict(ak=ak, sk=sk + ("x" if wrong_key else ""), token=token, project=project, store=store,
                   tenant=tenant, host="127.0.0.1:%d" % srv.port, prefix=prefix, pages=pages, markers=markers)
        SEEN = []
    rc, out, err = run(args, env)
    with lock:
        seen = list(SEEN)
    probs = []
    for s in seen:
        probs += s["probs"]
    res = dict(rc=rc, n=len(ids), requests=len(seen), all=use_all, lists=sum(s["kind"] == "list" for s in seen))
    if wrong_key:
        probs = [x for x in probs if not x.startswith("signature mismatch")]
        if rc != 3:
            probs.append("wrong key: exit %d (want 3)" % rc)
        if len(seen) != 1:
            probs.append("wrong key: %d requests (want 1)" % len(seen))
        return res, probs, args, env
    if rc != 0:
        probs.append("exit %d; stderr: %s" % (rc, err[-400:]))
    try:
        recs, summ = parse_ndjson(out)
    except Exception as ex:
        return res, probs + ["bad NDJSON %r" % ex], args, env
    got = Counter(s["token"] for s in seen if s["kind"] == "delete" and s["ok"])
    if got != Counter(ids):
        probs.append("verified deletes %r != asked %r" % (got, Counter(ids)))
    if use_all and res["lists"] != len(pages):
        probs.append("%d list requests for %d pages" % (res["lists"], len(pages)))
    if len(recs) != len(ids):
        probs.append("%d records, want %d" % (len(recs), len(ids)))
    for r in recs:
        if r.get("status") != "revoked":
            probs.append("record not revoked: %r" % r)
        elif not use_all and r.get("target", {}).get("token_id") != ids[r["index"]]:
            probs.append("record %d target %r want %r" % (r["index"], r.get("target"), ids[r["index"]]))
    if use_all and sorted(r.get("target", {}).get("token_id") for r in recs) != sorted(ids):
        probs.append("--all record targets differ")
    for s in [sk, token]:
        if s and (s in out or s in err):
            probs.append("secret leaked to output")
    return res, probs, args, env


def neg_dots(srv, j, case):
    """A dedicated negative case: "." or ".." as an id. Flags/arguments/--input FILE: exit 2, no request.
    stdin or an --all listing: that target gets a failed InvalidTarget record, the others are deleted,
    and no request goes to any path other than the list and the valid tokens' DELETEs."""
    global EXP, SEEN
    ak, sk = "AKNEG%d" % j, "skneg%d" % j
    kind, dot = case
    store, tenant, ids, listed = "d-%d" % j, "t-%d" % j, ["tok-a%d" % j, "tok b/%d" % j], None
    args = ["identity-store", "--endpoint", "http://127.0.0.1:%d" % srv.port, "-o", "json"]
    stdin = None
    expect_invalid = []
    if kind == "store":
        store = dot
    elif kind == "tenant":
        tenant = dot
    args += ["--identity-store-id=" + store, "--tenant-id=" + tenant]
    if kind in ("store", "tenant"):
        args += ["--"] + ids
    elif kind == "arg":
        args += ["--", ids[0], dot, ids[1]]
    elif kind == "file":
        fn = tmp_path("hwneg_%d.txt" % j)
        with open(fn, "w") as f:
            f.write("%s\n%s\n%s\n" % (ids[0], dot, ids[1]))
        args += ["--input", fn]
    elif kind == "stdin":
        args += ["--input", "-"]
        stdin = ("%s\n%s\n%s\n" % (ids[0], dot, ids[1])).encode()
        expect_invalid = [dot.strip()]
    elif kind == "all":
        listed = [ids[0], ".", "..", ids[1], " ..", "...", "%2e%2e", ".\u200b"]
        args += ["--all"]
        expect_invalid = [".", ".."]
    with lock:
        EXP = dict(ak=ak, sk=sk, token=None, project=None, store=store.strip(), tenant=tenant.strip(),
                   host="127.0.0.1:%d" % srv.port, prefix="", pages=[listed or []], markers=[])
        SEEN = []
    env = dict(HUAWEICLOUD_SDK_AK=ak, HUAWEICLOUD_SDK_SK=sk)
    rc, out, err = run(args, env, stdin=stdin)
    with lock:
        seen = list(SEEN)
    probs = []
    if kind in ("store", "tenant", "arg", "file"):
        if rc != 2:
            probs.append("exit %d (want 2)" % rc)
        if seen:
            probs.append("%d request(s) sent (want 0): %r" % (len(seen), [(s["kind"], s["token"]) for s in seen]))
        if "cannot be an id" not in err:
            probs.append("stderr does not say why: %r" % err[-300:])
        return dict(rc=rc, requests=len(seen)), probs, args
    for s in seen:
        probs += [p for p in s["probs"] if not p.startswith("NOTE")]
    want_deletes = [t for t in (listed if listed is not None else ids) if t not in (".", "..")]
    if kind == "stdin":
        want_deletes = ids
    got = Counter(s["token"] for s in seen if s["kind"] == "delete" and s["ok"])
    if got != Counter(want_deletes):
        probs.append("deletes %r != expected %r" % (got, Counter(want_deletes)))
    if any(s["kind"] is None for s in seen):
        probs.append("request to another path")
    if rc != 1:
        probs.append("exit %d (want 1)" % rc)
    try:
        recs, summ = parse_ndjson(out)
    except Exception as ex:
        return dict(rc=rc, requests=len(seen)), probs + ["bad NDJSON %r" % ex], args
    inv = [r.get("target", {}).get("token_id") for r in recs if r.get("status") == "failed"
           and (r.get("error") or {}).get("code") == "InvalidTarget"]
    if sorted(inv) != sorted(expect_invalid):
        probs.append("InvalidTarget records for %r, want %r" % (inv, expect_invalid))
    other = [r for r in recs if r.get("status") not in ("revoked",) and
             (r.get("error") or {}).get("code") != "InvalidTarget"]
    if other:
        probs.append("other non-revoked records %r" % other[:3])
    if len(recs) != len(want_deletes) + len(expect_invalid):
        probs.append("%d records, want %d" % (len(recs), len(want_deletes) + len(expect_invalid)))
    return dict(rc=rc, requests=len(seen)), probs, args


NEG_CASES = [(k, d) for k in ("store", "tenant", "arg", "file", "stdin") for d in (".", "..", " .. ", "\u00a0.")] + \
    [("all", None)]


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    require_binary()
    srv = Server(handler)
    tot = Counter()
    for i in range(iters):
        res, probs, args, env = one_run(rng, srv, i)
        tot["runs"] += 1
        tot["runs_all"] += res["all"]
        tot["targets"] += res["n"]
        tot["requests"] += res["requests"]
        tot["list_requests"] += res["lists"]
        tot["exit0"] += res["rc"] == 0
        tot["prefix_runs"] += any("/gw/p" in a for a in args)
        if probs:
            PROBLEMS.append({"run": i, "args": args, "env": env, "problems": probs[:10]})
    for j in range(5):
        res, probs, args, env = one_run(rng, srv, 10000 + j, wrong_key=True)
        tot["negative_control_runs"] += 1
        tot["negative_control_ok"] += not probs
        if probs:
            PROBLEMS.append({"run": "neg%d" % j, "args": args, "env": env, "problems": probs[:10]})
    for j, case in enumerate(NEG_CASES):
        res, probs, args = neg_dots(srv, 20000 + j, case)
        tot["dot_negative_runs"] += 1
        tot["dot_negative_requests"] += res["requests"]
        tot["dot_negative_ok"] += not probs
        if probs:
            PROBLEMS.append({"run": "dots%d" % j, "case": case, "args": args, "problems": probs[:10]})
    tot["near_dot_ids_drawn"] = NEAR_DOT_USES[0]
    print(json.dumps(dict(tot), indent=1))
    print("runs with problems:", len(PROBLEMS))
    cats = Counter()
    for p in PROBLEMS:
        for x in set(y.split(" ")[0] for y in p["problems"]):
            cats[x] += 1
    print("problem categories:", dict(cats))
    write_problems("huawei", PROBLEMS)
    for p in PROBLEMS[:8]:
        print(json.dumps(p, ensure_ascii=False)[:2500])
    print("checker errors:", srv.errors[:5])
    finish("check_huawei", len(PROBLEMS), srv.errors)


if __name__ == "__main__":
    main()
