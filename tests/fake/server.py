#!/usr/bin/env python3
"""A fake HTTP server for the faults and capabilities the local WordPress can't show on
demand (php -S closes every connection, never hangs, never sends junk). Loopback only,
bounded: it exits after --lifetime seconds.

    server.py [--lifetime SECONDS]   prints "PORT PID" on its first line, then serves:

    /keepalive          200 JSON {"connection": N}: N counts TCP connections accepted
    /hang?s=S           sleeps S seconds (max 30) before answering
    /status/CODE        answers CODE with a JSON error body; ?retry_after=S adds Retry-After
"""
import http.server, json, os, socketserver, sys, threading, time, urllib.parse

connections = 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def setup(self):
        global connections
        super().setup()
        with lock:
            connections += 1
            self.connection_number = connections

    def log_message(self, *args):
        pass

    def send_json(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        if parts[0] == "keepalive":
            self.send_json(200, {"connection": self.connection_number})
        elif parts[0] == "hang":
            time.sleep(min(float(q.get("s", "5")), 30))
            self.send_json(200, {"slept": True})
        elif parts[0] == "status" and len(parts) > 1:
            headers = [("Retry-After", q["retry_after"])] if "retry_after" in q else []
            self.send_json(int(parts[1]), {"code": "fake_error", "message": "fake " + parts[1]}, headers)
        else:
            self.send_json(404, {"code": "rest_no_route", "message": "no such fake route"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    lifetime = 60.0
    if len(sys.argv) == 3 and sys.argv[1] == "--lifetime":
        lifetime = float(sys.argv[2])
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], os.getpid(), flush=True)
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
