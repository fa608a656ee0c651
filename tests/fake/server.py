#!/usr/bin/env python3
"""A fake HTTP server for the faults and capabilities the local WordPress can't show on
demand (php -S closes every connection, never hangs, never sends junk). Loopback only,
bounded: it exits after --lifetime seconds.

    server.py [--lifetime SECONDS]   prints "PORT PID" on its first line, then serves:

    /keepalive          200 JSON {"connection": N}: N counts TCP connections accepted
    /hang?s=S           sleeps S seconds (max 30) before answering
    /status/CODE        answers CODE with a JSON error body; ?retry_after=S adds Retry-After
    /oldwp/...          a WordPress-shaped site older than 5.6 (no /batch/v1), installed in a
                        sub-directory: REST index, POST wp/v2/posts, and an HTML page with
                        status 200 at wp-json/wpl-fake/html200
    /plain/...          a web site that is not WordPress
"""
import http.server, json, os, socketserver, sys, threading, time, urllib.parse

connections = 0
posts_created = 0
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

    def send_html(self, code, text, headers=()):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def old_wordpress(self, rest):
        global posts_created
        base = "http://%s:%d/oldwp" % self.server.server_address
        if rest in ("", "/"):
            self.send_html(200, "<html><head><title>Old WP</title></head><body>home</body></html>",
                           [("Link", '<%s/wp-json/>; rel="https://api.w.org/"' % base)])
        elif rest == "/wp-json/":
            self.send_json(200, {"name": "Old WP", "namespaces": ["wp/v2"], "routes": {}})
        elif rest == "/wp-json/wp/v2/posts" and self.command == "POST":
            with lock:
                posts_created += 1
                n = posts_created
            self.send_json(201, {"id": 1000 + n, "title": {"raw": self.json_body.get("title", "")}})
        elif rest == "/wp-json/wpl-fake/html200":
            self.send_html(200, "<!DOCTYPE html>\n<html><head><title>Error establishing a database connection</title>"
                                "</head><body><h1>Error establishing a database connection</h1></body></html>")
        else:
            self.send_json(404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
                                 "data": {"status": 404}})

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            self.json_body = json.loads(raw) if raw else {}
        except ValueError:
            self.json_body = {}
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/oldwp"):
            return self.old_wordpress(url.path[len("/oldwp"):])
        if url.path.startswith("/plain"):
            return self.send_html(404 if "wp-json" in url.path else 200,
                                  "<html><head><title>Just a site</title></head><body>hello</body></html>")
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

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any


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
