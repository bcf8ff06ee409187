"""Drives `revoke ... --input -` on a pseudo-terminal, as a person typing would (the
integration test `operator::input_from_a_terminal_...` runs it).

argv: the revoke binary, then its arguments. The token to type comes from the environment
(TTY_TOKEN). Prints, as JSON: everything the terminal showed, the exit status, and whether the
terminal's echo was on again at the end.
"""
import json
import os
import pty
import select
import sys
import termios
import time

argv = sys.argv[1:]
token = os.environ["TTY_TOKEN"]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

shown = b""


def read_until(done, seconds):
    global shown
    end = time.time() + seconds
    while time.time() < end and not done():
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            shown += chunk
    return done()


prompted = read_until(lambda: b"Ctrl-D" in shown, 10)
os.write(fd, token.encode() + b"\n")
read_until(lambda: False, 0.5)
echo_during = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
os.write(fd, b"\x04")
read_until(lambda: False, 5)
echo_after = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
_, status = os.waitpid(pid, 0)
print(json.dumps({
    "shown": shown.decode("utf-8", "replace"),
    "prompted": prompted,
    "code": os.waitstatus_to_exitcode(status),
    "echo_during": echo_during,
    "echo_after": echo_after,
}))
