#!/usr/bin/env python3
"""A UDF agent, as users write them (Kapacitor's UDF protocol over stdin/stdout), with no
library: the protobuf messages are read and written by hand.

`movingAvg` wants a stream and provides a stream. Options: `.field(string)`,
`.size(int)`, `.as(string)`. For each point it emits, once `size` values of `field` arrived
in the point's group, a point of the same series, time and group with field `as` = their
mean. `.size()` must be positive (init fails otherwise). With the environment variable
`UDF_MODE=batch` it instead wants batches and answers each with one point: field `count`
= the number of points, at the batch's tmax, with the batch's tags. With `UDF_MODE=hang`
it never answers keepalive requests. Its state (each group's last values) is what it
answers a snapshot request with (JSON), and what a restore request sets.
"""
import json
import os
import struct
import sys
from collections import defaultdict, deque

MODE = os.environ.get("UDF_MODE", "stream")


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    """(number, wire type, value) of each field; values: int, bytes or 8 raw bytes."""
    i = 0
    while i < len(buf):
        k, i = read_varint(buf, i)
        num, wire = k >> 3, k & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wire)
        yield num, wire, v


def signed(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def key(num, wire):
    return varint(num << 3 | wire)


def ld(num, payload):
    return key(num, 2) + varint(len(payload)) + payload


def s(num, text):
    return ld(num, text.encode())


def entry(num, k, value_bytes):
    return ld(num, s(1, k) + value_bytes)


def decode_point(buf):
    p = {"time": 0, "name": "", "db": "", "rp": "", "group": "", "dims": [], "tags": {},
         "double": {}, "int": {}, "string": {}, "bool": {}, "byName": False}
    for num, wire, v in fields(buf):
        if num == 1:
            p["time"] = signed(v)
        elif num == 2:
            p["name"] = v.decode()
        elif num == 3:
            p["db"] = v.decode()
        elif num == 4:
            p["rp"] = v.decode()
        elif num == 5:
            p["group"] = v.decode()
        elif num == 6:
            p["dims"].append(v.decode())
        elif num in (7, 8, 9, 10, 12):
            k, val = "", None
            for n2, w2, v2 in fields(v):
                if n2 == 1:
                    k = v2.decode()
                elif n2 == 2:
                    val = v2
            if num == 7 or num == 10:
                p["tags" if num == 7 else "string"][k] = (val or b"").decode()
            elif num == 8:
                p["double"][k] = struct.unpack("<d", val)[0] if val else 0.0
            elif num == 9:
                p["int"][k] = signed(val or 0)
            else:
                p["bool"][k] = bool(val)
        elif num == 11:
            p["byName"] = bool(v)
    return p


def encode_point(p):
    out = varint(1 << 3) + varint(p["time"]) if p["time"] else b""
    out += s(2, p["name"]) + s(3, p["db"]) + s(4, p["rp"]) + s(5, p["group"])
    for d in p["dims"]:
        out += s(6, d)
    for k, v in sorted(p["tags"].items()):
        out += entry(7, k, s(2, v))
    for k, v in sorted(p["double"].items()):
        out += entry(8, k, key(2, 1) + struct.pack("<d", v))
    if p["byName"]:
        out += key(11, 0) + varint(1)
    return out


def send(field_num, payload):
    msg = ld(field_num, payload)
    sys.stdout.buffer.write(varint(len(msg)) + msg)
    sys.stdout.buffer.flush()


def read_message():
    n = shift = 0
    while True:
        b = sys.stdin.buffer.read(1)
        if not b:
            return None
        n |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            break
    return sys.stdin.buffer.read(n)


def info():
    wants = 1 if MODE == "batch" else 0
    out = key(1, 0) + varint(wants) + key(2, 0) + varint(0)
    for name, types in (("field", [3]), ("size", [1]), ("as", [3])):
        out += entry(3, name, ld(2, ld(1, bytes(types))))
    send(1, out)


field, size, as_ = "value", 2, "avg"
windows = defaultdict(deque)
batch_points = 0

while True:
    msg = read_message()
    if msg is None:
        break
    for num, wire, body in fields(msg):
        if num == 1:
            info()
        elif num == 2:
            error = ""
            for n2, w2, opt in fields(body):
                if n2 != 1:
                    continue
                name, values = "", []
                for n3, w3, v3 in fields(opt):
                    if n3 == 1:
                        name = v3.decode()
                    elif n3 == 2:
                        for n4, w4, v4 in fields(v3):
                            if n4 == 3:
                                values.append(signed(v4))
                            elif n4 == 5:
                                values.append(v4.decode())
                if name == "field":
                    field = values[0]
                elif name == "size":
                    size = values[0]
                elif name == "as":
                    as_ = values[0]
            if size <= 0:
                error = "size must be positive, got %d" % size
            send(2, (key(1, 0) + varint(1) if not error else b"") + s(2, error))
        elif num == 3:
            if MODE == "hang":
                # A stuck agent: keepalive requests go unanswered.
                continue
            t = 0
            for n2, w2, v2 in fields(body):
                t = v2
            send(3, key(1, 0) + varint(t))
        elif num == 4:
            state = json.dumps({g: list(w) for g, w in windows.items()}).encode()
            send(4, ld(1, state))
        elif num == 5:
            snapshot = b""
            for n2, w2, v2 in fields(body):
                if n2 == 1:
                    snapshot = v2
            try:
                windows = defaultdict(deque, {g: deque(v) for g, v in json.loads(snapshot).items()})
                send(5, key(1, 0) + varint(1))
            except ValueError as e:
                send(5, s(2, "bad snapshot: %s" % e))
        elif num == 16:
            batch_points = 0
        elif num == 17:
            p = decode_point(body)
            if MODE == "batch":
                batch_points += 1
                continue
            w = windows[p["group"]]
            w.append(p["double"].get(field, float(p["int"].get(field, 0))))
            if len(w) > size:
                w.popleft()
            if len(w) == size:
                p["double"] = {as_: sum(w) / size}
                send(17, encode_point(p))
        elif num == 18:
            end = {"name": "", "tags": {}, "tmax": 0}
            for n2, w2, v2 in fields(body):
                if n2 == 1:
                    end["name"] = v2.decode()
                elif n2 == 3:
                    end["tmax"] = signed(v2)
                elif n2 == 4:
                    k, val = "", b""
                    for n3, w3, v3 in fields(v2):
                        if n3 == 1:
                            k = v3.decode()
                        else:
                            val = v3
                    end["tags"][k] = val.decode()
            p = {"time": end["tmax"], "name": end["name"], "db": "", "rp": "", "group": "",
                 "dims": sorted(end["tags"]), "tags": end["tags"],
                 "double": {"count": float(batch_points)}, "byName": False}
            send(17, encode_point(p))
sys.stderr.write("movingAvg: input closed, exiting\n")
