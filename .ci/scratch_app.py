#!/usr/bin/env python3
"""Follows the README's Quickstart literally in a new crate outside the workspace, built
against the crates `cargo package --workspace` made (not the workspace's sources):
build.rs generation, the layer, the SQLite keyring, a key made by `keygate keys create`,
and the status each curl line's comment promises.

Usage: .ci/scratch_app.py   (after `cargo package --workspace`; honours CARGO_TARGET_DIR)

What it takes from README.md's `## Quickstart` section:
- the first sh block, run as it stands in a temp dir beside a `keygate` link to this
  repository (so `cp ../keygate/specs/...` works as written);
- every block whose first line is a comment naming a file (`# Cargo.toml`,
  `// build.rs`, `// src/main.rs`), written to that file whole;
- the last sh block, line by line: `cargo install keygate-cli` (the workspace's own
  `keygate` binary stands in: the package is not on crates.io yet), the
  `keygate keys create` line (run as written; its `key` row becomes $KEY), `export KEY=`,
  `cargo run` (started in the background, on a free port through $ADDR), and the curl
  lines (run as written against that port; the status must be the one in the comment).
Any other line there is an error, so the README and this check cannot drift apart.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Quickstart"
FILE_COMMENT = re.compile(r"^(?:#|//) ((?:src/)?[A-Za-z0-9_.-]+\.(?:toml|rs))$")
STATUS_COMMENT = re.compile(r"^\s*(\d{3})\b")
BUILD_TIMEOUT = 1800
START_TIMEOUT = 120


def fail(message):
    print(f"scratch app: {message}", file=sys.stderr)
    sys.exit(1)


def quickstart_blocks():
    """(language, text, line) of each fenced block in the Quickstart section."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    try:
        start = lines.index(SECTION)
    except ValueError:
        fail(f"README.md has no `{SECTION}` section")
    blocks, fence = [], None
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if fence is None and line.startswith("## "):
            break
        if fence is None and line.startswith("```"):
            fence = (line[3:].strip(), number, [])
        elif fence is not None and line.startswith("```"):
            blocks.append((fence[0], "\n".join(fence[2]) + "\n", fence[1]))
            fence = None
        elif fence is not None:
            fence[2].append(line)
    if fence is not None:
        fail(f"README.md:{fence[1]}: the block is never closed")
    return blocks


