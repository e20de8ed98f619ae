#!/usr/bin/env python3
"""A minimal actiond subscriber: the Python standard library only.

Connects to the daemon's Unix socket, reads one JSON object per line and prints
predictions, label changes and stream states. Usage:

    python3 subscribe.py [SOCKET]        # default /run/actiond/predictions.sock
"""
import json
import socket
import sys


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/run/actiond/predictions.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        for line in s.makefile("r", encoding="utf-8"):
            msg = json.loads(line)
            kind = msg["type"]
            if kind == "hello":
                print(f"connected: model {msg['model']}, streams {', '.join(msg['streams'])}")
            elif kind == "prediction":
                top = ", ".join(f"{t['label']} {t['score']:.2f}" for t in msg["top"])
                print(f"{msg['clip_end']} {msg['stream']} #{msg['seq']}: {msg['label']} "
                      f"({msg['score']:.2f}) [{top}] {msg['latency_ms']:.0f} ms")
            elif kind == "event":
                print(f"{msg['stream']}: label changed {msg['from']} -> {msg['to']} ({msg['score']:.2f})")
            elif kind == "status":
                print(f"{msg['stream']}: {msg['state']} ({msg['reason']})")
            elif kind == "goodbye":
                print(f"disconnected by the daemon: {msg['reason']}", file=sys.stderr)
                return 1
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
