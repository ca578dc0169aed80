#!/usr/bin/env python3
# Starts the sockets of captured-ss-clients-tunlp.txt (run by
# capture-clients.sh inside a throwaway network namespace): UDP client
# sockets on ports the kernel picks, next to servers. Each group is owned by
# a forked child whose comm is set to the program it stands for.
import os, socket, sys, time

A4, A6, U, T = socket.AF_INET, socket.AF_INET6, socket.SOCK_DGRAM, socket.SOCK_STREAM

def bound(fam, typ, addr):
    s = socket.socket(fam, typ)
    s.bind(addr)
    if typ == T:
        s.listen(8)
    return s

def autobound(fam, dest):
    # sendto without bind: the kernel binds an ephemeral port, the socket
    # stays unconnected (what a resolver library does)
    s = socket.socket(fam, U)
    s.sendto(b"x", dest)
    return s

def connected(fam, dest):
    s = socket.socket(fam, U)
    s.connect(dest)
    return s

groups = {
    # clients: port 0, picked by the kernel
    "dig": lambda: [bound(A4, U, ("0.0.0.0", 0)), bound(A6, U, ("::", 0))],
    "host": lambda: [autobound(A4, ("192.0.2.53", 53)), autobound(A4, ("192.0.2.53", 53)),
                     autobound(A6, ("2001:db8::53", 53))],
    # a connected UDP client: ss -l does not list it
    "curl": lambda: [connected(A4, ("192.0.2.53", 443))],
    # known servers, their own client socket included
    "named": lambda: [bound(A4, U, ("0.0.0.0", 53)), bound(A4, T, ("0.0.0.0", 53)), bound(A4, U, ("0.0.0.0", 0))],
    "rsyslogd": lambda: [bound(A4, U, ("0.0.0.0", 0))],
    "mosh-server": lambda: [bound(A4, U, ("0.0.0.0", 60001))],
    # an unknown program serving on a fixed port below the range
    "gameserver": lambda: [bound(A4, U, ("0.0.0.0", 27015))],
}
ready = sys.argv[1]
kids = []
for name, make in groups.items():
    pid = os.fork()
    if pid == 0:
        try:
            with open("/proc/self/comm", "w") as f:
                f.write(name)
            socks = make()
            time.sleep(60)
        finally:
            os._exit(0)
    kids.append(pid)
time.sleep(1)
open(ready, "w").write(" ".join(map(str, kids)))
time.sleep(60)
