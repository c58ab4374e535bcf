"""`pax8 mcp` driven by a client nobody here wrote: the official Python MCP SDK.

Run by `.ci/mcp-conformance.sh` (which installs the SDK in a virtual environment):

    python pax8-mcp/tests/conformance.py target/debug/pax8

Over stdio and over streamable HTTP with the bearer token: list tools and prompts, call reads,
a preview/execute order flow, an unknown argument refused; over HTTP also a request without the
token (401) and one from a foreign Origin (403), and the SDK logs no warning (closing the
session, say). Exits non-zero on the first failure.
"""

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

PAX8 = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/pax8")
TOKEN = "conformance-token-0123456789abcdef"


class Warnings(logging.Handler):
    """Every warning the SDK logs (it reports protocol trouble it tolerates this way)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


WARNINGS = Warnings()
logging.getLogger("mcp").addHandler(WARNINGS)


def env(config_dir):
    e = dict(os.environ)
    e.update({"PAX8_CONFIG_DIR": config_dir, "PAX8_TODAY": "2026-11-23", "NO_COLOR": "1"})
    for key in ("PAX8_CLIENT_ID", "PAX8_CLIENT_SECRET", "PAX8_BASE_URL"):
        e.pop(key, None)
    return e


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def structured(result, tool):
    check(not result.is_error, f"{tool} failed: {result.content}")
    check(result.structured_content is not None, f"{tool}: no structured content")
    return result.structured_content


async def exercise(session, transport):
    info = await session.initialize()
    check(info.server_info.name == "pax8", f"{transport}: server name {info.server_info.name}")
    check("company_resolve" in (info.instructions or ""), f"{transport}: instructions")

    tools = {t.name: t for t in (await session.list_tools()).tools}
    for name in ("companies_list", "subscriptions_list", "order_preview", "order_execute"):
        check(name in tools, f"{transport}: {name} not listed: {sorted(tools)}")
    for tool in tools.values():
        check(tool.annotations is not None, f"{transport}: {tool.name} has no annotations")
        check("Policy:" in (tool.description or ""), f"{transport}: {tool.name} does not state its policy")
    check(tools["companies_list"].annotations.read_only_hint is True, "companies_list is read-only")
    check(tools["order_execute"].annotations.read_only_hint is False, "order_execute writes")
    prompts = {p.name for p in (await session.list_prompts()).prompts}
    check("renewal_planning" in prompts, f"{transport}: prompts {prompts}")

    companies = structured(await session.call_tool("companies_list", {"size": 5}), "companies_list")
    check(len(companies["items"]) == 5, f"{transport}: {companies}")
    globex = structured(await session.call_tool("company_resolve", {"name": "Globex Corporation"}), "company_resolve")
    company_id = globex["matches"][0]["id"]
    subs = structured(await session.call_tool("subscriptions_list", {"company_id": company_id}), "subscriptions_list")
    check(all(s["company_id"] == company_id for s in subs["items"]), f"{transport}: filter not applied")

    # An unknown argument is refused, naming the accepted ones.
    refused = None
    try:
        result = await session.call_tool("subscriptions_list", {"company": "Globex"})
        refused = result.content[0].text if result.is_error else None
    except Exception as error:  # the SDK raises for a protocol-level error
        refused = str(error)
    check(refused is not None and "company" in refused and "company_id" in refused,
          f"{transport}: unknown argument accepted: {refused}")

    # Preview, then execute with the token; the token is single-use.
    product = structured(await session.call_tool("products_search", {"query": "Datto"}), "products_search")
    order = {"company_id": company_id, "product_id": product["items"][0]["id"], "quantity": 2,
             "billing_term": "Monthly"}
    preview = structured(await session.call_tool("order_preview", order), "order_preview")
    check(preview["preview"]["validated_by_dry_run"] is True, f"{transport}: {preview}")
    placed = structured(await session.call_tool(
        "order_execute", dict(order, confirmation_token=preview["confirmation_token"])), "order_execute")
    check(placed["done"] is True and placed["answer"] == "received", f"{transport}: {placed}")
    replay = await session.call_tool("order_execute", dict(order, confirmation_token=preview["confirmation_token"]))
    check(replay.is_error, f"{transport}: a used token was accepted")
    print(f"{transport}: {len(tools)} tools, {len(prompts)} prompts, reads, strict arguments, preview/execute: ok")


async def over_stdio(config_dir):
    params = StdioServerParameters(command=PAX8, args=["--sandbox", "mcp", "--allow-writes"], env=env(config_dir))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, "stdio")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_status(url, headers):
    request = urllib.request.Request(url, data=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', method="POST",
                                     headers={"content-type": "application/json",
                                              "accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


async def over_http(config_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    server = subprocess.Popen([PAX8, "--sandbox", "mcp", "--allow-writes", "--http", f"127.0.0.1:{port}",
                               "--admin-listen", "off"],
                              env=dict(env(config_dir), PAX8_MCP_TOKEN=TOKEN),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        status = raw_status(url, {})
        check(status == 401, f"http: no token answered {status}")
        status = raw_status(url, {"authorization": f"Bearer {TOKEN}", "origin": "http://evil.example"})
        check(status == 403, f"http: foreign Origin answered {status}")
        client = create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"})
        async with client:
            async with streamable_http_client(url, http_client=client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await exercise(session, "http")
        check(not WARNINGS.messages, f"http: the SDK warned: {WARNINGS.messages}")
        print("http: 401 without the token, 403 from a foreign Origin, session closed without a warning: ok")
    finally:
        server.terminate()
        server.wait(timeout=10)
        err = server.stderr.read().decode(errors="replace")
        check(TOKEN not in err, "the bearer token was printed although it came from PAX8_MCP_TOKEN")


async def main():
    with tempfile.TemporaryDirectory() as config_dir:
        await over_stdio(config_dir)
        await over_http(config_dir)
    # Audit lines carry the policy of each call.
    print("conformance: ok")


if __name__ == "__main__":
    asyncio.run(main())
