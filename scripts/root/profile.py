#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make profile: count what one 1 MiB import round trip executes, per exporter.

Runs inside the toolchain root next to a VM booted with tests/vm/plans/profile.sh and QEMU's
gdbstub on localhost:PORT. For each exporter in turn, as the plan loops its round trip, it stops
the guest at that exporter's map callback, single-steps the CPU that hit it, and names every
instruction by the kernel's System.map and the module symbols the plan prints. One round trip is
the stretch between an entry into the sample importer's ioctl handler and the fourth entry after
it (import, map, unmap, release), so where the stepping starts does not matter.

Under TCG the time of a path is roughly its guest instructions and the calls and returns among
them, and unlike times, these counts are the same from run to run. Usage:
profile.py PORT SYSTEM_MAP USER_LOG
"""

import bisect
import collections
import re
import socket
import sys
import time

STEPS = 20000
# Per exporter: the callback to stop at, as a pattern over the symbol names.
EXPORTERS = [
    ("vdmabuf", re.compile(r"ExporterVTable.*VdmaBuffer.*E3map.* \[vdmabuf\]$")),
    ("heap", re.compile(r"^system_heap_map_dma_buf$")),
    ("floor", re.compile(r"^floor_map \[vdmabuf_floor\]$")),
]
IOCTL = re.compile(r"MiscdeviceVTable.*ImporterFile.*5ioctl.* \[vdmabuf_importer\]$")
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


def trace(stub, addr):
    """Stops at addr, steps that CPU STEPS instructions, lets the guest go on; returns the PCs."""
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
    for _ in range(STEPS):
        pc = stub.pc()
        # The step off a breakpoint may report the same address again.
        if not pcs or pcs[-1] != pc:
            pcs.append(pc)
        stub.send("s")
        stub.reply()
    stub.send("c")
    return pcs


def round_trip(pcs, ioctl):
    entries = [i for i, pc in enumerate(pcs) if pc == ioctl]
    if len(entries) < 6:
        sys.exit("profile: fewer than five importer ioctls in the steps taken")
    return pcs[entries[1]:entries[5]]


def part(name, exporter):
    """The part of the system a function belongs to, for the summary."""
    own = {"vdmabuf": "[vdmabuf]", "heap": "system_heap_", "floor": "[vdmabuf_floor]"}
    if any(v in name for v in own.values()):
        return "the exporter's own code" if own[exporter] in name else "another exporter (!)"
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
    if re.search(r"sg_|dma_map|dma_unmap|dma_direct|__dma_", name):
        return "scatterlists, DMA mapping"
    if re.search(r"dma_buf|dma_resv|ww_mutex|dma_fence", name):
        return "dma-buf core, reservation locks"
    if re.search(r"mutex|kobject|device", name):
        return "locks, device references"
    return "system calls, files, other"


def main():
    port, system_map, user_log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    stub = Stub(port, 120)
    stub.send("c")
    syms = Symbols(system_map, module_symbols(user_log, 600))
    ioctl = syms.find(IOCTL)
    counts = {}
    for exporter, pattern in EXPORTERS:
        span = round_trip(trace(stub, syms.find(pattern)), ioctl)
        ins, calls = collections.Counter(), collections.Counter()
        for pc in span:
            name, entry = syms.name(pc)
            ins[name] += 1
            calls[name] += entry
        counts[exporter] = (ins, calls)
    stub.sock.close()

    names = [e for e, _ in EXPORTERS]
    print("One 1 MiB import round trip (import, map, unmap, release through the sample importer),")
    print("in guest instructions and function entries, on the bench kernel:\n")
    print("%-8s %13s %17s %17s" % ("exporter", "instructions", "function entries", "kernel C helpers"))
    for e in names:
        ins, calls = counts[e]
        helpers = sum(v for k, v in calls.items() if k.startswith("rust_helper_"))
        print("%-8s %13d %17d %17d" % (e, sum(ins.values()), sum(calls.values()), helpers))

    print("\nBy part (instructions/entries):\n")
    parts = collections.defaultdict(lambda: collections.Counter())
    for e in names:
        ins, calls = counts[e]
        for k in ins:
            parts[part(k, e)][e + "i"] += ins[k]
            parts[part(k, e)][e + "c"] += calls[k]
    print("%-34s" % "part" + "".join("%14s" % e for e in names))
    for p, c in sorted(parts.items(), key=lambda x: -x[1]["vdmabufi"]):
        print("%-34s" % p + "".join("%14s" % ("%d/%d" % (c[e + "i"], c[e + "c"])) for e in names))

    print("\nPer function, vdmabuf against the heap, largest difference first (instructions/entries):\n")
    ins_v, calls_v = counts["vdmabuf"]
    ins_h, calls_h = counts["heap"]
    ins_f, calls_f = counts["floor"]
    keys = set(ins_v) | set(ins_h) | set(ins_f)
    diff = {k: ins_v[k] - ins_h[k] for k in keys}
    print("%-78s" % "function" + "".join("%11s" % e for e in names))
    for k in sorted(keys, key=lambda k: (-abs(diff[k]), k)):
        if not diff[k] and calls_v[k] == calls_h[k]:
            continue
        # Mangled Rust names end in the path that tells them apart; keep the end.
        print("%-78s" % k[-78:] + "".join(
            "%11s" % ("%d/%d" % (i[k], c[k])) for i, c in (counts[e] for e in names)))


if __name__ == "__main__":
    main()
