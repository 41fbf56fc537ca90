#!/usr/bin/env python3
"""pgtenant speaks systemd's notify protocol (Type=notify): READY=1 once it accepts connections,
RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM, then exits 0.

Usage: notify_check.py PGTENANT_BINARY CONFIG
The config is copied with a listen section on a free port of 127.0.0.1; no backend is needed (nothing
connects to one). Each wait has a deadline; nothing sleeps."""
import os
import signal
import socket
import subprocess
import sys
import tempfile

DEADLINE_S = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary, config = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="pgtenant-notify-") as work:
        port = free_port()
        config_copy = os.path.join(work, "pgtenant.yaml")
        with open(config) as src, open(config_copy, "w") as dst:
            dst.write(src.read() + f"\nlisten: {{ address: 127.0.0.1, port: {port} }}\n")
        notify_path = os.path.join(work, "notify")
        manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        manager.bind(notify_path)
        manager.settimeout(DEADLINE_S)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        log = open(os.path.join(work, "stderr"), "w+")
        proxy = subprocess.Popen([binary, "--config", config_copy], env=env, stderr=log)
        try:
            def expect(prefix, what):
                try:
                    message = manager.recv(4096).decode()
                except socket.timeout:
                    sys.exit(f"FAIL: no {prefix!r} within {DEADLINE_S}s after {what}")
                if not message.startswith(prefix):
                    sys.exit(f"FAIL: after {what} expected {prefix!r}, got {message!r}")
                return message

            expect("READY=1", "start")
            # READY=1 means listening: a connection is accepted now, not eventually.
            with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S):
                pass
            proxy.send_signal(signal.SIGHUP)
            reloading = expect("RELOADING=1", "SIGHUP")
            if "\nMONOTONIC_USEC=" not in reloading:
                sys.exit(f"FAIL: RELOADING=1 without MONOTONIC_USEC: {reloading!r}")
            expect("READY=1", "the reload")
            proxy.send_signal(signal.SIGTERM)
            expect("STOPPING=1", "SIGTERM")
            code = proxy.wait(timeout=DEADLINE_S)
            if code != 0:
                log.seek(0)
                sys.exit(f"FAIL: pgtenant exited {code} after SIGTERM: {log.read()}")
        finally:
            if proxy.poll() is None:
                proxy.kill()
                proxy.wait()
    print(f"notify: READY=1, RELOADING=1 + READY=1 on SIGHUP, STOPPING=1 on SIGTERM, exit 0 (port {port})")


if __name__ == "__main__":
    main()
