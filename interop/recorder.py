"""Minimal recorder (used by repro_dots.sh): prints method + raw request-target of each request.
Listens on 127.0.0.1 only. GET answers LIST_BODY (env, default an empty bearer-token list);
other methods answer 200 {}. Argument: seconds to live (default 600)."""
import os, signal, sys, time
from common import Server
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # so common's scratch dir is removed
LIST = os.environ.get("LIST_BODY", '{"bearer_tokens":[]}').encode()
def h(req):
    print(req.method, req.target, flush=True)
    return (200, {"Content-Type": "application/json"}, LIST if req.method == "GET" else b"{}")
s = Server(h)
print("PORT", s.port, flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 600)
