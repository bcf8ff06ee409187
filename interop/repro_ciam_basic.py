"""D3 regression (fixed): ciam --client-auth basic with a client_id/secret holding space / '+' / ':' etc.
must be accepted by authlib (which percent-decodes Basic credentials with unquote, not unquote_plus).
Both post and basic must exit 0 for every pair. Exits 1 if any case fails."""
import base64
import random
import sys
import threading
from urllib.parse import unquote

from werkzeug.serving import make_server

import check_ciam as C
from common import run, require_binary

require_binary()
srv = make_server("127.0.0.1", 0, C.app, threaded=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % srv.server_port
cases = [("5Q'+0vY2/4cD9Ln j+9Ck😀25", "mkP0wPSfN@p:k#"), ("a b", "s"), ("a+b", "s"), ("a", "s e"), ("a", "s+e"),
         ("a:b", "s"), ("a%b", "s"), ("a", "s%e"), ("é", "中"), ("plain", "plain")]
failed = 0
for cid, sec in cases:
    C.CLIENTS[cid] = C.Client(cid, sec)
    toks = C.issue_tokens(base, cid, sec, random.Random(1), 1)
    for mode in ("post", "basic"):
        del C.WIRE[:]
        rc, out, err = run(["ciam", "--endpoint", base, "--client-id=" + cid, "--client-auth", mode, "-o", "json", "--input", "-"],
                           {"CIAM_CLIENT_SECRET": sec}, stdin=(toks[0][0] + "\n").encode())
        w = C.WIRE[0] if C.WIRE else {}
        raw = base64.b64decode(w["auth"][6:]).decode() if w.get("auth") else None
        good = rc == 0 and len(C.WIRE) == 1
        if mode == "basic":
            u, _, p = (raw or "").partition(":")
            good = good and unquote(u) == cid and unquote(p) == sec
        failed += not good
        print("%s %-28r %-18r %-5s exit=%d  basic-decoded=%r" % ("ok  " if good else "FAIL", cid, sec, mode, rc, raw))
srv.shutdown()
print("repro_ciam_basic: %s" % ("FAIL" if failed else "OK"))
sys.exit(1 if failed else 0)
