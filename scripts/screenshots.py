"""Regenerate the console and self-report screenshots in docs/images/ (issue 11).

Runs ``safespace demo --serve`` (what ``make run`` runs: generated benign pattern images
only, never a photo of anyone) on a free port with a temporary data folder, then drives
Debian's Chromium (``/usr/bin/chromium``) with Playwright:

* ``console-review-queue.png``: the review queue with the demo's items (desktop);
* ``console-review-item.png``: a review item, its media blurred and greyscale (desktop);
* ``self-report-phone-form.png`` and ``self-report-phone-case.png``: the self-report page on
  a phone, the form with a picture picked, then the case number and PIN after "Send";
* ``console-overview-charts.png`` only with ``--charts`` (it exists; the demo's charts are
  nearly empty, so regenerate it only when the overview changes).

Each PNG is reduced to a palette of 128 colours (Pillow) to stay under about 150 KB.

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--charts]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
LIMIT_BYTES = 150_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_demo(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).with_name("safespace")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "safespace.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESPACE_")}
    env["SAFESPACE_DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen(
        [*command, "demo", "--serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    text = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and "Demo API key" not in text:
        line = proc.stderr.readline()
        if not line:
            break
        text += line
    found = re.search(r"password: (\S+)\)", text)
    if not found:
        proc.kill()
        raise SystemExit(f"the demo did not start:\n{text}")
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, found.group(1)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the demo did not become ready")


def _save(page: Page, path: Path, *, full_page: bool = False, clip: dict | None = None) -> None:
    raw = path.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=full_page, clip=clip, animations="disabled")
    with Image.open(raw) as img:
        small = img.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    raw.unlink()
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1000} KB")
    if size > LIMIT_BYTES:
        print(f"  warning: over {LIMIT_BYTES // 1000} KB", file=sys.stderr)


def _sign_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")


def console_shots(browser: object, base: str, password: str, out: Path, charts: bool) -> None:
    context = browser.new_context(**DESKTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base, password)
    if charts:
        page.goto(f"{base}/console")
        _save(page, out / "console-overview-charts.png", full_page=True)
    page.goto(f"{base}/console/queue")
    page.locator("#queue").wait_for()
    _save(page, out / "console-review-queue.png")
    page.locator("#queue tbody tr", has_text="demo-post-1").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/console/items/\d+$"))
    page.wait_for_function(
        "() => { const m = document.getElementById('media');"
        " return m && m.complete && m.naturalWidth > 0; }"
    )
    _save(page, out / "console-review-item.png", full_page=True)
    context.close()


def phone_shots(browser: object, base: str, out: Path, picture: Path) -> None:
    context = browser.new_context(**PHONE)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{base}/report")
    page.wait_for_function("() => !!window.SafeSpaceHashing")
    page.get_by_label("Pictures or videos of you").set_input_files(str(picture))
    page.wait_for_function(
        "() => document.getElementById('progress-text').textContent.includes('ready for 1 of 1')"
    )
    page.get_by_label("13 to 15").check()
    page.evaluate("() => window.scrollTo(0, 0)")
    _save(page, out / "self-report-phone-form.png")
    page.get_by_role("button", name="Send the fingerprints").tap()
    page.wait_for_selector("#result", state="visible")
    page.wait_for_timeout(500)  # the scroll to the case number settles before the picture
    _save(page, out / "self-report-phone-case.png")
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--charts", action="store_true", help="also the overview charts")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="safespace-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        port = _free_port()
        proc, password = _start_demo(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM)
                console_shots(browser, base, password, args.out, args.charts)
                picture = data_dir / "demo" / "uploads" / "unrelated-2.jpg"
                phone_shots(browser, base, args.out, picture)
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


if __name__ == "__main__":
    main()
