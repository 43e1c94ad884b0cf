"""deffe_report.html: self-contained, every value escaped, and in a real browser (headless Chromium over
the DevTools protocol): no console error, no request beyond the file itself, the front table sorts by the
column clicked, numbers by value, and the other way round on a second click.

The DevTools protocol runs over a websocket; no websocket package is a dependency, so a minimal client
(RFC 6455, text frames, client-side masking) is written here on the standard library's socket.
"""
import base64
import html
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
BROWSER_WAIT = 60   # seconds for the browser to start and a page to load on a busy machine


# ---------------------------------------------------------------- the page as text

def test_self_contained(two_cost_run):
    page = (two_cost_run / "deffe_report.html").read_text()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page, flags=re.I)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    assert not re.search(r"https?://|url\(|@import", page.split("<pre>")[0])
    # every plot of the run is in the page
    for png in two_cost_run.glob("report_*.png"):
        assert base64.b64encode(png.read_bytes()).decode()[:200] in page, png.name


def test_values_are_escaped(two_cost_run):
    page = (two_cost_run / "deffe_report.html").read_text()
    assert "<b>bold</b>" not in page
    assert html.escape("<b>bold</b>") in page
    assert html.escape('q"uote') in page and html.escape("a&b") in page
    assert page.count("<script>") == 1


def test_summary_and_sections(two_cost_run):
    page = (two_cost_run / "deffe_report.html").read_text()
    for text in (str(two_cost_run), "m &lt;= 20e9", "Exploration first", "Exploration second one",
                 "Best designs", "Model accuracy per step"):
        assert text in page, text
    assert page.count('<table class="sortable front">') == 2


def best_designs_table(run_dir: Path) -> list[list[str]]:
    """The rows (header first) of the report's "Best designs" table, as text."""
    page = (run_dir / "deffe_report.html").read_text()
    table = re.search(r'<table class="sortable best">(.*?)</table>', page, re.S).group(1)
    return [[html.unescape(re.sub("<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_a_tie_in_best_designs_goes_to_the_design_best_in_the_other_objectives(tmp_path):
    """"best in f1" showed the first of the designs with f1=0, (x=0, y=0) with f2=1, though (x=0, y=1)
    with f2=0 dominates it."""
    from cli_helpers import run_deffe, write
    write(tmp_path / "prob.py", 'def f(p):\n    return {"f1": int(p["x"]), "f2": 1 - int(p["y"])}\n')
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [0, 1]}, {"name": "y", "values": [0, 1]}],
        "costs": ["f1", "f2"], "sampling": {"plugin": "factorial"},
        "evaluate": {"plugin": "python", "function": "prob:f"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4}, "framework": {"run_directory": "run"}}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path, env={"DEFFE_REPORTS": "on"})
    assert r.rc == 0, r
    rows = best_designs_table(tmp_path / "run")
    assert rows[0] == ["best in", "f1", "f2", "x", "y"], rows
    assert rows[1:] == [["f1", "0", "0", "0", "1"], ["f2", "0", "0", "0", "1"]], rows


# ---------------------------------------------------------------- a minimal DevTools client

class DevTools:
    """One page of a headless Chromium: send commands, collect the events."""

    def __init__(self, ws_url: str):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", ws_url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=BROWSER_WAIT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "the browser closed the connection during the handshake"
            head += chunk
        assert head.split(b"\r\n")[0].split()[1] == b"101", head
        self.next_id, self.events = 0, []

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "the browser closed the connection"
            data += chunk
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)   # a client masks every frame it sends
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict:
        data = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:           # ping
                self._send_frame(0xA, payload)
                continue
            assert opcode != 0x8, "the browser closed the connection"
            data += payload
            if b0 & 0x80:               # the last fragment
                return json.loads(data)

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send_frame(0x1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == self.next_id:
                assert "error" not in msg, (method, msg)
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + BROWSER_WAIT
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while time.monotonic() < deadline:
            msg = self._message()
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise AssertionError(f"no {method} within {BROWSER_WAIT} s")

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, browser log errors seen so far."""
        out = []
        for ev in self.events:
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                                for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails"))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def requests(self) -> list[str]:
        return [ev["params"]["request"]["url"] for ev in self.events
                if ev.get("method") == "Network.requestWillBeSent"]

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium and the DevTools connection to its page; the browser is killed at the end."""
    assert CHROMIUM is not None, "no chromium: apt-get install chromium (.ci/run installs it)"
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    tools = None
    try:
        port_file = profile / "DevToolsActivePort"   # the port the browser chose, once it listens
        deadline = time.monotonic() + BROWSER_WAIT
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, f"chromium exited with status {proc.returncode}"
            assert time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=BROWSER_WAIT) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert pages, "chromium opened no page"
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Page", "Network"):
            tools.call(f"{domain}.enable")
        yield tools
    finally:
        if tools is not None:
            tools.close()
        proc.kill()   # only the browser this fixture started (its own process group: its helpers too)
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait(timeout=BROWSER_WAIT)


