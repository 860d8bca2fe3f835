"""The check's steps as the operator reads them: one line per step passed, and the first failure
with what went wrong and what to do, after which nothing more is tried."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any, TextIO

import aiohttp


class CheckFailed(Exception):
    """A step failed: `what` went wrong, and (where we know it) the `fix`."""

    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


class Report:
    """Prints each step as it ends; counts the passed ones."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.passed = 0
        self.step = ""

    def start(self, step: str) -> None:
        self.step = step

    def ok(self, said: str) -> None:
        self.passed += 1
        print(f"  ok    {self.step}: {said}", file=self.out, flush=True)

    def skip(self, step: str, why: str) -> None:
        print(f"  skip  {step}: {why}", file=self.out, flush=True)

    def failed(self, exc: CheckFailed) -> None:
        print(f"  FAIL  {self.step}: {exc.what}", file=self.out, flush=True)
        if exc.fix:
            print(f"        {exc.fix}", file=self.out, flush=True)


async def answer_of(response: aiohttp.ClientResponse) -> tuple[int, Any, str]:
    """Status, the body as JSON (None if it is not JSON) and as text, at most 64 kB of it."""
    text = (await _read_up_to(response, 65_536)).decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return response.status, body, text


def said_by(body: Any, text: str) -> str:
    """What an error answer says, whichever shape it has (OAuth, ours, JSON-RPC, text)."""
    if isinstance(body, dict):
        for read in ERROR_READERS:
            words = read(body)
            if words:
                return words
    if text.lstrip()[:1] == "<":  # an HTML page (the sign-in's refusal): its paragraphs' words
        paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", text, re.DOTALL)
        text = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(paragraphs) or text))
    return " ".join(text.split())[:300] or "an empty answer"


def _oauth(body: dict[str, Any]) -> str:
    if "error" in body and isinstance(body["error"], str):
        return f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
    return ""


def _ours_or_rpc(body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return " ".join(str(error.get(k, "")) for k in ("code", "message", "hint")).strip()
    return ""


ERROR_READERS: tuple[Callable[[dict[str, Any]], str], ...] = (_oauth, _ours_or_rpc)


async def _read_up_to(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body to its end or `cap` bytes: one `read(n)` returns only what has arrived yet
    (over TLS or in chunks, part of a page or a JSON document)."""
    body = b""
    while len(body) < cap:
        chunk = await response.content.read(cap - len(body))
        if not chunk:
            break
        body += chunk
    return body
