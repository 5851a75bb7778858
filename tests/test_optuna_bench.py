"""tools/optuna_bench.py's own parts: the exact hypervolumes against
counting unit cells of random integer point sets (the definition), the
space texts as vitskip stores them, and the repair of a reuse without a
source (search/vk_genome.c's rule)."""
import itertools
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import optuna_bench as ob  # noqa: E402

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def cells(points, ref):
    """Unit cells [c, c+1) of the box below ref dominated by a point."""
    n = 0
    for c in itertools.product(*(range(int(r)) for r in ref)):
        n += any(all(p[k] <= c[k] for k in range(len(ref))) for p in points)
    return n


rng = random.Random(7)
for trial in range(300):
    dim = 2 if trial % 2 else 3
    ref = [rng.randint(1, 7) for _ in range(dim)]
    pts = [tuple(rng.randint(0, 8) for _ in range(dim)) for _ in range(rng.randint(0, 9))]
    hv = ob.hv2(pts, ref) if dim == 2 else ob.hv3(pts, ref)
    check(hv == cells(pts, ref), "hv%d %s ref %s: %g, cells %d" % (dim, pts, ref, hv, cells(pts, ref)))
check(ob.hv2([(1, 3), (2, 2), (3, 1)], (4, 4)) == 6, "vk_hv.h's example")

genes, has_f = ob.parse_space("FS")
check(genes == ["F", "S"] and has_f, "FS genes %s" % genes)
genes, _ = ob.parse_space("all")
check(len(genes) == 30, "all: %d genes, expected 30" % len(genes))
check(genes[:4] == ["F", "F:f25", "F:f50", "F:k85"], "all: gene order %s" % genes[:4])
genes, has_f = ob.parse_space("SH:k100,70")
check(genes == ["S", "H", "H:k70"] and not has_f, "SH:k100,70 genes %s" % genes)
for bad in ("", "FX", "FF", "FS:x5", "FS:kA"):
    try:
        ob.parse_space(bad)
        check(False, "space '%s' accepted" % bad)
    except ob.BenchError:
        check(True, "")
check(ob.repair(["R", "S", "R"], True) == "FSR", "repair R at the start")
check(ob.repair(["F:k70", "R"], True) == "F:k70F", "repair R after pruning")
check(ob.repair(["R:f25", "H"], False) == "H:f25H", "repair without F in the space")
check(ob.repair(["H", "S", "R"], False) == "HSR", "a valid reuse kept")
print("optuna_bench units: %d checks passed" % checks)
