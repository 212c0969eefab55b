#!/usr/bin/env python3
"""Where the server's CPU time goes under load: reads `perf script` output of a
`http_report --alone CASE` run (sampled with call chains) and prints the share of
the server thread's samples that keygate's code accounts for.

    perf script -i FILE -F comm,tid,time,ip,sym,dso | bench/http_profile.py [--case-code REGEX] [--frequency HZ]
    bench/http_profile.py --self-test     # the attribution on a few known chains

A sample is keygate's when, walking its call chain from the innermost frame outwards,
the first frame of a crate that decides (keygate and the crates only it calls here, or
the server's own: axum, hyper, tokio, tower, the bench) is keygate's. Frames of shared
helpers (the kernel, libc, core/alloc/std, hashbrown, http, bytes, matchit, ...) are
passed over, so an allocation or a header lookup counts for whoever asked for it.
Chains that end in glibc before a deciding frame (perf unwinding by frame pointer
cannot pass glibc; bench/http_profile.sh unwinds from DWARF, which can) are shown
apart: system calls, which keygate's request path does not make, and malloc/free,
whose caller is then unknown. The share needs no baseline run, so the machine's drift
from run to run does not enter it; effects on the rest of the server's code (caches)
are not in it.

`--case-code REGEX` counts the frames whose path matches REGEX as the case's code
instead of keygate's: for the limit, `^(axum::middleware::from_fn|keygate_bench::hashmap_gate)`.
`--frequency HZ` (perf's sampling rate) also prints how much of the run the server
thread was on a CPU: below 85% it was not the bottleneck (or the host took the CPU),
and the share says less about the throughput.
"""

import collections
import re
import sys

# Crates whose frames are keygate's: the runtime and what only it calls here.
KEYGATE = {"keygate", "sha2", "subtle", "secrecy", "zeroize", "digest", "block_buffer"}
# Crates whose frames are the server's own: the app, axum, hyper, tokio and tower.
SERVER = {
    "axum", "axum_core", "hyper", "hyper_util", "tokio", "tower", "tower_service",
    "tower_layer", "mio", "httparse", "http_body", "http_body_util", "futures_util",
    "futures_core", "keygate_bench", "keygate_tests", "http_report",
}


# What counts as the case's own code instead of keygate's (`--case-code REGEX`, matched
# against the symbol as `path_of` gives it): the limit's middleware, say.
CASE_CODE = None


def path_of(symbol):
    """A symbol's path: that of the type of `<T as Trait>::f`, of the value of
    `drop_in_place<T>`, else the symbol itself."""
    s = symbol.strip()
    for _ in range(4):
        if s.startswith("<"):
            s = s[1:]
            continue
        m = re.match(r"core::ptr::drop_in_place<(.*)", s)
        if m:
            s = m.group(1)
            continue
        break
    return s


def crate_of(symbol):
    """The crate a Rust symbol belongs to: the first segment of its `path_of`."""
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", path_of(symbol))
    return m.group(1) if m else None


def samples(lines, times=None):
    """(comm, tid, [(symbol, dso), innermost first]) for each sample; each sample's
    time, when the output has one, is appended to `times` as (tid, seconds)."""
    head, frames = None, []
    for line in lines:
        if not line.strip():
            if head:
                yield head[0], head[1], frames
            head, frames = None, []
            continue
        if not line[0].isspace():
            m = re.match(r"^(\S+)\s+(\d+)(?:\s+([0-9.]+):)?", line)
            head, frames = (m.group(1), m.group(2)) if m else None, []
            if m and m.group(3) and times is not None:
                times.append((m.group(2), float(m.group(3))))
            continue
        m = re.match(r"^\s*[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$", line)
        if m:
            frames.append((m.group(1), m.group(2)))
    if head:
        yield head[0], head[1], frames


ALLOCATOR = re.compile(r"^(malloc|_int_malloc|_int_free|cfree|free|realloc|_int_realloc|"
                       r"malloc_consolidate|tcache_\w+|__libc_\w*alloc\w*)(@|$)")


def owner(frames):
    """Who a sample is for, and the deciding frame's symbol: 'keygate', 'server',
    'syscall' (a libc wrapper's chain, which ends there: glibc keeps no frame pointers;
    keygate's request path makes no system calls), 'allocator' (glibc's malloc or free,
    whose chain also ends there, so the caller is unknown), or None."""
    for symbol, dso in frames:
        if "kernel" in dso:
            continue
        crate = crate_of(symbol)
        mine = CASE_CODE.match(path_of(symbol)) if CASE_CODE else crate in KEYGATE
        if mine:
            return "keygate", symbol
        if crate in SERVER:
            return "server", symbol
    if any("entry_SYSCALL" in symbol for symbol, _ in frames):
        return "syscall", None
    if frames and ALLOCATOR.match(frames[0][0]):
        return "allocator", None
    return None, None


