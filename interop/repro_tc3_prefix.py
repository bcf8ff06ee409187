"""D2 regression (fixed): bi-embed with an endpoint path prefix must sign the path it sends,
so the SDK's TC3 code verifies the signature over the wire path. Exits 1 if any case fails."""
import sys

import check_tc3 as T
from common import Server, run, require_binary

require_binary()
srv = Server(T.handler)
failed = 0
for sfx, wire in [("/pfx", "/pfx/"), ("/pfx/", "/pfx/"), ("/gateway/bi/v1", "/gateway/bi/v1/"), ("/a%20b/\u00e9", "/a%20b/%C3%A9/")]:
    T.EXP = dict(sid="AKIDtest", skey="secretkey", token=None, region=None, scope="page", project="889",
                 corp="700000777778", host="127.0.0.1:%d" % srv.port, path=wire)
    del T.SEEN[:]
    rc, out, err = run(["bi-embed", "--endpoint", "http://127.0.0.1:%d%s" % (srv.port, sfx), "--project-id", "889",
                        "--user-corp-id", "700000777778", "--scope", "page", "-o", "json", "8991"],
                       {"TENCENTCLOUD_SECRET_ID": "AKIDtest", "TENCENTCLOUD_SECRET_KEY": "secretkey"})
    page, ok, probs = T.SEEN[0] if len(T.SEEN) == 1 else (None, False, ["%d requests (want 1)" % len(T.SEEN)])
    good = rc == 0 and ok and not probs
    failed += not good
    print("%s endpoint suffix %-16r exit=%d  SDK verified=%s  problems=%r" % ("ok  " if good else "FAIL", sfx, rc, ok, probs))
if srv.errors:
    print("checker errors:", srv.errors[:3])
print("repro_tc3_prefix: %s" % ("FAIL" if failed or srv.errors else "OK"))
sys.exit(1 if failed or srv.errors else 0)
