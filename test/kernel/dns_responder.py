#!/usr/bin/env python3
"""A tiny DNS responder standing in for Docker's embedded DNS in the kernel sandbox.

Answers an A query for NAME with one record (ANSWER_IP, TTL 60), any other query for NAME with no
records, and everything else with NXDOMAIN (as Docker's DNS does for host.docker.internal on Linux).
Listens on ADDR for UDP on UDP_PORT and TCP on TCP_PORT (Docker uses two random ports), writes
READY_FILE once both sockets are bound, and serves until killed.

    dns_responder.py ADDR UDP_PORT TCP_PORT NAME ANSWER_IP READY_FILE
"""

import socket
import struct
import sys
import threading


def qname(query: bytes, end: int) -> str:
    """The question's name, lower case, without the final dot."""
    labels = []
    pos = 12
    while pos < end - 1:
        length = query[pos]
        labels.append(query[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
        pos += length + 1
    return ".".join(labels).lower()


def answer(query: bytes, name: str, answer_ip: str) -> bytes:
    """Builds the response to one DNS query message."""
    if len(query) < 12:
        return b""
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    # the question: labels up to the zero byte, then qtype and qclass
    end = 12
    while end < len(query) and query[end] != 0:
        end += query[end] + 1
    end += 1
    question = query[12 : end + 4]
    qtype = struct.unpack("!H", query[end : end + 2])[0] if end + 2 <= len(query) else 0
    records = b""
    ancount = 0
    rcode = 0 if qdcount == 1 and qname(query, end) == name else 3
    if rcode == 0 and qtype == 1:
        ancount = 1
        # name: pointer to the question's name at offset 12; type A, class IN, TTL, rdata
        records = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(answer_ip)
    rd = flags & 0x0100
    header = struct.pack("!HHHHHH", ident, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, ancount, 0, 0)
    return header + question + records


def serve_udp(sock: socket.socket, name: str, answer_ip: str) -> None:
    while True:
        data, peer = sock.recvfrom(4096)
        reply = answer(data, name, answer_ip)
        if reply:
            sock.sendto(reply, peer)


def serve_tcp_client(conn: socket.socket, name: str, answer_ip: str) -> None:
    with conn:
        while True:
            head = conn.recv(2)
            if len(head) < 2:
                return
            (length,) = struct.unpack("!H", head)
            data = b""
            while len(data) < length:
                chunk = conn.recv(length - len(data))
                if not chunk:
                    return
                data += chunk
            reply = answer(data, name, answer_ip)
            conn.sendall(struct.pack("!H", len(reply)) + reply)


def serve_tcp(sock: socket.socket, name: str, answer_ip: str) -> None:
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, name, answer_ip), daemon=True).start()


def main() -> None:
    addr, udp_port, tcp_port, name, answer_ip, ready_file = sys.argv[1:7]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, int(udp_port)))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, int(tcp_port)))
    tcp.listen(16)
    threading.Thread(target=serve_udp, args=(udp, name, answer_ip), daemon=True).start()
    with open(ready_file, "w", encoding="ascii") as ready:
        ready.write("ready\n")
    serve_tcp(tcp, name.lower().rstrip("."), answer_ip)


if __name__ == "__main__":
    main()
