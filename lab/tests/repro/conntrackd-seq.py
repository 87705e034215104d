#!/usr/bin/env python3
"""Replays conntrackd's receive-side sequence tracking over one member's capture of the sync
network (`tcpdump -n -tt -x udp port 3780`, as trio-parity.yaml records it): every message
another member sent, in the order this member received them, with what conntrackd 1.4's
nethdr_track_seq made of it. It keeps ONE last sequence number for all senders; FTFW drops a
message whose number is not after it ("before"), NOTRACK and ALARM apply it anyway.

    conntrackd-seq.py CAPTURE OWN_SYNC_ADDRESS [PORT ...]   (ports: mark the messages naming them)
"""
import re
import sys

KINDS = {0: "CT_NEW", 1: "CT_UPD", 2: "CT_DEL", 10: "CTL"}
FLAGS = {1: "RESYNC", 2: "NACK", 4: "ACK", 8: "ALIVE", 16: "HELLO", 32: "HELLO_BACK"}


def packets(path):
    cur = None
    for line in open(path, errors="replace"):
        if not line.startswith("\t"):
            if cur:
                yield cur
            m = re.match(r"(\S+) IP (\S+?)\.\d+ >", line)
            cur = [float(m.group(1)), m.group(2), b""] if m else None
        elif cur and ":" in line:
            words = line.split(":", 1)[1].split()
            try:
                cur[2] += bytes.fromhex("".join(w for w in words if re.fullmatch(r"[0-9a-f]{2,4}", w)))
            except ValueError:
                pass
    if cur:
        yield cur


def messages(ip):
    """conntrackd messages of one IPv4/UDP packet: (type, flags, seq, bytes)."""
    p = ip[(ip[0] & 15) * 4 + 8:]
    i = 0
    while i + 8 <= len(p):
        kind, flags, size, seq = p[i] & 15, p[i + 1], int.from_bytes(p[i + 2:i + 4], "big"), int.from_bytes(p[i + 4:i + 8], "big")
        if size < 8:
            break
        yield kind, flags, seq, p[i:i + size]
        i += size


def main():
    path, me, ports = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
    last, dropped = None, 0
    for ts, src, data in packets(path):
        if src == me:
            continue
        for kind, flags, seq, body in messages(data):
            if last is None:
                verdict = "first"
            elif seq == (last + 1) & 0xFFFFFFFF:
                verdict = "in sequence"
            elif (seq - last - 1) & 0xFFFFFFFF < 0x80000000:
                verdict = f"after: {(seq - last - 1) & 0xFFFFFFFF} counted lost, NACK sent"
            else:
                verdict = "BEFORE: FTFW drops it"
                dropped += 1
            if not verdict.startswith("BEFORE"):
                last = seq
            names = " ".join(f"port {p}" for p in ports if p.to_bytes(2, "big") in body)
            what = KINDS.get(kind, str(kind)) + ("/" + "+".join(n for b, n in FLAGS.items() if flags & b) if flags else "")
            print(f"{ts:.6f} from {src:<12} {what:<10} seq {seq} {verdict} {names}".rstrip())
    print(f"{dropped} message(s) FTFW would drop", file=sys.stderr)


if __name__ == "__main__":
    main()
