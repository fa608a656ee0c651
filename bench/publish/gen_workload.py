#!/usr/bin/python3
"""Makes the workload of bench/publish: photos and a JSON list of posts.

    gen_workload.py photos SRC_DIR OUT_DIR [COUNT]     COUNT (20) distinct 12+ megapixel JPEGs
    gen_workload.py posts PHOTO_DIR N OUT.json [K]      N posts (about 4 KB of HTML each), using the
                                                        first K photos (default: all)

Photos: crops of the Debian mate-backgrounds photos (SRC_DIR is the unpacked package's
usr/share/backgrounds), scaled to 4256x2848 (12.1 MP, a common camera size), each with its
own crop, colour balance, mirror and sensor-like grain, saved at quality 92 like a camera.
The grain keeps the files at camera-like sizes (an upscaled wallpaper alone compresses far
better than a real photo). Deterministic: the same inputs give the same files.

Posts: unique titles, 2 categories out of 8, 3 tags out of 20, an excerpt and a meta
description; every 10th post (post 1, 11, 21, ...) has a featured image, photo k for the
k-th such post (cycling when there are more such posts than photos). Term names are bare
("Travel"): each contender prefixes them with its own name, so each creates its own terms.
"""
import json
import os
import random
import sys

WIDTH, HEIGHT = 4256, 2848

CATEGORIES = ["Travel", "Food", "Science", "Culture", "Sport", "Business", "Health", "Technology"]
TAGS = ["summer", "winter", "review", "guide", "news", "interview", "opinion", "recipe", "budget",
        "family", "history", "photo", "video", "data", "europe", "asia", "ocean", "mountains",
        "city", "weekend"]
WORDS = ("light river morning garden stone window market harbour village forest summer quiet "
         "bright letter journey table coffee bridge winter island station evening mountain road "
         "paper music yellow green north south season harvest festival lantern meadow storm "
         "orchard valley canal tower library kitchen theatre museum bicycle ferry glacier").split()


def photos(src, out, count=20):
    from PIL import Image, ImageChops, ImageEnhance, ImageOps
    os.makedirs(out, exist_ok=True)
    sources = []
    for sub in ("mate/nature", "mate/abstract"):
        d = os.path.join(src, sub)
        for name in sorted(os.listdir(d)):
            if name.lower().endswith(".jpg") and name not in ("Elephants.jpg", "Elephants_3840x2160.jpg"):
                sources.append(os.path.join(d, name))
    if not sources:
        sys.exit("no source photos under " + src)
    rng = random.Random(20240601)
    made = []
    for k in range(count):
        path = os.path.join(out, "photo-%02d.jpg" % (k + 1))
        made.append(path)
        if os.path.exists(path) and os.path.getsize(path) > 0:
            continue
        im = Image.open(sources[k % len(sources)]).convert("RGB")
        w, h = im.size
        # a 3:2 crop covering 70-100% of the width, somewhere in the picture
        cw = int(w * rng.uniform(0.7, 1.0))
        ch = min(h, int(cw * 2 / 3))
        cw = int(ch * 3 / 2)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch)).resize((WIDTH, HEIGHT), Image.BICUBIC)
        if k // len(sources) % 2 == 1:
            im = ImageOps.mirror(im)
        im = ImageEnhance.Color(im).enhance(rng.uniform(0.8, 1.3))
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.9, 1.1))
        noise = Image.effect_noise((WIDTH, HEIGHT), rng.uniform(7, 11)).convert("RGB")
        im = ImageChops.add(im, noise, 1.0, -128)
        tmp = path + ".tmp"
        im.save(tmp, "JPEG", quality=92)
        os.replace(tmp, path)
        print("  %s  %dx%d  %.1f MB" % (os.path.basename(path), WIDTH, HEIGHT, os.path.getsize(path) / 1e6),
              file=sys.stderr)
    return made


def sentence(rng, n):
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def content(rng, i):
    parts = []
    size = 0
    n = 0
    while size < 4000:
        n += 1
        if n % 4 == 1:
            block = "<h2>%s</h2>" % sentence(rng, 4)[:-1]
        elif n % 7 == 0:
            block = "<ul>%s</ul>" % "".join("<li>%s</li>" % sentence(rng, 5) for _ in range(4))
        else:
            block = "<p>%s <strong>%s</strong> %s <a href=\"https://example.com/%d/%d\">%s</a> %s</p>" % (
                " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(3)), rng.choice(WORDS),
                sentence(rng, 10), i, n, rng.choice(WORDS), sentence(rng, 12))
        parts.append(block)
        size += len(block) + 1
    return "\n".join(parts)


def posts(photo_dir, n, out, k=None):
    imgs = sorted(os.path.join(photo_dir, f) for f in os.listdir(photo_dir) if f.startswith("photo-") and f.endswith(".jpg"))
    imgs = imgs[:k] if k else imgs
    rng = random.Random(n * 7919 + 1)
    items = []
    with_image = 0
    for i in range(1, n + 1):
        item = {
            "title": "%s %s %s, number %d" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS), rng.choice(WORDS), i),
            "content": content(rng, i),
            "categories": rng.sample(CATEGORIES, 2),
            "tags": rng.sample(TAGS, 3),
            "excerpt": sentence(rng, 18),
            "meta_description": sentence(rng, 20)[:155],
        }
        if i % 10 == 1:
            item["featured_image"] = imgs[with_image % len(imgs)]
            item["image_alt"] = "Photo %d" % (with_image % len(imgs) + 1)
            with_image += 1
        items.append(item)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"categories": CATEGORIES, "tags": TAGS, "posts": items}, f, indent=0)
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "photos":
        photos(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 20)
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "posts":
        posts(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]) if len(sys.argv) == 6 else None)
    else:
        sys.exit(__doc__)
