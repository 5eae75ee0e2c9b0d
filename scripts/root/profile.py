#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make profile: count what one import round trip, and one create and close, execute per exporter.

Runs inside the toolchain root next to a VM booted with tests/vm/plans/profile.sh and QEMU's
gdbstub on localhost:PORT. For each exporter in turn, as the plan loops its work, it stops the
guest in that exporter's code (its map callback, or its create), single-steps the CPU that hit
it, and names every instruction by the kernel's System.map and the module symbols the plan
prints. One import round trip is the stretch between an entry into the sample importer's ioctl
handler and the fourth entry after it (import, map, unmap, release); one create and close is the
stretch between two ioctl system calls. So where the stepping starts does not matter.

Under TCG the time of a path is roughly its guest instructions and the calls and returns among
them, and unlike times, these counts repeat from run to run (to within about 1 %: the slow paths
of the allocators and of the system calls vary). Usage:
profile.py PORT SYSTEM_MAP USER_LOG
"""

import bisect
import collections
import re
import socket
import sys
import time

MAX_STEPS = 200000
# What the plan loops, in its order: a title, the function entered once per round (a pattern over
# the symbol names), how many times a round enters it, and per exporter the function to stop at.
WORKLOADS = [
    ("One 1 MiB import round trip (import, map, unmap, release through the sample importer)",
     re.compile(r"MiscdeviceVTable.*ImporterFile.*5ioctl.* \[vdmabuf_importer\]$"), 4, [
         ("vdmabuf", re.compile(r"ExporterVTable.*VdmaBuffer.*E3map.* \[vdmabuf\]$")),
         ("heap", re.compile(r"^system_heap_map_dma_buf$")),
         ("floor", re.compile(r"^floor_map \[vdmabuf_floor\]$")),
     ]),
    ("One create and close of 4 KiB (the ioctl, the close, the release)",
     re.compile(r"^__x64_sys_ioctl$"), 1, [
         ("vdmabuf", re.compile(r"MiscdeviceVTable.*VdmabufFile.*5ioctl.* \[vdmabuf\]$")),
         ("heap", re.compile(r"^system_heap_allocate$")),
         ("floor", re.compile(r"^floor_ioctl \[vdmabuf_floor\]$")),
     ]),
]
USER_TOP = 0xFFFF800000000000


class Stub:
    """A client of QEMU's gdbstub (the GDB remote serial protocol, without acknowledgements)."""

    def __init__(self, port, wait):
        deadline = time.time() + wait
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit(f"profile: no gdbstub on port {port}")
                time.sleep(0.2)
        self.sock.settimeout(600)
        self.buf = b""
        self.send("QStartNoAckMode")
        self.reply()
        self.buf = self.buf.replace(b"+", b"")

    def send(self, packet):
        data = packet.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))

    def reply(self):
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start)
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                packet, self.buf = self.buf[start + 1:end].decode(), self.buf[end + 3:]
                return packet
            data = self.sock.recv(65536)
            if not data:
                sys.exit("profile: the VM ended early; see build/vm/profile/")
            self.buf += data

    def ask(self, packet):
        self.send(packet)
        return self.reply()

    def interrupt(self):
        self.sock.sendall(b"\x03")
        return self.reply()

    def pc(self):
        # Register 16 is rip in QEMU's x86-64 description; the reply is little-endian hex.
        return int.from_bytes(bytes.fromhex(self.ask("p10")), "little")


class Symbols:
    """Text symbols of the kernel and the modules: name of an address, and search by pattern."""

    def __init__(self, system_map, module_lines):
        syms = []
        for line in open(system_map):
            f = line.split()
            if len(f) >= 3 and f[1] in "tTwW":
                syms.append((int(f[0], 16), f[2]))
        for line in module_lines:
            f = line.split()
            if len(f) >= 4 and f[1] in "tT":
                syms.append((int(f[0], 16), f"{f[2]} {f[3]}"))
        syms.sort()
        self.addrs = [a for a, _ in syms]
        self.syms = syms

    def find(self, pattern):
        hits = [a for a, n in self.syms if pattern.search(n)]
        if len(hits) != 1:
            sys.exit(f"profile: {len(hits)} symbols match {pattern.pattern}")
        return hits[0]

    def name(self, addr):
        """Returns the name of the function holding addr and whether addr is its entry."""
        if addr < USER_TOP:
            return "[user]", False
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.syms[i][1], self.syms[i][0] == addr


def module_symbols(user_log, wait):
    """Waits for the plan to print the module symbols and returns their lines."""
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            text = open(user_log).read()
        except OSError:
            text = ""
        m = re.search(r"@@vm begin show:symbols[^\n]*\n(.*?)@@vm end show:symbols", text, re.S)
        if m:
            return m.group(1).splitlines()
        time.sleep(1)
    sys.exit("profile: the plan printed no module symbols")


