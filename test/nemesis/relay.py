"""One directed network link between two zkpg peers: a TCP relay.

    python3 relay.py LISTEN_PORT TARGET_PORT

Peer i reaches peer j at i's relay port for j; the relay accepts on
127.0.0.1:LISTEN_PORT and pumps bytes both ways to 127.0.0.1:TARGET_PORT,
one thread per direction of each connection, all in this one process.
The harness starts it as the leader of its own process group, so that
SIGSTOP to the group black-holes the link (bytes in flight stay in the
socket buffers, new connections wait in the backlog, as on a network that
stopped delivering) and SIGCONT heals it; no root needed.  As
test/NetSplit.pm does for the TAP tests.
"""

import socket
import sys
import threading


def _pump(src, dst):
    try:
        while True:
            buf = src.recv(65536)
            if not buf:
                break
            dst.sendall(buf)
    except OSError:
        pass
    for sock in (src, dst):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _serve(client, target_port):
    try:
        server = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        return
    for sock in (client, server):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pump, args=(server, client), daemon=True)
    back.start()
    _pump(client, server)
    back.join()
    client.close()
    server.close()


def main():
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    print("listening", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, target_port),
                         daemon=True).start()


if __name__ == "__main__":
    main()
