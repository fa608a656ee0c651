#!/usr/bin/python3
"""The Python contenders of bench/publish (Debian's python3-requests and python3-pil).

    peer.py seed  WORKLOAD.json PREFIX     what the seed's service does, one post after another
    peer.py tuned WORKLOAD.json PREFIX     keep-alive sessions, a term cache, 4 threads

The site comes from WPL_TEST_URL / WPL_TEST_USER / WPL_TEST_APP_PASSWORD. Titles and term
names are prefixed with PREFIX (each contender makes its own 8 categories and 20 tags).

seed:  for every post a users/me check; for every term name the full term list (all pages)
       then a create when the name is missing; the featured image re-encoded by Pillow at
       quality 85 with no resize, uploaded, then a second request for its metadata (alt
       text); the post; no connection reuse (requests.get/post open a new connection each).
tuned: one requests.Session per thread (keep-alive); terms resolved once and cached (one
       full list per taxonomy, one create per missing name, different names in parallel); the image through
       Pillow thumbnail((2048, 2048)) at quality 82, uploaded in one request that carries its
       metadata; posts spread over a pool of 4 threads.

Both send the same post fields as wpl: title, content, excerpt, status, categories, tags,
featured_media and the meta description as post meta `_yoast_wpseo_metadesc` (the key the
testbed registers like Yoast SEO, which wpl's seo = "auto" picks). Prints one line
`created=N failed=N`; exits 1 on any failure.
"""
import html
import io
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from PIL import Image

URL = os.environ["WPL_TEST_URL"].rstrip("/") + "/wp-json"
AUTH = (os.environ.get("WPL_TEST_USER", "admin"), os.environ["WPL_TEST_APP_PASSWORD"])
TIMEOUT = 300
META_KEY = "_yoast_wpseo_metadesc"


def check(r, what):
    if r.status_code >= 300:
        raise RuntimeError("%s: HTTP %d %s" % (what, r.status_code, r.text[:300]))
    return r.json()


def find_term(terms, name):
    for t in terms:
        if html.unescape(t["name"]).lower() == name.lower():
            return t["id"]
    return None


def create_term(http, tax, name):
    r = http.post("%s/wp/v2/%s" % (URL, tax), json={"name": name}, auth=AUTH, timeout=TIMEOUT)
    if r.status_code == 400 and r.json().get("code") == "term_exists":
        return r.json()["data"]["term_id"]
    return check(r, "create %s %s" % (tax, name))["id"]


def all_terms(http, tax):
    out, page = [], 1
    while True:
        r = http.get("%s/wp/v2/%s" % (URL, tax), params={"per_page": 100, "page": page, "context": "edit"},
                     auth=AUTH, timeout=TIMEOUT)
        out += check(r, "list " + tax)
        if page >= int(r.headers.get("X-WP-TotalPages", "1")):
            return out
        page += 1


def jpeg_bytes(path, quality, box=None):
    with Image.open(path) as im:
        if box:
            im.thumbnail(box)
        im = im.convert("RGB")
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def post_body(p, prefix, cats, tags, media):
    body = {"title": prefix + " " + p["title"], "content": p["content"], "excerpt": p["excerpt"],
            "status": "publish", "categories": cats, "tags": tags, "meta": {META_KEY: p["meta_description"]}}
    if media:
        body["featured_media"] = media
    return body


# ------------------------------------------------------------------ seed-like

def seed(posts, prefix):
    def term(tax, name):  # the full list every time, then a create
        found = find_term(all_terms(requests, tax), name)
        return found if found is not None else create_term(requests, tax, name)

    failed = 0
    for p in posts:
        try:
            check(requests.get(URL + "/wp/v2/users/me", params={"context": "edit"}, auth=AUTH, timeout=TIMEOUT), "users/me")
            cats = [term("categories", prefix + " " + c) for c in p["categories"]]
            tags = [term("tags", prefix + " " + t) for t in p["tags"]]
            media = None
            if p.get("featured_image"):
                data = jpeg_bytes(p["featured_image"], 85)
                name = os.path.basename(p["featured_image"])
                r = requests.post(URL + "/wp/v2/media", data=data, auth=AUTH, timeout=TIMEOUT,
                                  headers={"Content-Type": "image/jpeg",
                                           "Content-Disposition": 'attachment; filename="%s"' % name})
                media = check(r, "upload")["id"]
                check(requests.post("%s/wp/v2/media/%d" % (URL, media), json={"alt_text": p.get("image_alt", "")},
                                    auth=AUTH, timeout=TIMEOUT), "media metadata")
            check(requests.post(URL + "/wp/v2/posts", json=post_body(p, prefix, cats, tags, media),
                                auth=AUTH, timeout=TIMEOUT), "create post")
        except Exception as e:  # one failure does not stop the others
            failed += 1
            print("failed: %s" % e, file=sys.stderr)
    return failed


# ------------------------------------------------------------------ tuned

def tuned(posts, prefix, threads=4):
    local = threading.local()

    def session():
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.auth = AUTH
        return local.s

    lists, cache, locks, guard = {}, {}, {}, threading.Lock()

    def lock_of(key):
        with guard:
            return locks.setdefault(key, threading.Lock())

    def term(tax, name):  # one list per taxonomy, one create per missing name, others in parallel
        key = (tax, name.lower())
        if key in cache:
            return cache[key]
        with lock_of(key):
            if key not in cache:
                with lock_of(tax):
                    if tax not in lists:
                        lists[tax] = all_terms(session(), tax)
                found = find_term(lists[tax], name)
                cache[key] = found if found is not None else create_term(session(), tax, name)
            return cache[key]

    def one(p):
        try:
            s = session()
            cats = [term("categories", prefix + " " + c) for c in p["categories"]]
            tags = [term("tags", prefix + " " + t) for t in p["tags"]]
            media = None
            if p.get("featured_image"):
                data = jpeg_bytes(p["featured_image"], 82, (2048, 2048))
                name = os.path.basename(p["featured_image"])
                r = s.post(URL + "/wp/v2/media", data=data, params={"alt_text": p.get("image_alt", "")}, timeout=TIMEOUT,
                           headers={"Content-Type": "image/jpeg",
                                    "Content-Disposition": 'attachment; filename="%s"' % name})
                media = check(r, "upload")["id"]
            check(s.post(URL + "/wp/v2/posts", json=post_body(p, prefix, cats, tags, media), timeout=TIMEOUT),
                  "create post")
            return 0
        except Exception as e:
            print("failed: %s" % e, file=sys.stderr)
            return 1

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, posts))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("seed", "tuned"):
        sys.exit(__doc__)
    with open(sys.argv[2]) as f:
        posts = json.load(f)["posts"]
    fails = (seed if sys.argv[1] == "seed" else tuned)(posts, sys.argv[3])
    print("created=%d failed=%d" % (len(posts) - fails, fails))
    sys.exit(1 if fails else 0)
