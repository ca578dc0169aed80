#!/usr/bin/env python3
# Starts the listeners used for the captured fixtures (run by capture.sh
# inside a throwaway network namespace). Each group of sockets is owned by a
# forked child whose comm is renamed to a server name; nginx pre-forks.
import os, socket, sys, time

def mk(fam, typ, addr, v6only=None, dev=None):
    s = socket.socket(fam, typ)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind(addr)
    if typ == socket.SOCK_STREAM:
        s.listen(8)
    return s

T, U, A4, A6 = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.AF_INET, socket.AF_INET6
groups = {
    "sshd": lambda: [mk(A4, T, ("0.0.0.0", 22)), mk(A6, T, ("::", 22), v6only=1),
                     mk(A6, T, ("::", 5622), v6only=0)],
    "nginx": lambda: [mk(A4, T, ("0.0.0.0", 80)), mk(A6, T, ("::", 80), v6only=1),
                      mk(A4, T, ("192.0.2.10", 443))],
    "mysqld": lambda: [mk(A4, T, ("127.0.0.1", 3306))],
    "postgres": lambda: [mk(A6, T, ("::1", 5432)), mk(A4, T, ("127.0.0.1", 5432)),
                         mk(A6, T, ("2001:db8::10", 5433))],
    "named": lambda: [mk(A4, T, ("127.0.0.53", 53), dev="lo"), mk(A4, U, ("127.0.0.53", 53), dev="lo"),
                      mk(A4, U, ("192.0.2.10", 53)), mk(A6, U, ("::", 53), v6only=0)],
    "dnsmasq": lambda: [mk(A4, U, ("0.0.0.0", 67), dev="dummy0")],
    'we"ird (x),y z': lambda: [mk(A4, T, ("0.0.0.0", 8080))],
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
        if name == "nginx":  # pre-fork: two workers share the sockets
            for _ in range(2):
                if os.fork() == 0:
                    with open("/proc/self/comm", "w") as f:
                        f.write(name)
                    break
        if name == "sshd":  # one established session and a connected UDP socket
            c = socket.create_connection(("127.0.0.1", 22))
            srv, _ = socks[0].accept()
            u = socket.socket(A4, U)
            u.connect(("127.0.0.1", 53))
        time.sleep(60)
      finally:
        os._exit(0)
    kids.append(pid)
time.sleep(1)
open(ready, "w").write(" ".join(map(str, kids)))
time.sleep(60)
