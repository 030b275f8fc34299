"""What a phone downloads, and Lighthouse's mobile scores, for the pages parents open first.

    .venv/bin/python -m tests.bench.pages [--no-lighthouse] [--json PATH]

Serves the demo school from a fresh SQLite database with `uvicorn portal.main:app`, as in
production, then for the home page, the first page of the complaint form and the tracking page:

The form's start page is where "Raise a concern" leads; its first question (`/complaints/new/kind`)
is measured too: like every question page it is `noindex` on purpose (search engines should not
send parents into the middle of a form), which Lighthouse's SEO score counts against it.

- bytes transferred, in Chromium (Playwright, `/usr/bin/chromium`): a first visit with an empty
  cache, then a repeat visit to the same page in a new tab of the same browser (cache kept). The
  figure is what DevTools shows as "transferred": each response's encoded size on the wire,
  headers included, summed over the page and everything it loads; files served from the cache
  count 0. Targets: first visit under 40 KB, repeat visit under 10 KB.
- Lighthouse 12.2.3 (`tools/lighthouse`, installed by `make bench`), mobile form factor with its
  default simulated throttling: the performance, accessibility, best-practices and SEO scores, and
  the layout shift, byte weight and text-compression audits. Target: each score at least 98.

Prints figures only; nothing here fails on a number. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from portal.clock import SystemClock
from portal.config import PROJECT_ROOT, Settings
from portal.db import make_engine
from portal.demo import load_demo
from tests.bench.databases import BENCH_DIR, fresh_database
from tests.bench.load import Server, production_env, uvicorn_server
from tests.bench.report import machine

PAGES = {
    "home page /": "/",
    "form start page /complaints/new": "/complaints/new",
    "first question /complaints/new/kind": "/complaints/new/kind",
    "tracking page /track": "/track",
}
FIRST_VISIT_TARGET = 40 * 1024
REPEAT_VISIT_TARGET = 10 * 1024
SCORE_TARGET = 98
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIGHTHOUSE_DIR = PROJECT_ROOT / "tools" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
AUDITS = ("cumulative-layout-shift", "first-contentful-paint", "largest-contentful-paint")


@dataclass
class Visit:
    bytes: int = 0
    requests: int = 0
    from_cache: int = 0
    by_url: dict[str, int] = field(default_factory=dict)


@dataclass
class PageWeight:
    name: str
    path: str
    first: Visit
    repeat: Visit

    def row(self) -> str:
        def kb(visit: Visit, target: int) -> str:
            mark = "" if visit.bytes < target else " **over**"
            return f"{visit.bytes / 1024:.1f} KB{mark}"

        return (
            f"| {self.name} | {kb(self.first, FIRST_VISIT_TARGET)} | {self.first.requests} "
            f"| {kb(self.repeat, REPEAT_VISIT_TARGET)} | {self.repeat.requests} "
            f"({self.repeat.from_cache} from cache) |"
        )


WEIGHT_HEADER = "| page | first visit | requests | repeat visit | requests |\n|---|--:|--:|--:|---|"


def _visit(context: Any, url: str) -> Visit:
    """Load `url` in a new tab of `context` and add up what came over the network."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    cached: set[str] = set()
    visit = Visit()

    def on_response(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["response"]["url"]
        if event["response"].get("fromDiskCache") or event["response"].get("fromMemoryCache"):
            cached.add(event["requestId"])

    def on_cache(event: dict[str, Any]) -> None:
        cached.add(event["requestId"])

    def on_finished(event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        if request_id not in urls:
            return
        visit.requests += 1
        if request_id in cached:
            visit.from_cache += 1
            return
        size = int(event["encodedDataLength"])
        visit.bytes += size
        visit.by_url[urls[request_id]] = size

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.requestServedFromCache", on_cache)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(url, wait_until="networkidle")
    page.close()
    return visit


def page_weights(server: Server) -> list[PageWeight]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, path in PAGES.items():
            context = browser.new_context(
                viewport={"width": 375, "height": 812}, is_mobile=True, device_scale_factor=2
            )
            first = _visit(context, server.base_url + path)
            repeat = _visit(context, server.base_url + path)
            results.append(PageWeight(name, path, first, repeat))
            context.close()
        browser.close()
    return results


def lighthouse(server: Server) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not LIGHTHOUSE.exists():
        print(
            f"Lighthouse not installed ({LIGHTHOUSE}): `make bench` installs it (tools/lighthouse)"
        )
        return []
    results = []
    for name, path in PAGES.items():
        command = [
            node,
            str(LIGHTHOUSE),
            server.base_url + path,
            "--chrome-flags=--headless --no-sandbox --disable-gpu",
            "--form-factor=mobile",
            f"--only-categories={','.join(CATEGORIES)}",
            "--output=json",
            "--output-path=stdout",
            "--quiet",
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            print(f"Lighthouse failed on {path}: {done.stderr.decode()[-500:]}")
            continue
        report = json.loads(done.stdout)
        audits = report["audits"]
        results.append(
            {
                "page": name,
                "scores": {
                    key: round(100 * (report["categories"][key]["score"] or 0))
                    for key in CATEGORIES
                },
                "cls": audits["cumulative-layout-shift"]["numericValue"],
                "fcp_ms": audits["first-contentful-paint"]["numericValue"],
                "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
                "total_byte_weight": audits["total-byte-weight"]["numericValue"],
                "text_compression": audits["uses-text-compression"]["score"],
                "below_one": sorted(
                    f"{audit['id']} ({audit.get('displayValue', audit['score'])})"
                    for audit in audits.values()
                    if audit.get("score") is not None
                    and audit["score"] < 1
                    and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
                ),
                "lighthouse": report["lighthouseVersion"],
            }
        )
    return results


LIGHTHOUSE_HEADER = (
    "| page | performance | accessibility | best practices | SEO | CLS | FCP | LCP | bytes |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def lighthouse_row(result: dict[str, Any]) -> str:
    scores = " | ".join(
        f"{score}" if score >= SCORE_TARGET else f"**{score}**"
        for score in result["scores"].values()
    )
    return (
        f"| {result['page']} | {scores} | {result['cls']:.3f} | {result['fcp_ms'] / 1000:.1f} s "
        f"| {result['lcp_ms'] / 1000:.1f} s | {result['total_byte_weight'] / 1024:.1f} KB |"
    )


def demo_server_env(url: str) -> dict[str, str]:
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(48), _env_file=None)
    engine = make_engine(url, SystemClock())
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, settings, only_if_empty=True)
    engine.dispose()
    return production_env(url, settings.secret_key, BENCH_DIR / "attachments", "memory://")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.pages", description=__doc__)
    parser.add_argument("--no-lighthouse", action="store_true", help="bytes transferred only")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    facts = machine()
    print(f"machine: {facts['cpus']} CPUs, Python {facts['python']}, Chromium {CHROMIUM}")
    results: dict[str, Any] = {"machine": facts}
    with fresh_database("sqlite") as db, uvicorn_server(demo_server_env(db.url)) as server:
        weights = page_weights(server)
        results["page_weight"] = [asdict(weight) for weight in weights]
        print(
            "\nbytes transferred (target: first visit under 40 KB, repeat under 10 KB)\n"
            + "\n".join([WEIGHT_HEADER, *(weight.row() for weight in weights)]),
            flush=True,
        )
        for weight in weights:
            print(f"  {weight.path}, first visit:")
            for url, size in weight.first.by_url.items():
                print(f"    {size / 1024:6.1f} KB  {url.removeprefix(server.base_url)}")
        if not args.no_lighthouse:
            print("\nLighthouse, mobile (target: every score at least 98) ...", flush=True)
            scores = lighthouse(server)
            results["lighthouse"] = scores
            print("\n".join([LIGHTHOUSE_HEADER, *(lighthouse_row(r) for r in scores)]))
            for result in scores:
                if result["below_one"]:
                    print(f"  {result['page']}: below full marks: {', '.join(result['below_one'])}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
