#!/usr/bin/env python3
"""A hostile stand-in for a docker daemon on a unix socket, for the tests of how docker_delta
bounds what a daemon answers: hostile_daemon.py SOCKET MODE. /_ping is answered as a daemon
would; every other request gets what MODE says:
  huge    200 with 40 MiB of JSON
  deep    200 with 1 MiB of nested arrays
  stall   200 headers and half a JSON body, then silence
"""
import os, socket, sys, threading, time

path, mode = sys.argv[1], sys.argv[2]

def answer(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    target = data.split(b" ")[1]
    if target == b"/_ping":
        conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
    elif mode == "huge":
        body = b"[" + b"1," * (20 << 20) + b"1]"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            conn.sendall(body)
        except OSError:
            pass
    elif mode == "deep":
        body = b"[" * (1 << 20)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    elif mode == "stall":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Id\": ")
        time.sleep(3600)
    conn.close()

if os.path.exists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(8)
while True:
    conn, _ = server.accept()
    threading.Thread(target=answer, args=(conn,), daemon=True).start()
