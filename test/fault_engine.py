#!/usr/bin/env python3
"""A scriptable stand-in for the Docker engine, for tests only.

It listens on a unix socket (and optionally on a TCP port on 127.0.0.1)
and passes every request through to the real dockerd, counting them, unless
a rule says otherwise.  Rules inject the faults a real engine will not
produce on demand: an error status, a slow or hung answer, a connection
dropped halfway through a body, invalid JSON, JSON of the wrong shape, a
huge body, or a different Api-Version on /_ping.

Control requests go to the same listener, under /_fault/:
  POST /_fault/rules   body: a JSON list of rules, appended in order
  POST /_fault/reset   forget rules and the request log
  GET  /_fault/log     the requests seen since the last reset, as JSON
  GET  /_fault/rules   the rules that can still match, each with its path,
                       action, delay_ms and times left (null: forever)
  GET  /_fault/stats   {"in_flight": n, "max_in_flight": n, "connections": n}:
                       requests being answered at once, now and at most, and
                       client connections opened, since the reset

A rule:
  {"method": "POST", "path": "regex on the path and query",
   "action": "respond" | "echo" | "hang" | "drop" | "garbage" | "wrong_shape" | "huge" | "pass"
             | "stream",
   "cut_after_events": 0,   # "stream": pass N events, then half of the next, and hang up
   "drop_matching": "re",   # "stream": events matching it are never passed on
   "status": 500, "body": "..." (or "message": "..." for Docker's error shape),
   "headers": {"Api-Version": "1.99"}, "delay_ms": 0, "size": 104857600,
   "times": 1}      # omit "times" to match forever

A streamed answer (GET /events) passes through as it comes, chunk by
chunk, unless a "stream" rule with cut_after_events cuts it mid-event.

Usage: fault_engine.py --listen SOCK --upstream SOCK [--tcp PORT] [--pidfile F]
"""
import argparse
import grp
import asyncio
import json
import os
import re
import signal
import sys

rules = []
request_log = []
stats = {"in_flight": 0, "max_in_flight": 0, "connections": 0}
generation = 0  # bumped by each reset; requests of older ones are not counted


class Rule:
    def __init__(self, spec):
        self.method = spec.get("method")
        self.path = re.compile(spec.get("path", ".*"))
        self.action = spec.get("action", "respond")
        self.status = int(spec.get("status", 200))
        if "message" in spec:
            self.body = json.dumps({"message": spec["message"]}).encode()
        else:
            self.body = spec.get("body", "").encode()
        self.headers = spec.get("headers", {})
        self.delay = spec.get("delay_ms", 0) / 1000.0
        self.size = int(spec.get("size", 100 * 1024 * 1024))
        self.times = spec.get("times")
        self.cut_after_events = spec.get("cut_after_events")
        self.drop_matching = re.compile(spec["drop_matching"].encode()) if "drop_matching" in spec else None

    def matches(self, method, path):
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method != method:
            return False
        return self.path.search(path) is not None


REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
           400: "Bad Request", 404: "Not Found", 409: "Conflict",
           500: "Internal Server Error", 503: "Service Unavailable"}


def response_bytes(status, body, headers=None, content_type="application/json"):
    head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    hdrs = {"Content-Type": content_type, "Content-Length": str(len(body))}
    hdrs.update(headers or {})
    for k, v in hdrs.items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_request(reader):
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = []
    length = 0
    chunked = False
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    body = b""
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    elif length:
        body = await reader.readexactly(length)
    return method, target, headers, body


