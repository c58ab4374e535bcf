"""No two hand-written modules of a crate import each other (issue 21): lists each pair that
does (paths through `crate::`, `super::` and `self::`, grouped imports included; comments and
tests ignored; generated modules skipped) and fails when there is one.

    python3 .ci/import-circles.py CRATE_DIR...
"""
import os, re, sys, itertools
def files(root):
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith('.rs'): yield os.path.join(d, f)
def modpath(crate_src, f):
    rel = os.path.relpath(f, crate_src)[:-3].split(os.sep)
    if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
    return rel
total = 0
for crate in sys.argv[1:]:
    src = os.path.join(crate, 'src')
    mods = {tuple(modpath(src, f)): f for f in files(src) if '/generated/' not in f}
    deps = {}
    for m, f in mods.items():
        text = open(f).read()
        text = text.split('#[cfg(test)]')[0]
        text = '\n'.join(l for l in text.split('\n') if not l.lstrip().startswith('//'))
        refs = set()
        paths = re.findall(r'\b((?:crate|super|self)(?:::[a-z_][a-z0-9_]*)+)', text)
        for prefix, group in re.findall(r'\b((?:crate|super|self)(?:::[a-z_][a-z0-9_]*)*)::\{([^}]*)\}', text):
            for name in re.findall(r'\b([a-z_][a-z0-9_]*)\b', group):
                paths.append(prefix + '::' + name)
        for path in paths:
            parts = path.split('::')
            base = list(m) if not f.endswith(('mod.rs', 'lib.rs', 'main.rs')) else list(m) + ['__self']
            if parts[0] == 'crate': cur = []
            elif parts[0] == 'self': cur = list(m)
            else:
                cur = list(m)[:-1] if not f.endswith(('mod.rs',)) else list(m)[:-1]
            rest = parts[1:]
            while rest and parts[0] == 'super' and rest[0] == 'super':
                cur = cur[:-1]; rest = rest[1:]
            # longest module prefix
            best = None
            for i in range(len(rest), -1, -1):
                cand = tuple(cur + rest[:i])
                if cand in mods: best = cand; break
            if best is not None and best != m: refs.add(best)
        deps[m] = refs
    for a, b in itertools.combinations(mods, 2):
        if b in deps[a] and a in deps[b]:
            total += 1
            print(crate, '::'.join(a) or '(root)', '<->', '::'.join(b) or '(root)')
print('import circles:', total)
sys.exit(1 if total else 0)
