#!/usr/bin/python3
"""The floor of bench/publish: wpl's own requests replayed by curl.

    replay.py names RECDIR NAMES.json
        right after a run of wpl with WPL_HTTP_RECORD=RECDIR, on the site it ran against:
        saves which term id had which name and which media id which title (WordPress's title
        of an upload is its file name without the extension; the batch bodies refer to
        terms and images by id)
    replay.py run RECDIR NAMES.json WORKDIR CONCURRENCY
        on a fresh site (after `wp-testbed reset`): replays the recorded requests and prints
        one JSON line {"wall":, "user":, "sys":, "requests":, "phases": [...]}

The replay sends the same requests with the same bodies (images already optimised, JSON
already built) through curl, one process per phase, `curl --parallel --parallel-max
CONCURRENCY` (keep-alive, like wpl). Two phases, because the posts refer to ids the server
hands out: 1. everything but the post batches, in recorded order (discovery, term lists,
term creates, image uploads, slug lookups, OPTIONS); 2. the /batch/v1 requests, whose term
and media ids are first rewritten to the ids phase 1 got (by term name and media title; this
rewriting is not timed). Wall and CPU time are those of the two curl processes. Every
response is checked (2xx, and 201 for every item of a batch): a replay that did not do the
same work fails. The WPL_HTTP_RECORD files are parsed here (curl config syntax, with \" and \\
escapes) and written again for one `curl --parallel` run; the site's new password replaces the
recorded one.
"""
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time
import urllib.parse

import requests

LINE = re.compile(r'^([a-z-]+)(?:\s*=\s*"(.*)")?\s*$')


def parse(recdir):
    out = []
    for path in sorted(glob.glob(os.path.join(recdir, "*.curl"))):
        req = {"file": os.path.basename(path), "headers": []}
        with open(path) as f:
            for line in f:
                m = LINE.match(line.rstrip("\n"))
                if not m:
                    raise SystemExit("cannot parse %s: %r" % (path, line))
                key, value = m.group(1), m.group(2)
                if value is not None:
                    value = re.sub(r"\\(.)", r"\1", value)  # curl config escapes: \" and \\
                if key == "header":
                    req["headers"].append(value)
                elif key in ("url", "request", "user", "data-binary"):
                    req[key] = value
        out.append(req)
    return out


def env():
    return (os.environ["WPL_TEST_URL"].rstrip("/"), os.environ.get("WPL_TEST_USER", "admin"),
            os.environ["WPL_TEST_APP_PASSWORD"])


def names(recdir, out):
    url, user, pw = env()
    result = {"categories": {}, "tags": {}, "media": {}}
    for kind in result:
        page = 1
        while True:
            r = requests.get("%s/wp-json/wp/v2/%s" % (url, kind), auth=(user, pw),
                             params={"per_page": 100, "page": page, "context": "edit"})
            r.raise_for_status()
            for item in r.json():
                if kind == "media":
                    result[kind][str(item["id"])] = item["title"]["raw"]
                else:
                    result[kind][str(item["id"])] = item["name"]
            if page >= int(r.headers.get("X-WP-TotalPages", "1")):
                break
            page += 1
    with open(out, "w") as f:
        json.dump(result, f)


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config(reqs, user, pw, outdir, body_of=lambda r: r.get("data-binary")):
    sections = []
    for r in reqs:
        lines = ["url = " + quote(r["url"]), "request = " + quote(r["request"]),
                 "output = " + quote(os.path.join(outdir, r["file"] + ".out")),
                 "write-out = " + quote("%{http_code} " + r["file"] + "\\n"),
                 "user = " + quote("%s:%s" % (user, pw))]
        lines += ["header = " + quote(h) for h in r["headers"]]
        body = body_of(r)
        if body:
            lines.append("data-binary = " + quote(body))
        sections.append("\n".join(lines) + "\n")
    return "next\n".join(sections)


