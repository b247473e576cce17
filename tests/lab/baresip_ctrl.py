#!/usr/bin/env python3
"""Drive a headless baresip over its ctrl_tcp interface (netstring-framed JSON), run inside the phone's namespace.

    baresip_ctrl.py PORT STEP...

Steps, run in order on one connection (so no event is missed between a command and the wait for its result):
    cmd:COMMAND[:PARAMS]      send {"command": COMMAND, "params": PARAMS} and wait for its response
    wait:EVENT[:SECONDS]      wait for an event of that type (e.g. CALL_ESTABLISHED, CALL_MENC, CALL_CLOSED); an
                              event that already came (during an earlier step) counts, each is used once
    sleep:SECONDS             keep reading (and logging) events for that long
Every message received is printed on stdout (one JSON object a line). Exit status 1 if a wait times out or a
command is answered with ok=false.
"""

import json
import socket
import sys
import time


class Ctrl:
    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.token = 0
        self.backlog = []  # events that arrived while waiting for a command's response

    def send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.sock.sendall(b"%d:%s," % (len(data), data))

    def recv(self, timeout: float):
        """One message, or None when nothing arrives within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            colon = self.buf.find(b":")
            if colon > 0:
                n = int(self.buf[:colon])
                if len(self.buf) >= colon + 1 + n + 1:
                    msg = self.buf[colon + 1 : colon + 1 + n]
                    self.buf = self.buf[colon + 1 + n + 1 :]
                    obj = json.loads(msg)
                    print(json.dumps(obj), flush=True)
                    return obj
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError("baresip closed the control connection")
            self.buf += chunk


def main() -> int:
    c = Ctrl(int(sys.argv[1]))
    for step in sys.argv[2:]:
        kind, _, rest = step.partition(":")
        print(f"# {step}", flush=True)
        if kind == "cmd":
            command, _, params = rest.partition(":")
            c.token += 1
            tok = f"t{c.token}"
            c.send({"command": command, "params": params, "token": tok})
            deadline = time.monotonic() + 10
            while True:
                m = c.recv(max(0.0, deadline - time.monotonic()))
                if m is None:
                    print(f"# no response to {command}", flush=True)
                    return 1
                if m.get("response") and m.get("token") == tok:
                    if not m.get("ok", False):
                        return 1
                    break
                if m.get("event"):
                    c.backlog.append(m)
        elif kind == "wait":
            ev, _, secs = rest.partition(":")
            deadline = time.monotonic() + float(secs or 10)
            found = next((m for m in c.backlog if m.get("type") == ev), None)
            while found is None:
                m = c.recv(max(0.0, deadline - time.monotonic()))
                if m is None:
                    print(f"# timeout waiting for {ev}", flush=True)
                    return 1
                if m.get("event"):
                    c.backlog.append(m)
                    if m.get("type") == ev:
                        found = m
            c.backlog.remove(found)
        elif kind == "sleep":
            deadline = time.monotonic() + float(rest)
            while time.monotonic() < deadline:
                m = c.recv(max(0.0, deadline - time.monotonic()))
                if m is not None and m.get("event"):
                    c.backlog.append(m)
        else:
            print(f"# unknown step {step}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
