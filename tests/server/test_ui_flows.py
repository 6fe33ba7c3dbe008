"""The Flows and Connections pages in a real browser (Debian's chromium), against live uvicorn.

The flow has python nodes only, so it runs without a model: its page's snippets really score it, and a
batch run of it (``run_flow`` through a remote workspace, executed by the live agent) shows on its page.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import Workspace
from headrace.datastores.snapshots import snapshot_key
from headrace.sdk.flow_runs import run_flow
from headrace.server.ui.session import SESSION_COOKIE
from headrace.services import flows

KEY = "sk-ui-3b7f1c2d-not-for-eyes-9e8a"

FLOW_YAML = """\
description: Splits a question and shouts it
inputs:
  question: {type: string, is_chat_input: true, description: What to shout}
  times: {type: int, default: 2}
outputs:
  answer: {reference: "${shout.output}", is_chat_output: true}
  words: {reference: "${split.output.words}"}
nodes:
- {name: split, type: python, source: tools.py, function: split, inputs: {text: "${inputs.question}"}}
- name: shout
  type: python
  source: tools.py
  function: shout
  activate: {when: "${split.output.found}", is: true}
  inputs: {words: "${split.output.words}", times: "${inputs.times}"}
"""
TOOLS = """\
from headrace.flows import tool


@tool
def split(text: str) -> dict:
    return {"words": text.split(), "found": bool(text.split())}


@tool
def shout(words: list, times: int = 1) -> str:
    return " ".join([" ".join(w.upper() for w in words)] * times)