def metadata():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def unpack(target, packages, into):
    """Unpacks each `<name>-<version>.crate` of `cargo package`; returns name -> dir."""
    dirs = {}
    for name, version in packages:
        crate = os.path.join(target, "package", f"{name}-{version}.crate")
        if not os.path.exists(crate):
            fail(f"{crate} is missing: run `cargo package --workspace` first")
        with tarfile.open(crate) as tar:
            # The safe extraction filter where this Python has it (3.11.4 and later).
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(into, **safe)
        dirs[name] = os.path.join(into, f"{name}-{version}")
    return dirs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, server, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail(f"`cargo run` exited with {server.returncode}:\n{open(log).read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    fail(f"the app did not listen on 127.0.0.1:{port} within {START_TIMEOUT} s:\n{open(log).read()}")


def main():
    meta = metadata()
    target = meta["target_directory"]
    versions = {p["name"]: p["version"] for p in meta["packages"]}
    blocks = quickstart_blocks()
    shell = [b for b in blocks if b[0] == "sh"]
    files = []
    for language, text, line in blocks:
        match = FILE_COMMENT.match(text.split("\n", 1)[0])
        if match:
            files.append((match.group(1), text, line))
    if len(shell) < 2 or not files:
        fail("the Quickstart needs a first sh block (the crate), files, and a last sh block (the run)")
    names = [f[0] for f in files]
    for needed in ("Cargo.toml", "build.rs", "src/main.rs"):
        if needed not in names:
            fail(f"the Quickstart has no block for {needed} (first line `// {needed}` or `# {needed}`)")

    # The `keygate` command: the workspace's binary, built from the sources that
    # `cargo package` just verified (a no-op after `cargo test --workspace`).
    subprocess.run(["cargo", "build", "-q", "-p", "keygate-cli"], cwd=ROOT, check=True)
    bin_dir = os.path.join(target, "debug")

    work = tempfile.mkdtemp(prefix="keygate-scratch-")
    server = None
    try:
        packages = unpack(
            target,
            [(n, versions[n]) for n in ("keygate", "keygate-codegen")],
            os.path.join(work, "packages"),
        )
        # The crates by version, as the README's Cargo.toml asks, resolved to the packaged
        # ones; every other crate comes from crates.io.
        os.makedirs(os.path.join(work, ".cargo"))
        with open(os.path.join(work, ".cargo", "config.toml"), "w") as f:
            f.write("[patch.crates-io]\n")
            for name, path in packages.items():
                f.write(f"{name} = {{ path = {json.dumps(path)} }}\n")
        os.symlink(ROOT, os.path.join(work, "keygate"))

        env = dict(os.environ, CARGO_TARGET_DIR=target, PATH=bin_dir + os.pathsep + os.environ["PATH"])
        # A $KEYGATE_DB of the caller's would send the CLI to another file than the app.
        for name in ("KEY", "KEYGATE_DB"):
            env.pop(name, None)
        first = shell[0]
        print(f"README.md:{first[2]}: the crate")
        print(first[1], end="")
        # `cd` in the block moves this shell only: print where it ended.
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", first[1] + "\npwd\n"],
            cwd=work, env=env, stdout=subprocess.PIPE, text=True,
        )
        if done.returncode != 0:
            fail(f"README.md:{first[2]}: the block failed (above)")
        crate = done.stdout.strip().split("\n")[-1]
        for name, text, line in files:
            print(f"README.md:{line}: {name}")
            path = os.path.join(crate, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        # The workspace's lock: the same versions of third-party crates as its tests, so
        # their builds in the shared target dir are reused; cargo adds what it lacks.
        shutil.copy(os.path.join(ROOT, "Cargo.lock"), os.path.join(crate, "Cargo.lock"))

        started = time.monotonic()
        build = subprocess.run(["cargo", "build"], cwd=crate, env=env)
        if build.returncode != 0:
            fail("the Quickstart app does not build (above)")
        print(f"scratch app built in {time.monotonic() - started:.0f} s")

        last = shell[-1]
        print(f"README.md:{last[2]}: the run")
        key, statuses = None, []
        port = free_port()
        log = os.path.join(work, "server.log")
        for raw in last[1].split("\n"):
            command = raw.split(" #", 1)[0].strip()
            if not command:
                continue
            print(f"$ {raw.strip()}")
            if command == "cargo install keygate-cli":
                print(f"  (the workspace's {os.path.join(bin_dir, 'keygate')} instead)")
            elif command.startswith("keygate keys create"):
                out = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", command],
                    cwd=crate, env=env, capture_output=True, text=True,
                )
                if out.returncode != 0:
                    fail(f"`{command}` failed:\n{out.stderr}")
                found = re.search(r"^key:\s+(kg_\S+)$", out.stdout, re.M)
                if not found:
                    fail(f"`{command}` printed no `key:` row:\n{out.stdout}")
                key = found.group(1)
                print(f"  key {key[:12]}... created")
            elif command.startswith("export KEY="):
                if key is None:
                    fail("`export KEY=` comes before a `keygate keys create` line")
                env["KEY"] = key
            elif command == "cargo run":
                server = subprocess.Popen(
                    ["cargo", "run", "-q"],
                    cwd=crate, env=dict(env, ADDR=f"127.0.0.1:{port}"),
                    stdout=open(log, "w"), stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                wait_listening(port, server, log)
                print(f"  listening on 127.0.0.1:{port}")
            elif command.startswith("curl "):
                expected = STATUS_COMMENT.search(raw.split(" #", 1)[1] if " #" in raw else "")
                if not expected:
                    fail(f"`{raw.strip()}` has no status in its comment (`# 401: why`)")
                if server is None:
                    fail("a curl line comes before `cargo run`")
                local = command.replace("localhost:3000", f"127.0.0.1:{port}")
                out = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", local + " --silent --show-error --max-time 10"],
                    cwd=crate, env=env, capture_output=True, text=True,
                )
                status = re.match(r"HTTP/[\d.]+ (\d{3})", out.stdout)
                if out.returncode != 0 or not status:
                    fail(f"`{local}` failed ({out.returncode}): {out.stderr}{out.stdout[:500]}")
                got, want = status.group(1), expected.group(1)
                print(f"  {got}")
                if got != want:
                    fail(f"`{raw.strip()}` answered {got}, the README says {want}:\n{out.stdout}")
                statuses.append(got)
            else:
                fail(f"README.md:{last[2]}: a line this check does not know how to follow: `{raw}`")
        if "401" not in statuses or "200" not in statuses:
            fail(f"the Quickstart must show a 401 and a 200; it shows {statuses}")
        print(f"scratch app: the Quickstart answers {', '.join(statuses)} as the README says")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
