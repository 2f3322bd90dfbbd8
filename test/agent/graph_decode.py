"""A small reader of the LTHG payload for the agent's tests (the engine's reader is src/heap/decode.ts)."""
import struct
from array import array


def decode(payload):
    assert payload[:4] == b"LTHG", payload[:4]
    version, n, e, s, r, flags, _ = struct.unpack_from("<7I", payload, 4)
    pos = 32
    strings = []
    for _ in range(s):
        (length,) = struct.unpack_from("<I", payload, pos)
        pos += 4
        strings.append(payload[pos:pos + length].decode("utf-8"))
        pos += length
    pos += -pos % 4

    def u32(count):
        nonlocal pos
        a = array("I")
        a.frombytes(payload[pos:pos + 4 * count])
        pos += 4 * count
        return a

    def u8(count):
        nonlocal pos
        b = payload[pos:pos + count]
        pos += count + (-count % 4)
        return b

    g = {"version": version, "flags": flags, "strings": strings}
    g["type"], g["size"], g["name"], g["site"] = u32(n), u32(n), u32(n), u32(n)
    g["first"] = u32(n + 1)
    g["target"], g["label"] = u32(e), u32(e)
    g["kind"] = u8(e)
    g["roots"] = u32(r)
    g["root_kind"] = u8(r)
    assert pos == len(payload), (pos, len(payload))
    return g


def text(g, i):
    return None if i == 0xFFFFFFFF else g["strings"][i]


def edges(g, i):
    """[(kind, label text or index, target)] of node i."""
    out = []
    for k in range(g["first"][i], g["first"][i + 1]):
        kind, label = g["kind"][k], g["label"][k]
        out.append((kind, label if kind == 4 else text(g, label), g["target"][k]))
    return out
