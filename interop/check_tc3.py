"""Check 1: bi-embed requests verified with tencentcloud-sdk-python's own TC3 code."""
import json
import os
import random
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime

from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.sign import Sign  # noqa: F401  (used via _get_tc3_signature)

from common import (Server, run, parse_ndjson, rand_id, rand_ascii_secret, rand_alnum, FAKEHOME, tmp_path,
                    write_problems, finish, require_binary)

lock = threading.Lock()
EXP = {}          # expectation of the current run
SEEN = []         # (page_id or None, ok, problems) per request of the current run
PROBLEMS = []     # all discrepancies


def sdk_authorization(method, uri, host, ctype, ts, body_str, sid, skey):
    """Exactly what AbstractClient._build_req_with_tc3_signature would put in Authorization."""
    req = RequestInternal(host, method, uri)
    req.header.update({"Content-Type": ctype, "Host": host, "X-TC-Timestamp": ts})
    req.data = body_str
    date = datetime.utcfromtimestamp(int(ts)).strftime('%Y-%m-%d')
    sig = AbstractClient._get_tc3_signature(None, {}, req, date, "bi", skey)
    return "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s" % (
        sid, date, "bi", sig)


def handler(req):
    e = EXP
    probs = []
    h = req.headers
    for name in ("Host", "Content-Type", "X-TC-Timestamp", "Authorization", "X-TC-Action", "X-TC-Version"):
        if len(h.get_all(name) or []) != 1:
            probs.append("header %s appears %d times" % (name, len(h.get_all(name) or [])))
    host = h.get("Host", "")
    ctype = h.get("Content-Type", "")
    ts = h.get("X-TC-Timestamp", "0")
    try:
        body_str = req.body.decode("utf-8")
    except UnicodeDecodeError:
        probs.append("body not UTF-8")
        body_str = req.body.decode("latin-1")
    verified = False
    try:
        want = sdk_authorization(req.method, req.path, host, ctype, ts, body_str, e["sid"], e["skey"])
        verified = (want == h.get("Authorization"))
        if not verified:
            alt = sdk_authorization(req.method, "/", host, ctype, ts, body_str, e["sid"], e["skey"])
            if alt == h.get("Authorization") and req.path != "/":
                probs.append("SIGNED-URI-IS-/ : wire path %r but signature only verifies with canonical URI '/'" % req.path)
            else:
                probs.append("signature mismatch: got %r want %r" % (h.get("Authorization"), want))
    except Exception as ex:
        probs.append("cannot verify: %r" % ex)
    if req.method != "POST":
        probs.append("method %s" % req.method)
    if req.target != e["path"]:
        probs.append("request-target %r want %r" % (req.target, e["path"]))
    if host != e["host"]:
        probs.append("Host %r want %r" % (host, e["host"]))
    if not ctype.startswith("application/json"):
        probs.append("Content-Type %r" % ctype)
    if abs(int(ts) - time.time()) > 300:
        probs.append("timestamp skew %s" % ts)
    if h.get("X-TC-Action") != "ClearEmbedToken":
        probs.append("X-TC-Action %r" % h.get("X-TC-Action"))
    if h.get("X-TC-Version") != "2022-01-05":
        probs.append("X-TC-Version %r" % h.get("X-TC-Version"))
    if h.get("X-TC-Region") != e["region"]:
        probs.append("X-TC-Region %r want %r" % (h.get("X-TC-Region"), e["region"]))
    if h.get("X-TC-Token") != e["token"]:
        probs.append("X-TC-Token %r want %r" % (h.get("X-TC-Token"), e["token"]))
    page = None
    try:
        b = json.loads(body_str)
        keys = {"ProjectId", "UserCorpId", "Scope"} | ({"PageId"} if "PageId" in b else set())
        if set(b) != keys:
            probs.append("body keys %r" % sorted(b))
        for k, want in (("ProjectId", e["project"]), ("UserCorpId", e["corp"]), ("Scope", e["scope"])):
            if b.get(k) != want:
                probs.append("%s %r want %r" % (k, b.get(k), want))
        page = b.get("PageId")
        if "PageId" in b and not isinstance(page, str):
            probs.append("PageId not a string: %r" % (page,))
    except Exception as ex:
        probs.append("body not JSON: %r %r" % (ex, body_str[:200]))
    with lock:
        SEEN.append((page, verified, probs))
    rid = str(uuid.uuid4())
    if verified:
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"Response": {"Data": True, "Msg": "", "Extra": "", "ErrorInfo": None, "RequestId": rid}}).encode()
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                "Message": "The provided credentials could not be validated."},
                      "RequestId": rid}}).encode()