async def pass_through(upstream, method, target, headers, body):
    """Forward one request on a fresh upstream connection; return the response bytes."""
    r, w = await asyncio.open_unix_connection(upstream)
    lines = [f"{method} {target} HTTP/1.1"]
    for k, v in headers:
        if k.lower() not in ("connection", "content-length", "transfer-encoding"):
            lines.append(f"{k}: {v}")
    lines.append("Connection: close")
    lines.append(f"Content-Length: {len(body)}")
    w.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await w.drain()
    status_line = (await r.readline()).decode("latin-1").rstrip("\r\n")
    status = int(status_line.split(" ")[1])
    resp_headers = []
    length = None
    chunked = False
    while True:
        h = await r.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        lname = name.strip().lower()
        if lname == "content-length":
            length = int(value.strip())
        elif lname == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif lname != "connection":
            resp_headers.append((name.strip(), value.strip()))
    if chunked:
        data = b""
        while True:
            size_line = await r.readline()
            if not size_line:
                break
            size = int(size_line.strip().split(b";")[0], 16)
            if size == 0:
                await r.readline()
                break
            data += await r.readexactly(size)
            await r.readline()
    elif length is not None:
        data = await r.readexactly(length)
    else:
        data = await r.read()
    w.close()
    head = [status_line] + [f"{k}: {v}" for k, v in resp_headers]
    if status not in (204, 304):
        head.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def chunk(data):
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def stream_through(upstream, method, target, headers, writer, cut_after_events=None,
                         drop_matching=None):
    """Forward a response that does not end (GET /events) as it arrives,
    re-chunked; with cut_after_events, hang up halfway through the event
    after that many; with drop_matching, leave out the events it matches,
    as a daemon does for a subscriber that falls behind."""
    r, w = await asyncio.open_unix_connection(upstream)
    try:
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("connection", "content-length")]
        lines.append("Connection: close")
        w.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await w.drain()
        head = [(await r.readline()).decode("latin-1").rstrip("\r\n")]
        chunked = False
        while True:
            h = await r.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            if name.strip().lower() == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name.strip().lower() not in ("connection", "content-length"):
                head.append(h.decode("latin-1").rstrip("\r\n"))
        head.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        events, pending = 0, b""
        while True:
            if chunked:
                size_line = await r.readline()
                if not size_line or int(size_line.strip().split(b";")[0], 16) == 0:
                    break
                data = await r.readexactly(int(size_line.strip().split(b";")[0], 16))
                await r.readline()
            else:
                data = await r.read(65536)
                if not data:
                    break
            if cut_after_events is None and drop_matching is None:
                writer.write(chunk(data))
                await writer.drain()
                continue
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if drop_matching is not None and drop_matching.search(line):
                    continue
                if events == cut_after_events:
                    writer.write(chunk(line[: max(1, len(line) // 2)]))
                    await writer.drain()
                    raise HangUp()
                writer.write(chunk(line + b"\n"))
                await writer.drain()
                events += 1
        writer.write(b"0\r\n\r\n")
    finally:
        w.close()


def is_stream(target):
    return re.match(r"^(/v[0-9.]+)?/events(\?|$)", target) is not None


async def control(method, path, body, writer):
    global rules, request_log, generation
    if path == "/_fault/stats":
        writer.write(response_bytes(200, json.dumps(stats).encode()))
    elif path == "/_fault/rules" and method == "POST":
        rules.extend(Rule(s) for s in json.loads(body or b"[]"))
        writer.write(response_bytes(200, b'{"ok":true}'))
    elif path == "/_fault/rules":
        armed = [{"path": r.path.pattern, "action": r.action, "delay_ms": int(r.delay * 1000),
                  "times": r.times} for r in rules if r.times is None or r.times > 0]
        writer.write(response_bytes(200, json.dumps(armed).encode()))
    elif path == "/_fault/reset":
        rules = []
        request_log = []
        generation += 1
        stats["in_flight"] = 0
        stats["max_in_flight"] = 0
        stats["connections"] = 0
        writer.write(response_bytes(200, b'{"ok":true}'))
    elif path == "/_fault/log":
        writer.write(response_bytes(200, json.dumps(request_log).encode()))
    else:
        writer.write(response_bytes(404, b'{"message":"unknown control request"}'))
    await writer.drain()


class HangUp(Exception):
    """The scripted answer ends the connection."""


async def answer(method, target, headers, body, writer, upstream):
    """Answer one request: by the first matching rule, else from dockerd."""
    rule = next((r for r in rules if r.matches(method, target)), None)
    if rule is not None and rule.times is not None:
        rule.times -= 1
    action = rule.action if rule else "pass"
    if rule and rule.delay:
        await asyncio.sleep(rule.delay)
    if action == "stream" or (action == "pass" and is_stream(target)):
        await stream_through(upstream, method, target, headers, writer,
                             rule.cut_after_events if rule else None,
                             rule.drop_matching if rule else None)
    elif action == "pass":
        writer.write(await pass_through(upstream, method, target, headers, body))
    elif action == "respond":
        writer.write(response_bytes(rule.status, rule.body, rule.headers))
    elif action == "echo":
        # An error whose message repeats the request body, as a careless
        # engine or proxy might.
        message = json.dumps({"message": body.decode("utf-8", "replace")}).encode()
        writer.write(response_bytes(rule.status, message))
    elif action == "garbage":
        writer.write(response_bytes(200, b'{"Id": "abc", "State": {"Running": tru'))
    elif action == "wrong_shape":
        writer.write(response_bytes(200, b'{"Id": 42, "State": "running", "Names": {}}'))
    elif action == "hang":
        await asyncio.sleep(3600)
        raise HangUp()
    elif action == "drop":
        # Promise a body, send half of it, and hang up.
        full = json.dumps({"Id": "x" * 64, "State": {"Running": True}}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(full)}\r\n\r\n"
        writer.write(head.encode() + full[: len(full) // 2])
        await writer.drain()
        raise HangUp()
    elif action == "huge":
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {rule.size}\r\n\r\n"
        writer.write(head.encode())
        chunk = b"[" + b" " * (1024 * 1024 - 1)
        sent = 0
        while sent < rule.size:
            piece = chunk[: min(len(chunk), rule.size - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
            chunk = b" " * len(chunk)
    await writer.drain()


async def handle(reader, writer, upstream):
    counted = False
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            method, target, headers, body = req
            if target.startswith("/_fault/"):
                await control(method, target, body, writer)
                continue
            if not counted:
                stats["connections"] += 1
                counted = True
            request_log.append({"method": method, "path": target})
            started_in = generation
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            try:
                await answer(method, target, headers, body, writer, upstream)
            finally:
                if started_in == generation:
                    stats["in_flight"] -= 1
    except (ConnectionError, asyncio.IncompleteReadError, HangUp):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    if os.path.exists(args.listen):
        os.unlink(args.listen)
    servers = [await asyncio.start_unix_server(lambda r, w: handle(r, w, args.upstream), path=args.listen)]
    # Like the dockerd socket: the server's user may use it, nobody else.
    os.chown(args.listen, 0, grp.getgrnam("postgres").gr_gid)
    os.chmod(args.listen, 0o660)
    if args.tcp:
        servers.append(await asyncio.start_server(lambda r, w: handle(r, w, args.upstream),
                                                  host="127.0.0.1", port=args.tcp))
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