"""


def write_flow(root: Path, name: str = "qa", description: str = "Splits a question and shouts it") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flow.yaml").write_text(FLOW_YAML.replace("Splits a question and shouts it", description))
    (folder / "tools.py").write_text(TOOLS)
    return folder


def publish_two_versions(live, tmp_path: Path) -> Path:
    """``qa`` version 1 (the default) and version 2 (the latest, kept aside), plus another flow ``summary``."""
    folder = write_flow(tmp_path / "v1")
    flows.publish_folder(live.svc, folder, name="qa")
    flows.publish_folder(live.svc, write_flow(tmp_path / "v2", description="second take"), name="qa",
                         make_default=False)
    flows.publish_folder(live.svc, write_flow(tmp_path / "other", "summary", "Summarises"), name="summary")
    return folder


def ui_client(live, role: str) -> httpx.Client:
    """Plain HTTP with the session cookie of ``role`` (what the browser holds after signing in)."""
    client = httpx.Client(base_url=live.url, cookies={SESSION_COOKIE: live.tokens[role]}, timeout=30)
    live.clients.append(client)
    return client


def test_find_a_flow_and_read_its_page(page, live, tmp_path) -> None:
    folder = publish_two_versions(live, tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"q": q}) + "\n" for q in ("a b", "c")))
    remote = Workspace(url=live.url, token=live.tokens["submitter"])
    batch = run_flow(remote, folder, rows, {"question": "${data.q}"})
    assert live.wait_run(batch.id, timeout=120)["Status"] == "Finished"

    sign_in(page, live.url, live.tokens["reader"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Flows").click()
    page.wait_for_url(f"{live.url}/flows")
    expect(page.locator("table.flows tbody tr")).to_have_count(2)
    page.fill("#q", "Q")  # the search ignores case
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.flows tbody tr")).to_have_count(1)
    row = page.locator("tr[data-name='qa']")
    assert row.locator(".latest").inner_text().split() == ["2", "(default", "1)"]
    assert (row.locator(".versions").inner_text(), row.locator(".nodes").inner_text()) == ("2", "2")
    assert row.locator(".score-url").inner_text() == f"POST {live.url}/api/v1/flows/qa/score"
    row.get_by_role("link", name="qa").click()
    page.wait_for_url(f"{live.url}/flows/qa")

    assert page.locator("h1").inner_text() == "qa"
    assert page.locator("#shown-version").inner_text() == "1 (default)"
    versions = page.locator("#flow-versions tbody tr")
    assert versions.locator("td:first-child").all_inner_texts() == ["2 latest", "1 ★ default"]
    # The graph: one box per node, the inputs they read above them, the reference on the edge.
    dag = page.locator("svg.dag")
    assert sorted(dag.locator("g.dag-step").evaluate_all("gs => gs.map(g => g.dataset.step)")) == ["shout", "split"]
    params = dag.locator("g.dag-param title").all_text_contents()
    assert any(t.startswith("Parameter question (string)") for t in params)
    assert "Parameter times (int), default 2" in params
    assert "split.output.words: split → shout" in dag.locator("path.dag-edge title").all_text_contents()
    assert page.locator("#flow-nodes tr[data-name='shout'] td").nth(4).inner_text() == \
        "when ${split.output.found} is true"
    inputs = {r.get_attribute("data-name"): r.locator("td").all_inner_texts()
              for r in page.locator("#flow-inputs tbody tr").all()}
    assert inputs == {"question": ["question (chat input)", "string", "required", "What to shout"],
                      "times": ["times", "int", "2", "–"]}
    outputs = page.locator("#flow-outputs tbody tr td.mono.wrap").all_inner_texts()
    assert outputs == ["${shout.output}", "${split.output.words}"]
    url = f"{live.url}/api/v1/flows/qa/score"
    assert page.locator("#score-url").inner_text() == f"POST {url}"
    curl = page.locator("#snippet-curl").inner_text()
    assert url in curl and "Authorization: Bearer $HEADRACE_TOKEN" in curl and '"times": 2' in curl
    page.click("button[data-copy='snippet-curl']")
    expect(page.locator(".copy-status")).to_have_text(re.compile(r"\S"))  # waits: the copy is asynchronous
    run_row = page.locator(f"#flow-runs tr[data-id='{batch.id}']")
    expect(run_row).to_contain_text("Batch")
    expect(run_row.locator(".status")).to_have_text("Finished")
    run_row.get_by_role("link", name=batch.id[:12]).click()
    page.wait_for_url(f"{live.url}/runs/{batch.id}")

    page.goto(f"{live.url}/flows/qa?version=2")
    assert page.locator("#shown-version").inner_text() == "2"
    assert page.locator(".pl-desc").inner_text() == "second take"
    assert page.locator("#score-url").inner_text() == f"POST {url}?version=2"


def test_the_snippets_really_score(live, tmp_path) -> None:
    publish_two_versions(live, tmp_path)
    html = ui_client(live, "reader").get("/flows/qa").text
    env = {**os.environ, "HEADRACE_TOKEN": live.tokens["submitter"]}

    def snippet(key: str) -> str:
        match = re.search(rf'<pre id="snippet-{key}"[^>]*><code>(.*?)</code></pre>', html, re.S)
        assert match, key
        text = html_lib.unescape(match.group(1))  # the required question's example value, replaced
        return text.replace('"..."', '"make it loud"').replace("'...'", "'make it loud'")

    out = subprocess.run(["bash", "-c", snippet("curl")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"answer": "MAKE IT LOUD MAKE IT LOUD", "words": ["make", "it", "loud"]}
    code = snippet("python").replace("print(response.json())", "import json; print(json.dumps(response.json()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["answer"] == "MAKE IT LOUD MAKE IT LOUD"


def test_connections_page_never_shows_a_key(page, live) -> None:
    admin = live.client("admin")
    assert admin.put("/connections/llm", json={"Type": "openai", "BaseUrl": "https://api.openai.com/v1",
                                                "ApiKey": KEY, "ContextSize": 128000, "Model": "gpt-4o-mini"}
                     ).status_code == 201
    assert admin.put("/connections/ollama", json={"Type": "openai", "BaseUrl": "http://127.0.0.1:11434/v1"}
                     ).status_code == 201
    sign_in(page, live.url, live.tokens["reader"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    page.wait_for_url(f"{live.url}/connections")
    llm = page.locator("tr[data-name='llm']")
    assert llm.locator("td").all_inner_texts()[:6] == [
        "llm", "openai", "https://api.openai.com/v1", "128,000", "gpt-4o-mini", "Yes (stored encrypted)"]
    assert page.locator("tr[data-name='ollama'] .key").inner_text() == "No"
    assert KEY not in page.content() and KEY[-8:] not in page.content()
    for path in ("/connections", "/flows"):
        assert KEY not in ui_client(live, "admin").get(path).text


def test_phone_width_shows_cards_without_sideways_scrolling(phone, live, tmp_path) -> None:
    publish_two_versions(live, tmp_path)
    long_url = "https://" + "very-long-host-name." * 4 + "example/v1"
    assert live.client("admin").put("/connections/a-connection-with-a-long-name",
                                    json={"Type": "openai", "BaseUrl": long_url}).status_code == 201
    sign_in(phone, live.url, live.tokens["reader"])
    for path in ("/flows", "/flows/qa", "/connections"):
        phone.goto(f"{live.url}{path}")
        expect(phone.locator("h1")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    phone.goto(f"{live.url}/flows")
    score = phone.locator("tr[data-name='qa'] .score-url")
    expect(score).to_be_visible()  # every column stays, as a labelled line of the card
    assert phone.locator("tr[data-name='qa']").evaluate("tr => getComputedStyle(tr).display") == "block"


def test_unknown_flows_and_versions_and_signed_out_visitors(live, tmp_path) -> None:
    publish_two_versions(live, tmp_path)
    c = ui_client(live, "reader")
    missing = c.get("/flows/nope")
    assert missing.status_code == 404 and "flow &#39;nope&#39; not found" in missing.text
    assert "published flows: qa, summary" in missing.text
    version = c.get("/flows/qa?version=7")
    assert version.status_code == 404 and "has no version &#39;7&#39; (versions: 1, 2)" in version.text
    assert c.get("/flows?q=zzz").text.count("No published flows") == 1
    for path in ("/flows", "/flows/qa", "/connections"):
        r = httpx.get(f"{live.url}{path}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")


def test_a_flow_whose_files_are_gone_still_shows_its_interface(live, tmp_path) -> None:
    publish_two_versions(live, tmp_path)
    digest = flows.get_flow(live.svc, "summary").version().snapshot
    live.svc.artifacts.delete(snapshot_key(digest))
    for extracted in (live.svc.home / "flows" / digest, live.svc.home / "flows" / ".archives" / digest):
        shutil.rmtree(extracted)
    c = ui_client(live, "reader")
    html = c.get("/flows/summary").text
    assert "The files of version 1 cannot be read" in html and 'class="dag"' not in html
    assert 'data-name="question"' in html and "${shout.output}" not in html  # inputs from the stored interface
    listing = c.get("/flows").text
    assert re.search(r'<tr data-name="summary">.*?class="nodes">–<', listing, re.S)
    assert re.search(r'<tr data-name="qa">.*?class="nodes">2<', listing, re.S)
