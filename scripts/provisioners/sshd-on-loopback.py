#!/usr/bin/env python3
"""A provisioner for the ssh backend's tests and bench_fleet: its "hosts" are OpenSSH servers
on this machine, one per loopback address (127.0.0.30, .31, ...), each with its own host key,
client key and directory under $TROUPE_PROVISIONER_DIR. Needs root (sshd accepts root logins
only from a root sshd) and /usr/sbin/sshd (Debian openssh-server).

  create COUNT [LABEL...]   starts COUNT sshd, prints their inventory (docs/ssh.md) on stdout
  destroy HOSTS_FILE        stops the sshd of the hosts in HOSTS_FILE, by the PID each wrote

SSHD_PROVISIONER_FIRST sets the first address's last octet (default 30). The backend param
"provisioner" names it: {"create": "python3 scripts/provisioners/sshd-on-loopback.py create",
"destroy": "python3 scripts/provisioners/sshd-on-loopback.py destroy", "ttl": "1h"}.
Everything it starts it stops by PID; it never looks processes up by name.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

SSHD = "/usr/sbin/sshd"


def fail(text):
    print("sshd-on-loopback: " + text, file=sys.stderr)
    sys.exit(2)


def free_port(address):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def accepts(address, port):
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def start_host(root, octet, labels):
    address = "127.0.0.%d" % octet
    d = os.path.join(root, "host%d" % octet)
    os.makedirs(d, exist_ok=True)
    port = free_port(address)
    for key in ("host_key", "client_key"):
        path = os.path.join(d, key)
        if not os.path.exists(path):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "troupe-test",
                            "-f", path], check=True)
    with open(os.path.join(d, "client_key.pub")) as src, \
            open(os.path.join(d, "authorized_keys"), "w") as dst:
        dst.write(src.read())
    pid_file = os.path.join(d, "sshd.pid")
    with open(os.path.join(d, "sshd_config"), "w") as c:
        c.write("ListenAddress %s:%d\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                "MaxSessions 64\nMaxStartups 256:30:512\nLogLevel ERROR\nPrintMotd no\n"
                "UseDNS no\n" % (address, port, os.path.join(d, "host_key"),
                                 os.path.join(d, "authorized_keys"), pid_file))
    os.makedirs("/run/sshd", exist_ok=True)
    # Without -D sshd detaches and writes its PID file: the PID destroy stops.
    subprocess.run([SSHD, "-f", os.path.join(d, "sshd_config"), "-E",
                    os.path.join(d, "sshd.log")], check=True)
    deadline = time.monotonic() + 30
    while not (os.path.exists(pid_file) and accepts(address, port)):
        if time.monotonic() > deadline:
            fail("sshd on %s:%d did not start within 30 s; see %s" %
                 (address, port, os.path.join(d, "sshd.log")))
        time.sleep(0.05)
    return {"name": "p%d" % octet, "address": address, "port": port, "user": "root",
            "identity": os.path.join(d, "client_key"), "labels": labels}


def create(args):
    if not args or not args[0].isdigit() or int(args[0]) < 1:
        fail("create needs the host count, e.g. create 3")
    if os.geteuid() != 0:
        fail("sshd accepts root logins only when started by root: run as root")
    if not os.access(SSHD, os.X_OK):
        fail(SSHD + " is missing: install openssh-server (scripts/setup.sh)")
    count, labels = int(args[0]), args[1:]
    first = int(os.environ.get("SSHD_PROVISIONER_FIRST", "30"))
    if first + count > 255:
        fail("%d hosts from 127.0.0.%d do not fit in 127.0.0.0/24" % (count, first))
    root = os.environ.get("TROUPE_PROVISIONER_DIR", "sshd-hosts")
    hosts = [start_host(root, first + i, labels) for i in range(count)]
    print(json.dumps({"hosts": hosts}, indent=2))


def stop(pid_file):
    try:
        pid = int(open(pid_file).read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def destroy(args):
    if not args:
        fail("destroy needs the hosts file that create printed")
    try:
        doc = json.load(open(args[0]))
    except (OSError, ValueError) as e:
        fail("cannot read the hosts file %s: %s" % (args[0], e))
    hosts = doc.get("hosts", []) if isinstance(doc, dict) else doc
    for h in hosts:
        stop(os.path.join(os.path.dirname(h["identity"]), "sshd.pid"))
    print("destroyed %d hosts" % len(hosts))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("create", "destroy"):
        fail("usage: sshd-on-loopback.py create COUNT [LABEL...] | destroy HOSTS_FILE")
    (create if sys.argv[1] == "create" else destroy)(sys.argv[2:])