# A few call chains as `perf script` prints them, innermost frame first, for --self-test.
SELF_TEST = """\
http_report 7 1.0:
\tffff1 _int_free (/usr/lib/x86_64-linux-gnu/libc.so.6)

http_report 7 1.1:
\tffff2 hashbrown::raw::RawTable<T,A>::reserve_rehash (/b/http_report)
\tffff3 http::extensions::Extensions::insert (/b/http_report)
\tffff4 <keygate::layer::AuthService<S> as tower_service::Service<R>>::call (/b/http_report)

http_report 7 1.2:
\tffff5 core::ptr::drop_in_place<keygate::guard::Memo> (/b/http_report)

http_report 7 1.3:
\tffff6 http::header::map::HeaderMap<T>::get_all (/b/http_report)
\tffff7 <tower::util::oneshot::Oneshot<keygate::layer::AuthService<S>,R> as core::future::future::Future>::poll (/b/http_report)

http_report 7 1.4:
\tffff8 tcp_recvmsg_locked ([kernel.kallsyms])
\tffff9 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
\tffffa __libc_recv (/usr/lib/x86_64-linux-gnu/libc.so.6)

http_report 7 1.5:
\tffffb sha2::sha256::x86::digest_blocks (/b/http_report)

http_report 8 1.6:
\tffffc keygate::guard::Guard::authorize_now (/b/http_report)

"""


def self_test():
    """Checks the attribution on SELF_TEST's chains; exits non-zero when one is wrong."""
    want = ["allocator", "keygate", "keygate", "server", "syscall", "keygate", "keygate"]
    got = [owner(frames)[0] for _, _, frames in samples(SELF_TEST.splitlines(True))]
    if got != want:
        sys.exit(f"self-test failed: {got} != {want}")
    print("self-test: 7 chains attributed as expected")


def main():
    global CASE_CODE
    args = sys.argv[1:]
    if args == ["--self-test"]:
        self_test()
        return
    frequency = None
    while args:
        if len(args) >= 2 and args[0] == "--case-code":
            CASE_CODE = re.compile(args[1])
        elif len(args) >= 2 and args[0] == "--frequency":
            frequency = float(args[1])
        else:
            sys.exit("usage: http_profile.py [--self-test | [--case-code REGEX] "
                     "[--frequency HZ]] < perf-script-output")
        args = args[2:]
    by_thread = collections.defaultdict(list)
    times = []
    for comm, tid, frames in samples(sys.stdin, times):
        by_thread[(comm, tid)].append(frames)
    if not by_thread:
        sys.exit("no samples: give this the output of perf script -F comm,tid,time,ip,sym,dso")
    server = max(
        (key for key in by_thread if key[0] == "http_report"),
        key=lambda key: len(by_thread[key]),
        default=None,
    )
    if server is None:
        sys.exit("no samples of http_report's threads")
    chains = by_thread[server]
    owners = collections.Counter()
    keygate_frames = collections.Counter()
    kernel = 0
    for frames in chains:
        who, symbol = owner(frames)
        owners[who] += 1
        if who == "keygate":
            keygate_frames[re.sub(r"\s+", " ", symbol)[:110]] += 1
        if frames and "kernel" in frames[0][1]:
            kernel += 1
    total = len(chains)
    others = sum(len(v) for k, v in by_thread.items() if k != server)
    share = owners["keygate"] / total
    print(f"server thread {server[1]}: {total} samples ({others} in other threads, wrk's among them)")
    stamps = [t for tid, t in times if tid == server[1]]
    if frequency and len(stamps) > 1:
        # A server that is not busy all the time is not the bottleneck (or the host took
        # its CPU): then the share says less about the throughput.
        busy = total / ((max(stamps) - min(stamps)) * frequency)
        note = "" if busy >= 0.85 else "  NOT SATURATED: the share understates what the check costs the throughput"
        print(f"  the server thread was on a CPU {100 * busy:.0f}% of the run{note}")
    rows = [
        ("keygate", "the case's code" if CASE_CODE else "keygate's code"),
        ("server", "the server's own"),
        ("syscall", "system calls"),
        ("allocator", "malloc/free, caller unknown"),
        (None, "unattributed"),
    ]
    for who, label in rows:
        print(f"  {label + ':':30s} {owners[who]:7d}  {100 * owners[who] / total:5.2f}%")
    print(f"  (kernel frames innermost in {100 * kernel / total:.1f}% of all)")
    if share < 1:
        print(f"  that code free, this run's throughput could be at most "
              f"1/(1 - {share:.4f}) = {1 / (1 - share):.3f}x; with it, a ratio to no auth "
              f"of at most {1 - share:.3f} when the rest costs the same")
    print("  its frames that own the most samples:")
    for symbol, n in keygate_frames.most_common(12):
        print(f"    {n:6d}  {100 * n / total:5.2f}%  {symbol}")


if __name__ == "__main__":
    main()
