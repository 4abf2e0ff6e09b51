"""An echo peer built on Python's `websockets`, driven by text commands (see
interop_test.go). Usage: python_peer.py server <port> | client <url>.
DEFLATE=1 enables permessage-deflate. On close it prints "CLOSED <code> <reason>"."""
import asyncio
import os
import sys

import websockets

mode, arg = sys.argv[1], sys.argv[2]
compression = "deflate" if os.environ.get("DEFLATE") == "1" else None


async def peer(ws):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                name, *rest = msg[4:].split(":")
                if name == "close":
                    await ws.close(int(rest[0]), ":".join(rest[1:]))
                elif name == "frag":  # an iterable is sent as one fragmented message
                    await ws.send(["p%d" % i for i in range(int(rest[0]))])
                elif name == "ping":
                    waiter = await ws.ping(b"hb")
                    await waiter
                    await ws.send("pong:hb")
                elif name == "ext":
                    await ws.send("ext:" + ",".join(e.name for e in ws.extensions))
                elif name == "flood":
                    for i in range(int(rest[0])):
                        await ws.send("f%d" % i)
                continue
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        print("CLOSED %s %s" % (ws.close_code, ws.close_reason), flush=True)


async def main():
    if mode == "server":
        async with websockets.serve(peer, "127.0.0.1", int(arg), compression=compression, max_size=None) as server:
            print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
            await asyncio.Future()
    else:
        async with websockets.connect(arg, compression=compression, max_size=None) as ws:
            print("OPEN", flush=True)
            await peer(ws)


asyncio.run(main())
