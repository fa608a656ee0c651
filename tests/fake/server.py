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

Faults, on /oldwp/wp-json/... requests carrying "X-Fault: MODE:COUNT:TOKEN" (the first COUNT
requests with TOKEN get the fault; then the route answers normally). A create (POST posts) is
carried out before a fault that comes after the response started, as a real server would:
    hang            sleep 10 s, then answer
    drip            send the headers, then one body byte every 0.5 s
    reset           send half of the body, then reset the connection
    truncate        promise a longer Content-Length than sent, then close
    status-N[-R]    answer status N (with Retry-After: R)
    html200         an HTML error page with status 200
    badjson         status 200, Content-Type JSON, a body that is not JSON
    notice          a PHP notice before the JSON
    big             a 30 MB JSON body
    redirect        301 to the https:// form of the same URL
GET /oldwp/wp-json/wp/v2/posts?slug=S finds the posts created with that slug.
"""
import http.server, json, os, socketserver, sys, threading, time, urllib.parse

connections = 0
posts_created = 0
posts = []            # created posts, for slug lookups
faults_left = {}      # token -> faults still to give
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

    def take_fault(self):
        spec = self.headers.get("X-Fault", "")
        parts = spec.split(":")
        if len(parts) != 3:
            return None
        mode, count, token = parts
        with lock:
            left = faults_left.setdefault(token, int(count))
            if left <= 0:
                return None
            faults_left[token] = left - 1
        return mode

    def send_faulty(self, mode, code, obj):
        """Answers with obj, spoiled the way mode says; True when it handled the answer."""
        body = json.dumps(obj).encode()
        if mode == "hang":
            time.sleep(10)
        elif mode == "drip":
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for b in body[:40]:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(0.5)
            self.close_connection = True
            return True
        elif mode in ("reset", "truncate"):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + (1000 if mode == "truncate" else 0)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if mode == "reset" else body)
            self.wfile.flush()
            if mode == "reset":
                import socket, struct
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return True
        elif mode.startswith("status-"):
            bits = mode.split("-")
            headers = [("Retry-After", bits[2])] if len(bits) > 2 else []
            self.send_json(int(bits[1]), {"code": "fake_fault", "message": "fault " + bits[1], "data": {"status": int(bits[1])}}, headers)
            return True
        elif mode == "html200":
            self.send_html(200, "<!DOCTYPE html><html><head><title>Service temporarily down</title></head><body>down</body></html>")
            return True
        elif mode == "badjson":
            junk = b'{"id": 1, "title": '
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(junk)))
            self.end_headers()
            self.wfile.write(junk)
            return True
        elif mode == "notice":
            text = b"<br />\n<b>Notice</b>:  Undefined variable: x in <b>/srv/wp/x.php</b> on line <b>3</b><br />\n" + body
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return True
        elif mode == "big":
            chunk = b'"' + b"x" * (1024 * 1024 - 3) + b'",'
            total = 30 * len(chunk) + 2
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            try:
                self.wfile.write(b"[")
                for _ in range(30):
                    self.wfile.write(chunk)
                self.wfile.write(b"0]")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return True
        elif mode == "redirect":
            self.send_response(301)
            self.send_header("Location", "https://%s:%d%s" % (self.server.server_address[0], self.server.server_address[1], self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        return False

    def old_wordpress(self, rest):
        global posts_created
        base = "http://%s:%d/oldwp" % self.server.server_address
        fault = self.take_fault() if rest.startswith("/wp-json/") and rest != "/wp-json/" else None
        if rest == "/wp-json/wp/v2/posts" and self.command == "GET":
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            slugs = [v for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query) if k.startswith("slug")]
            with lock:
                found = [p for p in posts if p["slug"] in slugs] if slugs else list(posts)
            if fault and self.send_faulty(fault, 200, found):
                return
            return self.send_json(200, found, [("X-WP-TotalPages", "1")])
        if fault and not (rest == "/wp-json/wp/v2/posts" and self.command == "POST" and fault in ("hang", "drip", "reset", "truncate")):
            if self.send_faulty(fault, 200, {"fault": fault}):
                return
        if rest in ("", "/"):
            self.send_html(200, "<html><head><title>Old WP</title></head><body>home</body></html>",
                           [("Link", '<%s/wp-json/>; rel="https://api.w.org/"' % base)])
        elif rest == "/wp-json/":
            self.send_json(200, {"name": "Old WP", "namespaces": ["wp/v2"], "routes": {}})
        elif rest == "/wp-json/wp/v2/posts" and self.command == "POST":
            with lock:
                posts_created += 1
                n = posts_created
                post = {"id": 1000 + n, "slug": self.json_body.get("slug") or "post-%d" % n,
                        "title": {"raw": self.json_body.get("title", "")}, "status": self.json_body.get("status", "draft"),
                        "link": base + "/?p=%d" % (1000 + n)}
                posts.append(post)
            if fault and self.send_faulty(fault, 201, post):  # created, then the answer goes wrong
                return
            self.send_json(201, post)
        elif rest == "/wp-json/wpl-fake/count":
            with lock:
                self.send_json(200, {"posts": len(posts)})
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