def trace(stub, addr, marker, per_round):
    """Stops at addr, steps that CPU until it has entered marker 1 + per_round times (at most
    MAX_STEPS instructions), lets the guest go on; returns the PCs."""
    stub.interrupt()
    if stub.ask("Z1,%x,1" % addr) != "OK":
        sys.exit("profile: cannot set a breakpoint")
    stub.send("c")
    stop = stub.reply()
    thread = re.search(r"thread:([0-9a-fp.]+);", stop)
    stub.ask("z1,%x,1" % addr)
    if thread:
        stub.ask("Hg" + thread.group(1))
        stub.ask("Hc" + thread.group(1))
    pcs = []
    entries = 0
    while entries < 2 + per_round and len(pcs) < MAX_STEPS:
        pc = stub.pc()
        # The step off a breakpoint may report the same address again.
        if not pcs or pcs[-1] != pc:
            pcs.append(pc)
            entries += pc == marker
        stub.send("s")
        stub.reply()
    stub.send("c")
    return pcs


def one_round(pcs, marker, per_round):
    """The steps from an entry into marker to the one a round later (skipping the first entry,
    which may be where the stepping started)."""
    entries = [i for i, pc in enumerate(pcs) if pc == marker]
    if len(entries) < 2 + per_round:
        sys.exit("profile: the steps taken hold no whole round")
    return pcs[entries[1]:entries[1 + per_round]]


def part(name, exporter):
    """The part of the system a function belongs to, for the summary."""
    own = {"vdmabuf": ("[vdmabuf]",), "heap": ("system_heap_", "dma_heap_"),
           "floor": ("[vdmabuf_floor]",)}
    for e, marks in own.items():
        if any(m in name for m in marks):
            return "the exporter's own code" if e == exporter else "another exporter (!)"
    if name == "[user]":
        return "user space"
    if "[vdmabuf_importer]" in name:
        return "the sample importer"
    if name.startswith("rust_helper_"):
        return "kernel crate C helpers"
    if name.startswith("_R"):
        return "kernel crate (Rust)"
    if re.search(r"kmalloc|kfree|krealloc|slab|memset|kmem_cache|__pcs_", name):
        return "slab allocator"
    if re.search(r"page|rmqueue|zone|clear_|buddy|vmstat|mod_node|memcg", name):
        return "page allocator, zeroing"
    if re.search(r"sg_|dma_map|dma_unmap|dma_direct|__dma_", name):
        return "scatterlists, DMA mapping"
    if re.search(r"dma_buf|dma_resv|ww_mutex|dma_fence", name):
        return "dma-buf core, reservation locks"
    if re.search(r"file|fd|inode|dentry|dput|d_alloc|mntget|path_|alloc_empty|__fput|task_work",
                 name):
        return "files, inodes, fds"
    if re.search(r"mutex|kobject|device|spin_", name):
        return "locks, device references"
    return "system calls, other"


def report(title, counts, names):
    print(title + ",")
    print("in guest instructions and function entries, on the bench kernel:\n")
    print("%-8s %13s %17s %17s" % ("exporter", "instructions", "function entries",
                                   "kernel C helpers"))
    for e in names:
        ins, calls = counts[e]
        helpers = sum(v for k, v in calls.items() if k.startswith("rust_helper_"))
        print("%-8s %13d %17d %17d" % (e, sum(ins.values()), sum(calls.values()), helpers))

    print("\nBy part (instructions/entries):\n")
    parts = collections.defaultdict(collections.Counter)
    for e in names:
        ins, calls = counts[e]
        for k in ins:
            parts[part(k, e)][e + "i"] += ins[k]
            parts[part(k, e)][e + "c"] += calls[k]
    print("%-34s" % "part" + "".join("%14s" % e for e in names))
    for p, c in sorted(parts.items(), key=lambda x: -x[1][names[0] + "i"]):
        print("%-34s" % p + "".join("%14s" % ("%d/%d" % (c[e + "i"], c[e + "c"])) for e in names))

    print("\nPer function, %s against %s, largest difference first (instructions/entries):\n"
          % (names[0], names[1]))
    (ins_a, calls_a), (ins_b, calls_b) = counts[names[0]], counts[names[1]]
    keys = set().union(*(counts[e][0] for e in names))
    diff = {k: ins_a[k] - ins_b[k] for k in keys}
    print("%-78s" % "function" + "".join("%11s" % e for e in names))
    for k in sorted(keys, key=lambda k: (-abs(diff[k]), k)):
        if not diff[k] and calls_a[k] == calls_b[k]:
            continue
        # Mangled Rust names end in the path that tells them apart; keep the end.
        print("%-78s" % k[-78:] + "".join(
            "%11s" % ("%d/%d" % (i[k], c[k])) for i, c in (counts[e] for e in names)))
    print("\n")


def main():
    port, system_map, user_log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    stub = Stub(port, 120)
    stub.send("c")
    syms = Symbols(system_map, module_symbols(user_log, 600))
    for title, marker, per_round, exporters in WORKLOADS:
        marker = syms.find(marker)
        counts = {}
        for exporter, pattern in exporters:
            span = one_round(trace(stub, syms.find(pattern), marker, per_round), marker, per_round)
            ins, calls = collections.Counter(), collections.Counter()
            for pc in span:
                name, entry = syms.name(pc)
                ins[name] += 1
                calls[name] += entry
            counts[exporter] = (ins, calls)
        report(title, counts, [e for e, _ in exporters])
        sys.stdout.flush()
    stub.sock.close()


if __name__ == "__main__":
    main()
