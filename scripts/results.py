#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the logs of the test VMs into one result list.

Usage: results.py OUTDIR PLAN...

For each plan, OUTDIR/PLAN holds console.log (the kernel console: KUnit's KTAP and any splat),
user.log (userspace: step markers, kselftest TAP, the kmemleak report) and status (QEMU's exit
code and time). Every KUnit case, kselftest and check step is one result; besides them each plan
adds two checks that can fail on their own: "no kernel splat" and "kmemleak clean". The last line
is "N passed, N failed" (plus ", N skipped" if any); the exit status is 1 on any failure.
"""

import os
import re
import sys

TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(?P<indent>\s*)(?P<status>not ok|ok) (?P<num>\d+)(?: -)? ?(?P<name>[^#]*?)\s*(?:#\s*(?P<directive>\S+)\s*(?P<reason>.*))?$')
PLAN = re.compile(r'^(?P<indent>\s*)1\.\.(?P<count>\d+)')
SUBTEST = re.compile(r'^(?P<indent>\s*)# Subtest: (?P<name>.*)$')

# Anything matching these on the kernel console fails the run, even if every test passed.
SPLATS = [re.compile(p) for p in (
    r'^BUG: ',
    r'^WARNING: ',
    r'^Oops',
    r'^general protection fault',
    r'^kernel BUG at',
    r'^Kernel panic',
    r'^BUG: KASAN',
    r'^UBSAN: ',
    r'^INFO: task .* blocked for more than',
    r'^INFO: rcu_|rcu: INFO: .*stall',
    r'^watchdog: BUG: soft lockup',
    r'^DMA-API: debugging out of memory',
    r'^kmemleak: \d+ new suspected memory leaks',
    r'^rust_kernel: panicked',
    r'^.*: panicked at ',
)]


class Results:
    def __init__(self):
        self.items = []  # (status, name, note)

    def add(self, status, name, note=''):
        self.items.append((status, name, note))

    def counts(self):
        c = {'pass': 0, 'fail': 0, 'skip': 0}
        for status, _, _ in self.items:
            c[status] += 1
        return c


def read_lines(path):
    try:
        with open(path, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return []
    return [TIMESTAMP.sub('', l.rstrip('\r')) for l in data.split('\n')]


def depth(indent):
    return len(indent.replace('\t', '    ')) // 4


def parse_tap(lines, prefix, res):
    """Leaf results of (possibly nested) KTAP/TAP lines. Returns (results, shortfall)."""
    names = {}          # indentation depth of a "# Subtest:" header -> its name
    children = {}       # depth -> number of results seen at depth+1 since the last result at depth
    plans = {}          # depth -> announced count
    seen = {}           # depth -> results seen since the plan
    shortfall = []
    for line in lines:
        m = SUBTEST.match(line)
        if m:
            names[depth(m['indent'])] = m['name'].strip()
            continue
        m = PLAN.match(line)
        if m:
            d = depth(m['indent'])
            plans[d] = int(m['count'])
            seen[d] = 0
            continue
        m = RESULT.match(line)
        if not m:
            continue
        d = depth(m['indent'])
        seen[d] = seen.get(d, 0) + 1
        # A "# Subtest:" header sits at its children's indentation.
        parent = [names[k] for k in sorted(names) if 0 < k <= d]
        name = '.'.join(parent + [m['name'].strip() or 'test %s' % m['num']])
        directive = (m['directive'] or '').upper()
        had_children = children.pop(d, 0) > 0
        # A parent's result summarises its children, which were counted already; it only counts
        # when it failed without any failed child (a suite that could not run).
        children[d - 1] = children.get(d - 1, 0) + 1
        if had_children:
            if m['status'] == 'not ok' and not any(
                    s == 'fail' and n.startswith(prefix + name + '.') for s, n, _ in res.items):
                res.add('fail', prefix + name, 'failed without a failing case')
            if d + 1 in plans and seen.get(d + 1, 0) < plans[d + 1]:
                res.add('fail', prefix + name, 'only %d of %d cases reported' % (seen.get(d + 1, 0), plans[d + 1]))
            plans.pop(d + 1, None)
            names.pop(d + 1, None)
            continue
        if directive == 'SKIP':
            res.add('skip', prefix + name, m['reason'] or '')
        elif m['status'] == 'ok' or directive in ('TODO', 'XFAIL'):
            res.add('pass', prefix + name)
        else:
            res.add('fail', prefix + name)
    if 0 in plans and seen.get(0, 0) < plans[0]:
        shortfall.append('only %d of %d results reported' % (seen.get(0, 0), plans[0]))
    return shortfall


def steps(lines):
    """Yield (kind, name, rc, body lines) for each step of the user log."""
    cur = None
    body = []
    for line in lines:
        m = re.match(r'^@@vm begin (\w+):(\S+)( up=\S+)?$', line)
        if m:
            cur, body = (m[1], m[2]), []
            continue
        m = re.match(r'^@@vm end (\w+):(\S+) rc=(\d+)( up=\S+)?$', line)
        if m and cur == (m[1], m[2]):
            yield m[1], m[2], int(m[3]), body
            cur = None
            continue
        if cur:
            body.append(line)
    if cur:
        yield cur[0], cur[1], None, body


def kernel_sections(console):
    """Split the kernel console into KTAP blocks, one per 'KTAP version 1' at the top level."""
    blocks, cur = [], None
    for line in console:
        if line.startswith('KTAP version'):
            cur = []
            blocks.append(cur)
            continue
        if cur is not None:
            cur.append(line)
    return blocks


def plan_results(outdir, plan, res):
    d = os.path.join(outdir, plan)
    console = read_lines(os.path.join(d, 'console.log'))
    user = read_lines(os.path.join(d, 'user.log'))
    status = dict(kv.split('=', 1) for kv in open(os.path.join(d, 'status')).read().split())
    p = plan + ': '

    # KUnit: every KTAP block on the kernel console. A plan that boots with kunit.enable=0 (its
    # modules' suites ran in another plan) gets a plan line and "kunit: disabled" per module.
    kunit_off = any(l.startswith('Kernel command line:') and 'kunit.enable=0' in l.split()
                    for l in console)
    for block in kernel_sections(console):
        if kunit_off and 'kunit: disabled' in (l.strip() for l in block[:3]):
            continue
        for note in parse_tap(block, p + 'kunit: ', res):
            res.add('fail', p + 'kunit', note)

    for kind, name, rc, body in steps(user):
        if rc is None:
            res.add('fail', p + '%s: %s' % (kind, name), 'did not finish')
            continue
        if kind == 'tap':
            before = len(res.items)
            for note in parse_tap(body, p + name + ': ', res):
                res.add('fail', p + name, note)
            new = res.items[before:]
            # kselftest exit codes: 0 pass, 4 all skipped; anything else needs a failing test.
            if rc not in (0, 4) and not any(s == 'fail' for s, _, _ in new):
                res.add('fail', p + name, 'exited with status %d' % rc)
            if not new:
                res.add('fail', p + name, 'reported no results')
        elif kind == 'kunit':
            if rc != 0:
                res.add('fail', p + 'insmod %s' % name, 'exit status %d' % rc)
        elif kind == 'check':
            res.add('pass' if rc == 0 else 'fail', p + name, '' if rc == 0 else 'exit status %d' % rc)
            if rc != 0:
                sys.stdout.write(''.join('    | %s\n' % l for l in body[-10:]))
        elif kind == 'kmemleak':
            leaks = [l for l in body if l.startswith('unreferenced object')]
            res.add('fail' if leaks else 'pass', p + 'kmemleak clean',
                    '%d unreferenced objects' % len(leaks) if leaks else '')
        elif kind == 'show':
            pass

    if os.path.exists(os.path.join(d, 'nokernel')):
        return int(status['seconds'])

    splats = []
    for i, line in enumerate(console):
        if any(s.search(line) for s in SPLATS):
            splats.append(line.strip())
    res.add('fail' if splats else 'pass', p + 'no kernel splat',
            '; '.join(splats[:5]) if splats else '')

    if '@@vm done' not in user:
        why = 'timed out after %s s' % status['timeout'] if status['rc'] in ('137', '124') else \
            'ended before finishing (qemu status %s)' % status['rc']
        res.add('fail', p + 'vm', why)
    return int(status['seconds'])


def main():
    outdir, plans = sys.argv[1], sys.argv[2:]
    res = Results()
    for plan in plans:
        before = len(res.items)
        secs = plan_results(outdir, plan, res)
        c = Results()
        c.items = res.items[before:]
        n = c.counts()
        cached = os.path.join(outdir, plan, 'cached')
        how = 'kept run of unchanged inputs, %s' % open(cached).read().strip() \
            if os.path.exists(cached) else 'logs: build/vm/%s/' % plan
        print('[vdmabuf] VM %-16s %3d s: %d passed, %d failed, %d skipped (%s)' %
              (plan, secs, n['pass'], n['fail'], n['skip'], how))
    for status, name, note in res.items:
        if status != 'pass':
            print('%s %s%s' % ('FAIL' if status == 'fail' else 'SKIP', name, (': ' + note) if note else ''))
    n = res.counts()
    line = '%d passed, %d failed' % (n['pass'], n['fail'])
    if n['skip']:
        line += ', %d skipped' % n['skip']
    print(line)
    return 1 if n['fail'] else 0


if __name__ == '__main__':
    sys.exit(main())
