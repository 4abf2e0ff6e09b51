"""An echo peer built on Python's `websockets` (Debian's python3-websockets),
driven by text commands from the Go test (see ../commands_test.go).

    python3 peer.py server <port>   listens on 127.0.0.1 (0: any port), prints "PORT <n>"
    python3 peer.py client <url>    connects, prints "OPEN <extensions>"

DEFLATE=1 offers/accepts permessage-deflate, DEFLATE=0 does not, unset keeps
the library's default (on). It prints "CLOSED <code> <reason>" when the
connection ends (the close frame the other side sent)."""
import asyncio
import os
import sys

import websockets

mode, arg = sys.argv[1], sys.argv[2]
kwargs = {"max_size": None}
if os.environ.get("DEFLATE") == "1":
    kwargs["compression"] = "deflate"
elif os.environ.get("DEFLATE") == "0":
    kwargs["compression"] = None


def extensions(ws):
    return ",".join(e.name for e in ws.extensions)


def fragment(i, size, binary):
    """Fragment i of a cmd:frag message: size bytes of one value per fragment."""
    if binary:
        return bytes([i & 0xFF]) * size
    return "abcdefghijklmnopqrstuvwxyz"[i % 26] * size


async def command(ws, cmd):
    name, *rest = cmd.split(":")
    if name == "close":  # cmd:close:<code>:<reason>
        await ws.close(int(rest[0]), ":".join(rest[1:]))
    elif name == "frag":  # cmd:frag:<n>:<size>:<text|binary>; an iterable is sent as one fragmented message
        n, size, binary = int(rest[0]), int(rest[1]), rest[2] == "binary"
        await ws.send([fragment(i, size, binary) for i in range(n)])
    elif name == "ping":  # waits for our pong, then says so
        waiter = await ws.ping(b"hb")
        await waiter
        await ws.send("pong:hb")
    elif name == "ext":
        await ws.send("ext:" + extensions(ws))
    elif name == "flood":  # "f0", "f1", ... until killed
        i = 0
        while True:
            await ws.send("f%d" % i)
            i += 1
            if i % 100 == 0:
                await asyncio.sleep(0)
    elif name == "burst":  # "b0" ... "b<n-1>", then "SENT <n>" on stdout once all is handed to the kernel
        n = int(rest[0])
        for i in range(n):
            await ws.send("b%d" % i)
        while ws.transport.get_write_buffer_size() > 0:
            await asyncio.sleep(0.001)
        print("SENT %d" % n, flush=True)
    else:
        await ws.send("unknown:" + cmd)


async def peer(ws, *_):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                await command(ws, msg[4:])
                continue
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        print("CLOSED %s %s" % (ws.close_code, ws.close_reason), flush=True)


async def main():
    if mode == "server":
        async with websockets.serve(peer, "127.0.0.1", int(arg), **kwargs) as server:
            print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
            await asyncio.Future()
    else:
        async with websockets.connect(arg, **kwargs) as ws:
            print("OPEN " + extensions(ws), flush=True)
            await peer(ws)


asyncio.run(main())