def one_run(rng, base, host, prefix, i, wrong_key=False, wire_prefix=None):
    global EXP, SEEN
    if wire_prefix is None:
        wire_prefix = prefix
    sid = rand_alnum(rng, rng.randint(16, 40))
    if rng.random() < 0.3:
        sid = "AKID" + rand_ascii_secret(rng, 8, 32).replace(",", "x").replace("/", "x").replace(" ", "x")
    skey = rand_ascii_secret(rng)
    token = rand_ascii_secret(rng, 20, 120) if rng.random() < 0.5 else None
    region = rng.choice(["ap-guangzhou", "ap-singapore", "ap-beijing", "na-ashburn"]) if rng.random() < 0.5 else None
    scope = rng.choice(["panel", "page"])
    project = rand_id(rng, 1, 20, allow_edge_ws=rng.random() < 0.1)
    corp = rand_id(rng, 1, 20, allow_edge_ws=rng.random() < 0.1)
    if rng.random() < 0.3:
        project = str(rng.randint(1, 10**6))
        corp = str(rng.randint(10**11, 10**12))
    n_pages = rng.choice([0, 1, 2, 5, 17, 40])
    pages = [rand_id(rng, 1, 30) for _ in range(n_pages)]
    # split between positional args and an --input file
    k = rng.randint(0, n_pages)
    pos, filed = pages[:k], pages[k:]
    # input file trims whitespace and skips '#' lines: keep those ids positional
    for p in list(filed):
        if p.startswith("#") or p != p.strip():
            filed.remove(p)
            pos.append(p)
    pages_order = pos + filed
    args = ["bi-embed", "--endpoint", base + prefix, "-o", "json", "--concurrency", "8", "--rate", "0",
            "--project-id=" + project, "--user-corp-id=" + corp, "--scope", scope]
    if region:
        args += ["--region", region]
    env = {}
    profile_mode = rng.random() < 0.2
    if profile_mode:
        name = "p%d" % i
        os.makedirs(os.path.join(FAKEHOME, ".tccli"), exist_ok=True)
        cred = {"secretId": sid, "secretKey": skey}
        if token:
            cred["token"] = token
        path = os.path.join(FAKEHOME, ".tccli", "%s.credential" % name)
        with open(path, "w") as f:
            json.dump(cred, f)
        os.chmod(path, 0o600)
        args += ["--profile", name]
    else:
        env = {"TENCENTCLOUD_SECRET_ID": sid, "TENCENTCLOUD_SECRET_KEY": skey}
        if token:
            env["TENCENTCLOUD_TOKEN"] = token
    if filed:
        fn = tmp_path("pages_%d.txt" % i)
        with open(fn, "w", encoding="utf-8") as f:
            f.write("# comment\n\n" + "\n".join(filed) + "\n")
        args += ["--input", fn]
    if pos:
        args += ["--"] + pos
    with lock:
        EXP = dict(sid=sid, skey=skey + ("x" if wrong_key else ""), token=token, region=region, scope=scope,
                   project=project.strip(), corp=corp.strip(), host=host, path=wire_prefix + "/")
        SEEN = []
    rc, out, err = run(args, env)
    with lock:
        seen = list(SEEN)
    res = {"rc": rc, "n": len(pages_order), "requests": len(seen),
           "trimmed": project != project.strip() or corp != corp.strip()}
    probs = []
    for page, ok, p in seen:
        for x in p:
            probs.append(x)
    if wrong_key:
        probs = [x for x in probs if not x.startswith("signature mismatch")]
        if any(ok for _, ok, _ in seen):
            probs.append("wrong key: verifier accepted a request")
        if rc != 3:
            probs.append("wrong key: exit %d (want 3)" % rc)
        if len(seen) != 1:
            probs.append("wrong key: %d requests (want 1)" % len(seen))
        return res, probs, args, env
    if rc != 0:
        probs.append("exit %d; stderr: %s" % (rc, err[-500:]))
    try:
        recs, summ = parse_ndjson(out)
    except Exception as ex:
        probs.append("bad NDJSON %r" % ex)
        return res, probs, args, env
    want_pages = Counter(pages_order) if pages_order else Counter([None])
    got_pages = Counter(p for p, ok, _ in seen if ok)
    if got_pages != want_pages:
        probs.append("verified PageIds %r != asked %r" % (got_pages, want_pages))
    n_exp = len(pages_order) or 1
    if len(recs) != n_exp:
        probs.append("%d records, want %d" % (len(recs), n_exp))
    for r in recs:
        if r.get("status") != "revoked":
            probs.append("record not revoked: %r" % r)
        if r.get("data") is not True:
            probs.append("record data %r" % r.get("data"))
        if pages_order:
            want = pages_order[r["index"]]
            if r.get("target", {}).get("page_id") != want:
                probs.append("record %d target %r want page_id %r" % (r["index"], r.get("target"), want))
    if summ is None or summ.get("summary", {}).get("revoked") != n_exp:
        probs.append("summary %r" % summ)
    for s in [skey, token]:
        if s and len(s) >= 8 and (s in out or s in err or json.dumps(s)[1:-1] in out):
            probs.append("secret leaked to output")
    res["records"] = len(recs)
    return res, probs, args, env


