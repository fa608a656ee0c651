#!/usr/bin/python3
"""Turns the measurements of bench/publish/run into a table, the goals, and the "publish"
section of BENCHMARKS.md.

    report.py RESULTS_DIR [BENCHMARKS.md]

RESULTS_DIR holds runs.tsv (contender, round, posts, wall s, user s, sys s, max RSS KB, note),
startup.json (hyperfine), big.tsv (the 1,000-post run, same columns) and meta.json. Prints the
markdown; with BENCHMARKS.md, replaces the section that starts with the heading "## publish"
(up to the next "## " heading) or appends it, re-reading the file just before writing.
"""
import json
import os
import statistics
import sys

NAMES = {
    "seed": "seed-like Python peer (requests + Pillow q85 full size, 1 at a time, no keep-alive)",
    "tuned": "tuned Python peer (Session per thread, term cache, thumbnail 2048 q82, 4 threads)",
    "wpl": "wpl (`publish.many`, http.limit(4))",
    "floor": "floor: wpl's requests replayed by curl (--parallel-max 4)",
}
ORDER = ["seed", "tuned", "wpl", "floor"]


def load(d):
    runs = {}
    with open(os.path.join(d, "runs.tsv")) as f:
        for line in f:
            c, rnd, posts, wall, user, sys_, rss, note = line.rstrip("\n").split("\t")
            runs.setdefault(c, []).append({"round": int(rnd), "posts": int(posts), "wall": float(wall),
                                           "cpu": float(user) + float(sys_), "rss": int(rss), "note": note})
    big = None
    if os.path.exists(os.path.join(d, "big.tsv")):
        with open(os.path.join(d, "big.tsv")) as f:
            c, rnd, posts, wall, user, sys_, rss, note = f.readline().rstrip("\n").split("\t")
            big = {"posts": int(posts), "wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss), "note": note}
    startup = None
    if os.path.exists(os.path.join(d, "startup.json")):
        with open(os.path.join(d, "startup.json")) as f:
            startup = json.load(f)["results"]
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    return runs, big, startup, meta


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def fmt_range(rows, key):
    if len(rows) < 2:
        return ""
    return "%.2f–%.2f" % (min(r[key] for r in rows), max(r[key] for r in rows))


def wpl_timeline(path):
    """Per kind of request: from the first one sent to the last answer, from `wpl -v` lines
    like `2026-01-01T10:00:00.123Z debug http POST http://.../wp-json/wp/v2/media -> 201 (587 ms, ...)`."""
    import datetime
    import re
    if not os.path.exists(path):
        return None
    spans = {}
    for line in open(path):
        # (a long URL is cut short in the log, and its status and time with it: then only the end is known)
        m = re.match(r"(\S+)Z debug http (\S+) (\S+)(?: -> \d+ \((\d+) ms)?", line)
        if not m:
            continue
        end = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        start = end - int(m.group(4) or 0) / 1000
        method, route = m.group(2), m.group(3).split("?")[0]
        is_term = route.endswith("/wp/v2/categories") or route.endswith("/wp/v2/tags")
        if method == "POST" and route.endswith("/wp/v2/media"):
            kind = "image uploads (each optimised in-process first)"
        elif is_term:
            kind = "term creates" if method == "POST" else "term lists"
        elif method == "POST" and route.endswith("/batch/v1"):
            kind = "post batches"
        elif method == "GET" and route.endswith("/wp/v2/posts"):
            kind = "slug lookups"
        elif method == "OPTIONS":
            kind = "OPTIONS (SEO keys, batch limit)"
        else:
            kind = "discovery"
        s = spans.setdefault(kind, [start, end, 0])
        s[0], s[1], s[2] = min(s[0], start), max(s[1], end), s[2] + 1
    if not spans:
        return None
    t0 = min(s[0] for s in spans.values())
    return ["%s: %d, %.2f–%.2f s" % (k, s[2], s[0] - t0, s[1] - t0) for k, s in sorted(spans.items(), key=lambda kv: kv[1][0])]


def render(d):
    runs, big, startup, meta = load(d)
    out = []
    w = out.append
    w("## publish")
    w("")
    w("Publishing a set of posts to the local WordPress (`tests/wordpress/wp-testbed`), each contender a whole "
      "process on a freshly reset site, with its own 8 categories and 20 tags:")
    w("")
    w("- **seed-like**: `bench/publish/peer.py seed`: for every post a `users/me` check, for every term name the full "
      "term list then a create, the image re-encoded by Pillow at quality 85 with no resize, uploaded, then a second "
      "request for its metadata; no connection reuse; one post after another.")
    w("- **tuned**: `bench/publish/peer.py tuned`: a `requests.Session` per thread, a term cache, Pillow "
      "`thumbnail((2048, 2048))` at quality 82, one upload request carrying the metadata, 4 threads.")
    w("- **wpl**: `wpl run bench/publish/publish.lua`: `publish.many` with `http.limit(4)` and a fresh `WPL_DB`.")
    w("- **floor**: wpl's own requests (recorded once with `WPL_HTTP_RECORD`: built bodies, optimised images) "
      "replayed by `curl --parallel --parallel-max 4` in two phases (everything but the post batches, then the "
      "batches with the new term and media ids): the server's own time for the same work.")
    w("")
    w("Latest run: %s, commit `%s`%s, "
      "%s; %d cores, load average %s before the run; WordPress: the testbed's php -S with %s workers, "
      "reset before every contender run. Made with (as root; details in `bench/publish/run`):" % (
          meta["date"], meta["commit"], " (with uncommitted changes)" if meta["dirty"] else "", meta["wpl_version"],
          meta["cores"], meta["load_before"], meta["php_workers"]))
    w("")
    w("```sh")
    w(meta["command"])
    w("```")
    w("")
    rounds = max(len(v) for v in runs.values())
    photos = meta.get("photos", 20)
    which = ("a distinct %s JPEG (%d photos)" % (meta["photo"], meta["posts"] // 10) if photos >= meta["posts"] // 10
             else "the same %s JPEG" % meta["photo"] if photos == 1
             else "one of %d %s JPEGs" % (photos, meta["photo"]))
    w("%d posts (about 4 KB of HTML, 2 of 8 categories, 3 of 20 tags, excerpt, meta description; every "
      "10th with a featured image, %s). Times are the median of %s (range in "
      "brackets); client CPU is user + system time of the client's processes (for the floor, curl's)." % (
          meta["posts"], which, ", ".join("%d run%s of %s" % (len(runs[c]), "s" if len(runs[c]) > 1 else "", c)
                                              for c in ORDER if c in runs)))
    w("")
    wpl = runs["wpl"]
    wpl_wall, wpl_cpu = med(wpl, "wall"), med(wpl, "cpu")
    w("| contender | posts | wall s | client CPU s | wall vs wpl | CPU vs wpl |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in ORDER:
        if c not in runs:
            continue
        rows = runs[c]
        wall, cpu = med(rows, "wall"), med(rows, "cpu")
        rw, rc = fmt_range(rows, "wall"), fmt_range(rows, "cpu")
        w("| %s | %d | %.2f%s | %.2f%s | %.2f× | %.2f× |" % (
            NAMES[c], rows[0]["posts"], wall, " (%s)" % rw if rw else "", cpu, " (%s)" % rc if rc else "",
            wall / wpl_wall, cpu / wpl_cpu if wpl_cpu else 0))
    w("")
    notes = sorted({r["note"] for c in runs for r in runs[c] if r["note"]})
    for n in notes:
        w("- " + n)
    if notes:
        w("")

    goals = []

    def goal(text, value, limit, unit="×"):
        ok = value <= limit
        goals.append((text, value, limit, unit, ok))

    if "tuned" in runs:
        goal("wpl wall time / tuned peer's", wpl_wall / med(runs["tuned"], "wall"), 0.5)
    if "seed" in runs:
        goal("wpl wall time / seed-like peer's", wpl_wall / med(runs["seed"], "wall"), 0.1)
    if "floor" in runs:
        goal("wpl wall time / floor's", wpl_wall / med(runs["floor"], "wall"), 1.2)
    if "tuned" in runs:
        goal("wpl client CPU / tuned peer's", wpl_cpu / med(runs["tuned"], "cpu"), 0.25)
    if startup:
        s = {("wpl" if "wpl" in r["command"] else "lua"): r for r in startup}
        goal("`wpl run empty.lua` startup, median of %d (mean %.2f ms, min %.2f ms; `lua5.4 -e ''`: median %.2f ms, "
             "min %.2f ms)" % (len(s["wpl"]["times"]), s["wpl"]["mean"] * 1000, s["wpl"]["min"] * 1000,
                              s["lua"]["median"] * 1000, s["lua"]["min"] * 1000),
             s["wpl"]["median"] * 1000, 5, " ms")
    if big:
        goal("peak RSS of wpl publishing %d posts (wall %.1f s, CPU %.1f s)" % (big["posts"], big["wall"], big["cpu"]),
             big["rss"] / 1024, 40, " MB")
    floors = sorted((json.load(open(os.path.join(d, f))) for f in os.listdir(d) if f.startswith("floor.")),
                    key=lambda r: r["wall"])
    if floors:
        f = floors[len(floors) // 2]
        w("Floor run with the median wall time, by phase: %s." % ", ".join(
            "%s %.2f s (%d requests)" % (p["phase"], p["wall"], p["requests"]) for p in f["phases"]))
        w("")
    timeline = wpl_timeline(os.path.join(d, "rec-verbose.log"))
    if timeline:
        w("Where wpl's time goes (its recording run, `wpl -v`; first request sent to last answer of each kind): "
          + "; ".join(timeline) + ".")
        w("")
    w("| goal | measured | limit | |")
    w("| --- | ---: | ---: | --- |")
    for text, value, limit, unit, ok in goals:
        w("| %s | %s%s | %g%s | %s |" % (text, ("%.3f" if unit == "×" else "%.2f") % value, unit, limit, unit,
                                          "met" if ok else "**missed**"))
    w("")
    if meta.get("photos", 20) != 1:
        w("`BENCH_PHOTOS=1 bench/publish/run` runs the same benchmark with the same photo for every featured "
          "image (the workload of the issue's reference figures), where wpl optimises and uploads it once.")
        w("")
    if "floor" in runs and "tuned" in runs and "seed" in runs:
        fw = med(runs["floor"], "wall")
        w("For scale: the floor's wall time is %.3f× the tuned peer's and %.3f× the seed-like peer's, so a client "
          "that sent wpl's requests at no cost of its own would be at those ratios." % (
              fw / med(runs["tuned"], "wall"), fw / med(runs["seed"], "wall")))
        w("")
    if meta.get("remarks"):
        for r in meta["remarks"]:
            w("- " + r)
        w("")
    return "\n".join(out) + "\n"


def write_section(path, section):
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if not text.strip():
        text = "# Benchmarks\n\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip() == "## publish"), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
    tmp = path + ".publish-tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    section = render(sys.argv[1])
    print(section)
    if len(sys.argv) == 3:
        write_section(sys.argv[2], section)