def _open(tools: DevTools, page: Path) -> None:
    tools.events.clear()
    tools.call("Page.navigate", url=page.as_uri())
    tools.wait_event("Page.loadEventFired")
    assert tools.evaluate("document.readyState") == "complete"


_COLUMN = """(function (table, name) {
  var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { return th.textContent.trim(); });
  var col = heads.indexOf(name);
  return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    var c = r.cells[col]; var v = c.getAttribute("data-sort"); return v === null ? c.textContent : v; });
})"""


def _click_and_read(tools: DevTools, table: str, column: str) -> tuple[list, str]:
    """Click the header `column` of the table `table` (a CSS selector); the column's values and aria-sort."""
    return tools.evaluate(f"""(function () {{
      var table = document.querySelector({json.dumps(table)});
      var th = Array.prototype.find.call(table.tHead.rows[0].cells,
                                         function (c) {{ return c.textContent.trim() === {json.dumps(column)}; }});
      th.click();
      return [{_COLUMN}(table, {json.dumps(column)}), th.getAttribute("aria-sort")];
    }})()""")


def test_in_a_browser_no_errors_and_nothing_fetched(browser, minimal_run, two_cost_run):
    for run in (minimal_run, two_cost_run):
        page = run / "deffe_report.html"
        _open(browser, page)
        assert browser.problems() == [], (page, browser.problems())
        assert all(u.startswith(("file:", "data:")) for u in browser.requests()), browser.requests()
        n_images = browser.evaluate("Array.prototype.filter.call(document.images, "
                                    "function (i) { return i.complete && i.naturalWidth > 300; }).length")
        assert n_images == len(list(run.glob("report_*.png"))) and n_images >= 4
    # the check sees an error when there is one
    browser.evaluate("console.error('probe')")
    assert any("probe" in p for p in browser.problems())


def test_in_a_browser_the_front_sorts_by_the_clicked_column(browser, minimal_run):
    _open(browser, minimal_run / "deffe_report.html")
    # exec_time from 16 to 2560: as text '1024' < '128' < '16'; sorted by value, it is not
    values, state = _click_and_read(browser, "table.front", "exec_time")
    numbers = [float(v) for v in values]
    assert state == "ascending" and numbers == sorted(numbers) and len(set(numbers)) > 3
    assert [str(v) for v in values] != sorted(str(v) for v in values)
    values, state = _click_and_read(browser, "table.front", "exec_time")
    assert state == "descending" and [float(v) for v in values] == sorted(numbers, reverse=True)
    # a column of text sorts as text; another column's click resets the first one's arrow
    values, state = _click_and_read(browser, "table.front", "scenario")
    assert state == "ascending" and values[0] == "size=16" and values[-1] == "size=256"
    assert browser.evaluate("document.querySelectorAll('table.front th[aria-sort]').length") == 1
    assert browser.problems() == []


def test_in_a_browser_escaped_values_show_as_written(browser, two_cost_run):
    _open(browser, two_cost_run / "deffe_report.html")
    kinds = browser.evaluate(f"{_COLUMN}(document.querySelector('table.front'), 'kind')")
    assert set(kinds) <= {"<b>bold</b>", "a&b", 'q"uote'} and kinds
    assert browser.evaluate("document.querySelectorAll('table.front b').length") == 0
    values, state = _click_and_read(browser, "table.front", "m")
    numbers = [float(v) for v in values]
    assert state == "ascending" and numbers == sorted(numbers)
    values, state = _click_and_read(browser, "table.front", "m")
    assert state == "descending" and [float(v) for v in values] == sorted(numbers, reverse=True)
    assert browser.problems() == []
