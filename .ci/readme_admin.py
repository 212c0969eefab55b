#!/usr/bin/env python3
"""Follows the README's "Over HTTP" curl lines against the example app, as written: the
admin key the `keygate keys create` line prints becomes $ADMIN, the key the create call
answers gives $ID, and the etag line's value becomes $ETAG. Every curl line must answer
the status its comment names (`# 201: ...`), the etag line an `etag:` header.

Usage: .ci/readme_admin.py   (honours CARGO_TARGET_DIR)
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "### Over HTTP"
STATUS_COMMENT = re.compile(r"^\s*(\d{3})\b")


def fail(message):
    print(f"readme admin: {message}", file=sys.stderr)
    sys.exit(1)


def commands():
    """(README line, command, comment) of each logical line of the section's sh block."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if SECTION not in lines:
        fail(f"README.md has no `{SECTION}` section")
    start = lines.index(SECTION)
    block, inside = [], False
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if not inside and line.startswith("#") and not line.startswith("####"):
            break
        if line.startswith("```"):
            if inside:
                break
            inside = line == "```sh"
            continue
        if inside:
            block.append((number, line))
    if not block:
        fail(f"`{SECTION}` has no sh block")
    out, buffer, first = [], [], None
    for number, line in block:
        if not buffer:
            first = number
        buffer.append(line)
        joined = "\n".join(buffer)
        if joined.endswith("\\"):
            continue
        try:
            shlex.split(joined, comments=True)
        except ValueError:
            continue  # a quoted string goes on to the next line
        # The comment is on the command's last line.
        last, _, comment = buffer[-1].partition(" #")
        text = "\n".join(buffer[:-1] + [last]).replace("\\\n", " ").strip()
        buffer = []
        if text:
            out.append((first, text, comment.strip()))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "-q", "-p", "petstore-example", "-p", "keygate-cli"], cwd=ROOT, check=True)
    bin_dir = os.path.join(target, "debug")
    work = tempfile.mkdtemp(prefix="keygate-readme-admin-")
    port = free_port()
    env = dict(os.environ, KEYGATE_DB=os.path.join(work, "keys.db"), PATH=bin_dir + os.pathsep + os.environ["PATH"])
    server = None
    try:
        steps = commands()
        for number, command, comment in steps:
            print(f"README.md:{number}: $ {command}")
            if command.startswith("keygate keys create"):
                out = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True, text=True)
                found = re.search(r"^key:\s+(kg_\S+)$", out.stdout, re.M)
                if out.returncode != 0 or not found:
                    fail(f"`{command}` printed no `key:` row:\n{out.stdout}{out.stderr}")
                env["ADMIN"] = found.group(1)
                if server is None:
                    server = subprocess.Popen([os.path.join(bin_dir, "petstore-example")], env=dict(env, PORT=str(port)),
                                              stdout=open(os.path.join(work, "server.log"), "w"), stderr=subprocess.STDOUT)
                    for _ in range(300):
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=1).close()
                            break
                        except OSError:
                            time.sleep(0.1)
                    else:
                        fail("the example app did not start listening")
            elif re.match(r"^[A-Z]+=", command):
                name = command.split("=", 1)[0]
                out = subprocess.run(["bash", "-euo", "pipefail", "-c", f'{command}\nprintf %s "${name}"'],
                                     env=env, capture_output=True, text=True, check=True)
                env[name] = out.stdout
            elif command.startswith("curl "):
                local = command.replace("localhost:3000", f"127.0.0.1:{port}")
                if "|" in local:
                    out = subprocess.run(["bash", "-euo", "pipefail", "-c", local], env=env, capture_output=True, text=True)
                    found = re.search(r'^etag:\s*("[^"]+")', out.stdout, re.M | re.I)
                    if not found or not comment.lower().startswith("etag:"):
                        fail(f"README.md:{number}: no etag line:\n{out.stdout}{out.stderr}")
                    env["ETAG"] = found.group(1)
                    print(f"  etag {env['ETAG']}")
                    continue
                expected = STATUS_COMMENT.match(comment)
                if not expected:
                    fail(f"README.md:{number}: the comment names no status (`# 200: why`)")
                out = subprocess.run(["bash", "-euo", "pipefail", "-c", local + " --show-error --max-time 10 -w '\\n%{http_code}'"],
                                     env=env, capture_output=True, text=True)
                body, _, status = out.stdout.rpartition("\n")
                print(f"  {status}")
                if out.returncode != 0 or status != expected.group(1):
                    fail(f"README.md:{number}: answered {status}, the README says {expected.group(1)}:\n{body[:500]}{out.stderr}")
                if status == "201":
                    env["ID"] = json.loads(body)["key"]["id"]
                if env.get("ADMIN") and env["ADMIN"] in body:
                    fail(f"README.md:{number}: the admin key appears in an answer")
            else:
                fail(f"README.md:{number}: a line this check does not know how to follow: `{command}`")
        print(f"readme admin: {len(steps)} lines of `{SECTION}` answer as the README says")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