def run_phase(name, cfg_text, workdir, concurrency):
    cfg = os.path.join(workdir, name + ".cfg")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(["curl", "--silent", "--show-error", "--parallel", "--parallel-immediate",
                        "--parallel-max", str(concurrency), "--config", cfg], capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("curl failed in phase %s: %s" % (name, p.stderr))
    codes = {}
    for line in p.stdout.split("\n"):
        if line.strip():
            code, file = line.split()
            codes[file] = int(code)
    return {"phase": name, "wall": wall, "user": after.ru_utime - before.ru_utime,
            "sys": after.ru_stime - before.ru_stime, "requests": len(codes)}, codes


def read_out(outdir, r):
    with open(os.path.join(outdir, r["file"] + ".out"), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def run(recdir, names_file, workdir, concurrency):
    url, user, pw = env()
    with open(names_file) as f:
        old = json.load(f)
    reqs = parse(recdir)
    outdir = os.path.join(workdir, "out")
    os.makedirs(outdir, exist_ok=True)
    # the recording's URL may differ from this site's (another port): same paths, this site
    base = re.match(r"^(https?://[^/]+)", reqs[0]["url"]).group(1)
    for r in reqs:
        if not r["url"].startswith(base):
            raise SystemExit("unexpected URL " + r["url"])
        r["url"] = url + r["url"][len(base):]
    batches = [r for r in reqs if r["request"] == "POST" and urllib.parse.urlparse(r["url"]).path.endswith("/batch/v1")]
    first = [r for r in reqs if r not in batches]

    phase1, codes = run_phase("1-reads-terms-media", config(first, user, pw, outdir), workdir, concurrency)
    bad = {f: c for f, c in codes.items() if not 200 <= c < 300}
    if bad or len(codes) != len(first):
        raise SystemExit("phase 1: %d answers for %d requests, failures %s" % (len(codes), len(first), bad))

    # new ids by name, then old id -> new id
    new = {"categories": {}, "tags": {}, "media": {}}
    for r in first:
        path = urllib.parse.urlparse(r["url"]).path
        if r["request"] != "POST":
            continue
        body = read_out(outdir, r)
        for kind in ("categories", "tags"):
            if path.endswith("/wp/v2/" + kind):
                new[kind][body["name"]] = body["id"]
        if path.endswith("/wp/v2/media"):
            new["media"][body["title"]["raw"]] = body["id"]
    idmap = {}
    for kind in new:
        idmap[kind] = {}
        for old_id, name in old[kind].items():
            if name in new[kind]:
                idmap[kind][int(old_id)] = new[kind][name]

    def mapped(kind, i):
        if i not in idmap[kind]:
            raise SystemExit("no new id for %s %s" % (kind, i))
        return idmap[kind][i]

    bodies = {}
    for r in batches:
        with open(r["data-binary"].lstrip("@"), "rb") as f:
            batch = json.load(f)
        for item in batch["requests"]:
            b = item["body"]
            for kind in ("categories", "tags"):
                if kind in b:
                    b[kind] = [mapped(kind, i) for i in b[kind]]
            if b.get("featured_media"):
                b["featured_media"] = mapped("media", b["featured_media"])
        path = os.path.join(workdir, r["file"] + ".body")
        with open(path, "w") as f:
            json.dump(batch, f, separators=(",", ":"))
        bodies[r["file"]] = "@" + path

    phase2, codes = run_phase("2-post-batches", config(batches, user, pw, outdir, lambda r: bodies[r["file"]]),
                              workdir, concurrency)
    posts = 0
    for r in batches:
        if not 200 <= codes.get(r["file"], 0) < 300:
            raise SystemExit("batch %s answered %s" % (r["file"], codes.get(r["file"])))
        for answer in read_out(outdir, r)["responses"]:
            if answer.get("status") != 201:
                raise SystemExit("batch %s: an item answered %s: %s" % (r["file"], answer.get("status"),
                                                                         json.dumps(answer.get("body"))[:300]))
            posts += 1
    phases = [phase1, phase2]
    print(json.dumps({"wall": sum(p["wall"] for p in phases), "user": sum(p["user"] for p in phases),
                      "sys": sum(p["sys"] for p in phases), "requests": len(reqs), "posts": posts,
                      "phases": phases}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "names":
        names(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(__doc__)