# (--endpoint path suffix, path the server must see without the trailing "/")
PREFIXES = [("/pfx/v%d", "/pfx/v%d"), ("/pfx/v%d/", "/pfx/v%d"), ("/gateway/bi/%d", "/gateway/bi/%d"),
            ("/a%%20b/%d", "/a%%20b/%d"), ("/gw/\u00e9/%d", "/gw/%%C3%%A9/%d"), ("/~u/x-y_z.v%d", "/~u/x-y_z.v%d"),
            ("/a/../b%d", "/b%d"), ("/a/./b%d//", "/a/b%d"), ("/%%7Eu/%d", "/%%7Eu/%d"), ("/p+q=r;s/%d", "/p+q=r;s/%d")]


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    require_binary()
    srv4 = Server(handler)
    variants = [("http://127.0.0.1:%d" % srv4.port, "127.0.0.1:%d" % srv4.port, srv4)]
    variants.append(("http://localhost:%d" % srv4.port, "localhost:%d" % srv4.port, srv4))
    try:
        srv6 = Server(handler, host="::1", family=socket.AF_INET6)
        variants.append(("http://[::1]:%d" % srv6.port, "[::1]:%d" % srv6.port, srv6))
    except OSError as ex:
        srv6 = None
        print("IPv6 loopback unavailable:", ex)
    tot = Counter()
    bad = 0
    for i in range(iters):
        base, host, _ = variants[0] if i % 5 < 3 else variants[i % len(variants)]
        prefix, wire_prefix = "", ""
        if rng.random() < 0.3:
            prefix, wire_prefix = rng.choice(PREFIXES)
            form = prefix
            prefix, wire_prefix = prefix % i, wire_prefix % i
            tot["prefix_runs"] += 1
        res, probs, args, env = one_run(rng, base, host, prefix, i, wire_prefix=wire_prefix)
        tot["trimmed_runs_D4"] += res["trimmed"]
        if prefix:
            tot["prefix_form %s clean" % form] += not probs
            tot["prefix_form %s runs" % form] += 1
            tot["prefix_runs_clean"] += not probs
        tot["runs"] += 1
        tot["targets"] += res["n"] or 1
        tot["requests"] += res["requests"]
        tot["exit0"] += res["rc"] == 0
        tot["by_host:" + host.rsplit(":", 1)[0]] += 1
        if probs:
            bad += 1
            PROBLEMS.append({"run": i, "args": args, "env": env, "problems": probs[:10]})
    # negative control: server-side key differs -> verifier must reject, CLI must exit 3 after 1 request
    for j in range(5):
        res, probs, args, env = one_run(rng, variants[0][0], variants[0][1], "", 10000 + j, wrong_key=True)
        tot["negative_control_runs"] += 1
        tot["negative_control_ok"] += not probs
        if probs:
            PROBLEMS.append({"run": "neg%d" % j, "args": args, "env": env, "problems": probs[:10]})
    print(json.dumps(dict(tot), indent=1))
    print("runs with problems:", bad)
    cats = Counter()
    for p in PROBLEMS:
        for x in set(y.split(" ")[0] for y in p["problems"]):
            cats[x] += 1
    print("problem categories (first word, per run):", dict(cats))
    write_problems("tc3", PROBLEMS)
    for p in PROBLEMS[:20]:
        print(json.dumps(p, ensure_ascii=False)[:3000])
    errors = srv4.errors + (srv6.errors if srv6 else [])
    print("checker errors:", errors[:5])
    finish("check_tc3", len(PROBLEMS), errors)


if __name__ == "__main__":
    main()
