#!/usr/bin/python3
"""optuna_bench: Optuna's samplers on vitskip's search problem, on equal terms.

The oracle is a vitskip sweep (`vitskip sweep`: every valid path of a space
measured on one board), read straight from its SQLite database: a trial's
genome is answered with that sweep's stored top-1, latency and energy, as
`vitskip search-bench` answers vitskip's own strategies. Same objectives
(error, the sweep run's cost: latency, energy or EDP), same constraint
(accuracy drop vs the full path, latency and energy budgets; the violation
formula of search/vk_search.c, handed to the samplers that take constraints),
same hypervolume (exact, feasible points only) and reference point (100%
error, 1.1 x the full path's cost; 3 objectives: 1.1 x its latency and
energy). The first trial of every study is the full path, as in vitskip's
runs (the constraint is relative to it).

A genome a sampler proposes that the kernel refuses (reuse without a source)
is repaired as vitskip repairs its own (search/vk_genome.c): the repaired
genome is measured and told.

Two accountings, read off the same studies (a repeat is answered by the
same stored measurement in both, so a sampler's trajectory is the same):
  trial  every trial costs one measurement, a repeated proposal included:
         the hypervolume after B trials;
  cache  repeats are free (a result cache): the hypervolume once B distinct
         genomes were measured (at most --max-trials trials a study; a study
         that ran out is counted with what it had and reported).
vitskip's strategies never propose a genome twice, so both accountings are
the same for them (`vitskip search-bench --csv` gives their rows).

    optuna_bench.py --db sweep.db [--seeds 50] [--first-seed 1] [--budgets 16,32,64,128]
        [--samplers nsga2,nsga2-small,tpe,tpe-mv,random] [--jobs N]
        [--vitskip-csv FILE] [--csv OUT]
    optuna_bench.py --union DB [--budgets 16,32]   searches of a space too large to
                                        sweep, against the union of their fronts
    optuna_bench.py --check-hv DB RUN   recompute a run's stored hypervolume
                                        history from its measurements

Exit status: 0 done, 1 failure, 2 usage error.
"""

import argparse
import math
import multiprocessing
import os
import sqlite3
import sys
import time

LETTERS = "FSRH"
SAMPLERS = ("nsga2", "nsga2-small", "tpe", "tpe-mv", "random")
SAMPLER_TEXT = {
    "nsga2": "Optuna NSGA-II (population 50)",
    "nsga2-small": "Optuna NSGA-II (population 6)",
    "tpe": "Optuna TPE",
    "tpe-mv": "Optuna TPE (multivariate)",
    "random": "Optuna random",
}


class BenchError(Exception):
    """A bad input (file, run, option), with the message a user needs."""


# ---- hypervolume (search/vk_hv.c's definition) -----------------------------


def hv2(points, ref):
    """Exact 2-objective hypervolume of minimised points against ref: the
    area dominated by at least one point and bounded by ref (points not
    strictly below ref in both objectives add nothing)."""
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def hv3(points, ref):
    """Exact 3-objective hypervolume: slices along the third objective, each
    slab the 2-objective hypervolume of the points at or below it."""
    pts = sorted(
        (p for p in points if p[0] < ref[0] and p[1] < ref[1] and p[2] < ref[2]),
        key=lambda p: p[2],
    )
    hv = 0.0
    for i, p in enumerate(pts):
        top = pts[i + 1][2] if i + 1 < len(pts) else ref[2]
        if top > p[2]:
            hv += hv2([(q[0], q[1]) for q in pts[: i + 1]], ref[:2]) * (top - p[2])
    return hv


# ---- genomes and spaces (search/vk_genome.c's rules) ----------------------


def parse_space(text):
    """The genes per encoder of a stored space text ("FS",
    "FSRH:k100,85,70,50:f0,25,50", ...), in vk_space_gene's order."""
    if text == "all":
        text = "FSRH:k100,85,70,50:f0,25,50"
    parts = text.split(":")
    letters = parts[0]
    if not letters or any(c not in LETTERS for c in letters) or len(set(letters)) != len(letters):
        raise BenchError("space '%s': expected attention letters from FSRH" % text)
    keep, ffn = [100], [0]
    for part in parts[1:]:
        try:
            vals = [int(v) for v in part[1:].split(",")]
        except ValueError:
            raise BenchError("space '%s': malformed '%s'" % (text, part)) from None
        if part[:1] == "k":
            keep = [100] + [v for v in vals if v != 100]
        elif part[:1] == "f":
            ffn = [0] + [v for v in vals if v != 0]
        else:
            raise BenchError("space '%s': unexpected ':%s'" % (text, part))
    genes = []
    for a in letters:
        for k in keep if a in "FH" else [100]:
            for f in ffn:
                genes.append(a + (":k%d" % k if k != 100 else "") + (":f%d" % f if f else ""))
    return genes, "F" in letters


def repair(genes, has_full):
    """vk_genome_repair on a list of gene texts: a reuse with no valid source
    computes its attention (F, or H where the space has no F)."""
    out, src = [], False
    for g in genes:
        if g[0] == "R" and not src:
            g = ("F" if has_full else "H") + g[1:]
        if g[0] in "FH":
            src = True
        if ":k" in g:
            src = False
        out.append(g)
    return "".join(out)


# ---- the oracle -------------------------------------------------------------


def open_db(db):
    """A read-only connection to a vitskip database; BenchError when db is
    missing or not one."""
    if not os.path.isfile(db):
        raise BenchError("%s: no such file" % db)
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        meta = con.execute("select value from meta where key = 'app'").fetchone()
    except sqlite3.Error as e:
        raise BenchError("%s: not a vitskip database (%s)" % (db, e)) from None
    if not meta or meta[0] != "vitskip":
        raise BenchError("%s: not a vitskip database (no vitskip marker in meta)" % db)
    return con


class Oracle:
    """A sweep run's measurements, constraints and reference point."""

    def __init__(self, db, run=None):
        con = open_db(db)
        if run is None:  # the run with the most evaluated paths, newest first
            row = con.execute(
                "select run_id from run_paths group by run_id"
                " order by count(*) desc, run_id desc limit 1"
            ).fetchone()
            if not row:
                raise BenchError("%s: holds no run (make a sweep with vitskip sweep)" % db)
            run = row[0]
        info = con.execute(
            "select objective, max_acc_drop, latency_budget_ms, energy_budget_mj, space,"
            " boards, n_images from runs where id = ?",
            (run,),
        ).fetchone()
        if not info:
            raise BenchError("%s: no run %s" % (db, run))
        (self.objective, self.max_drop, self.lat_budget, self.en_budget, self.space,
         self.boards, self.n_images) = info
        if self.objective not in ("latency", "energy", "edp"):
            raise BenchError("%s: run %s: unknown objective '%s'" % (db, run, self.objective))
        self.run = run
        self.db = db
        self.genes, self.has_full = parse_space(self.space)
        rows = con.execute(
            "select p.genome, p.top1, p.latency_ms, p.energy_mj, p.energy_src"
            " from run_paths r join paths p on p.id = r.path_id where r.run_id = ?"
            " order by r.seq",
            (run,),
        ).fetchall()
        con.close()
        self.order = [r[0] for r in rows]  # the run's evaluation order
        self.meas = {r[0]: (r[1], r[2], r[3] if r[3] is not None else 0.0,
                            r[4] not in (None, "none")) for r in rows}
        if not rows:
            raise BenchError("%s: run %s evaluated no path" % (db, run))
        self.n_layers = sum(c in LETTERS for c in rows[0][0])
        self.full = "F" * self.n_layers
        if self.full not in self.meas:
            raise BenchError("%s: run %s has no full path %s" % (db, run, self.full))
        top1, lat, en, has_en = self.meas[self.full]
        self.full_top1 = top1
        self.ref = (100.0, 1.1 * self.cost(lat, en))
        self.ref3 = (100.0, 1.1 * lat, 1.1 * en) if has_en else None

    def cost(self, lat, en):
        return lat if self.objective == "latency" else en if self.objective == "energy" else lat * en

    def violation(self, top1, lat, en):
        """search/vk_search.c's violation(): 0 when feasible."""
        v = 0.0
        drop = self.full_top1 - top1
        if self.max_drop >= 0 and drop > self.max_drop:
            v += (drop - self.max_drop) / (self.max_drop if self.max_drop > 0.1 else 0.1)
        if self.lat_budget > 0 and lat > self.lat_budget:
            v += (lat - self.lat_budget) / self.lat_budget
        if self.en_budget > 0 and en > self.en_budget:
            v += (en - self.en_budget) / self.en_budget
        return v

    def point(self, genome):
        """(objectives, violation, (error, latency, energy) or None) of a
        genome; BenchError when the sweep did not measure it."""
        m = self.meas.get(genome)
        if m is None:
            raise BenchError("%s: run %s did not measure %s (not a sweep of this space?)"
                             % (self.db, self.run, genome))
        top1, lat, en, has_en = m
        obj = (100.0 - top1, self.cost(lat, en))
        return obj, self.violation(top1, lat, en), (100.0 - top1, lat, en) if has_en else None

    def hypervolumes(self, genomes):
        """2- and 3-objective hypervolume of the feasible points among
        genomes (hv3 = -1 without energy), as vitskip records them."""
        p2, p3 = [], []
        for g in genomes:
            obj, viol, o3 = self.point(g)
            if viol == 0:
                p2.append(obj)
                if o3:
                    p3.append(o3)
        return hv2(p2, self.ref), hv3(p3, self.ref3) if self.ref3 else -1.0


# ---- one study --------------------------------------------------------------


def make_sampler(name, seed, constraints):
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)
    if name == "nsga2-small":
        return optuna.samplers.NSGAIISampler(population_size=6, seed=seed,
                                             constraints_func=constraints)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    if name == "tpe-mv":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          constraints_func=constraints)
    return optuna.samplers.RandomSampler(seed=seed)


def memoize_hssp():
    """Optuna 3.1's multi-objective TPE solves the same hypervolume subset
    selection (a pure function of the observations) once per parameter of a
    trial: 8 identical solutions a trial on an 8-encoder genome, 95% of a
    default-TPE study's time. Caching it by its inputs changes no proposal
    (tests/test_optuna_bench.sh compares studies with and without) and makes
    a 512-trial study about 8 times faster. VK_OPTUNA_NO_MEMO=1 turns it off."""
    from optuna.samplers._tpe import sampler as tpe

    if os.environ.get("VK_OPTUNA_NO_MEMO") == "1" or getattr(tpe, "_vk_memo", False):
        return
    solve, cache = tpe._solve_hssp, {}

    def cached(vals, indices, size, ref):
        key = (vals.shape, vals.tobytes(), indices.tobytes(), size, ref.tobytes())
        if key not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[key] = solve(vals, indices, size, ref)
        return cache[key].copy()

    tpe._solve_hssp, tpe._vk_memo = cached, True


def violation_of(trial):
    return (trial.user_attrs["violation"],)


def run_study(oracle, sampler, seed, budgets, max_trials):
    """One study to the largest budget; returns {"trial": {B: (hv2, hv3)},
    "cache": {B: (hv2, hv3)}, "trials": n, "distinct": n}."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    memoize_hssp()
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=make_sampler(sampler, seed, violation_of))
    n = oracle.n_layers
    study.enqueue_trial({"e%d" % i: "F" for i in range(n)})
    distinct, seen = [], set()
    out = {"trial": {}, "cache": {}}
    top = budgets[-1]
    trials = 0
    while len(distinct) < top and trials < max_trials:
        t = study.ask()
        genome = repair([t.suggest_categorical("e%d" % i, oracle.genes) for i in range(n)],
                        oracle.has_full)
        obj, viol, _ = oracle.point(genome)
        t.set_user_attr("violation", viol)
        study.tell(t, list(obj))
        trials += 1
        new = genome not in seen
        if new:
            seen.add(genome)
            distinct.append(genome)
        if trials in budgets:
            out["trial"][trials] = oracle.hypervolumes(distinct)
        if new and len(distinct) in budgets:
            out["cache"][len(distinct)] = oracle.hypervolumes(distinct)
    last = oracle.hypervolumes(distinct)
    for b in budgets:  # a study cut at max_trials keeps what it had
        out["trial"].setdefault(b, last)
        out["cache"].setdefault(b, last)
    out["trials"], out["distinct"] = trials, len(distinct)
    return out


def _task(args):
    db, run, sampler, seed, budgets, max_trials = args
    t0 = time.time()
    r = run_study(Oracle(db, run), sampler, seed, budgets, max_trials)
    r["seconds"] = time.time() - t0
    return sampler, seed, r


# ---- the table --------------------------------------------------------------


def read_vitskip_csv(path, budgets):
    """`vitskip search-bench --csv` rows: strategy,seed,budget,hv_pct,hv3_pct
    -> ({strategy: {budget: {seed: (pct2, pct3)}}}, sweep run id)."""
    out, run = {}, None
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise BenchError("--vitskip-csv %s: %s" % (path, e.strerror)) from None
    if not lines or not lines[0].startswith("# sweep run "):
        raise BenchError("--vitskip-csv %s: line 1: expected '# sweep run N ...'" % path)
    try:
        run = int(lines[0].split()[3])
    except (IndexError, ValueError):
        raise BenchError("--vitskip-csv %s: line 1: no run number" % path) from None
    for no, line in enumerate(lines[1:], 2):
        if line.startswith("#") or line.startswith("strategy,"):
            continue
        f = line.split(",")
        try:
            st, seed, b, p2, p3 = f[0], int(f[1]), int(f[2]), float(f[3]), float(f[4])
        except (IndexError, ValueError):
            raise BenchError("--vitskip-csv %s: line %d: expected strategy,seed,budget,"
                             "hv_pct,hv3_pct, got '%s'" % (path, no, line)) from None
        if len(f) != 5 or not st or not (0 <= p2 <= 100.0000001):
            raise BenchError("--vitskip-csv %s: line %d: malformed row '%s'" % (path, no, line))
        if b in budgets:
            out.setdefault(st, {}).setdefault(b, {})[seed] = (p2, p3)
    return out, run


def cell(vals):
    if not vals:
        return "-"
    return "%.2f%% [%.2f, %.2f]" % (sum(vals) / len(vals), min(vals), max(vals))


def print_tables(columns, budgets, seeds, has3):
    """columns: [(name, {"trial"|"cache": {budget: [pct2, pct3 pairs]}}, seeds)]."""
    for k, what in ((0, "error vs the run's cost"), (1, "error, latency, energy")):
        if k == 1 and not has3:
            break
        for acc, text in (("trial", "a repeated proposal costs a trial"),
                          ("cache", "repeats free through a result cache")):
            print("\nhypervolume reached, %% of the true front's (%s; %s); mean [worst, best] "
                  "over %d seeds" % (what, text, seeds))
            print("| budget | " + " | ".join(c[0] for c in columns) + " |")
            print("|---" * (len(columns) + 1) + "|")
            for b in budgets:
                row = []
                means = [c[1][acc].get(b) for c in columns]
                means = [sum(v[k] for v in m) / len(m) if m else -1 for m in means]
                best = max(means)
                for c, m in zip(columns, means):
                    s = cell([v[k] for v in c[1][acc].get(b, [])])
                    row.append("**%s**" % s if m == best and m >= 0 else s)
                print("| %d | %s |" % (b, " | ".join(row)))


def bench(a):
    budgets = [int(b) for b in a.budgets.split(",")] if a.budgets else []
    if not budgets or budgets != sorted(set(budgets)) or budgets[0] < 1:
        raise BenchError("--budgets '%s': expected increasing counts, comma-separated"
                         % a.budgets)
    samplers = a.samplers.split(",") if a.samplers else []
    for s in samplers:
        if s not in SAMPLERS:
            raise BenchError("--samplers: unknown '%s' (expected some of %s)"
                             % (s, ",".join(SAMPLERS)))
    vk, run = ({}, a.run)
    if a.vitskip_csv:
        vk, csv_run = read_vitskip_csv(a.vitskip_csv, budgets)
        if run is not None and run != csv_run:
            raise BenchError("--run %d but --vitskip-csv is of sweep run %d" % (run, csv_run))
        run = csv_run
    oracle = Oracle(a.db, run)
    if budgets[-1] > len(oracle.meas):
        raise BenchError("budget %d exceeds the sweep's %d paths" % (budgets[-1], len(oracle.meas)))
    true2, true3 = oracle.hypervolumes(oracle.order)
    if not true2 > 0:
        raise BenchError("%s: run %d: the true front has no feasible point" % (a.db, oracle.run))
    print("optuna_bench: sweep run %d of %s (%d paths, space %s, %s, %d images, error vs %s, "
          "max drop %g), true front hypervolume %.6g%s"
          % (oracle.run, a.db, len(oracle.meas), oracle.space, oracle.boards, oracle.n_images,
             oracle.objective, oracle.max_drop, true2,
             ", %.6g (error, latency, energy)" % true3 if true3 > 0 else ""))
    import optuna

    seeds = range(a.first_seed, a.first_seed + a.seeds)
    print("Optuna %s; %d seeds (%d..%d) per sampler; at most %d trials a study; %d jobs"
          % (optuna.__version__, a.seeds, seeds[0], seeds[-1], a.max_trials, a.jobs))
    sys.stdout.flush()
    tasks = [(a.db, oracle.run, s, seed, budgets, a.max_trials)
             for s in samplers for seed in seeds]
    t0 = time.time()
    results = {}
    if a.jobs > 1:
        with multiprocessing.Pool(a.jobs) as pool:
            for s, seed, r in pool.imap_unordered(_task, tasks):
                results[(s, seed)] = r
    else:
        for t in tasks:
            s, seed, r = _task(t)
            results[(s, seed)] = r
    columns = []
    for st in ("predict", "nsga2", "random"):
        if st in vk:
            d = {b: [vk[st][b][sd] for sd in sorted(vk[st][b])] for b in budgets if b in vk[st]}
            name = {"predict": "vitskip predict", "nsga2": "vitskip NSGA-II",
                    "random": "vitskip random"}[st]
            columns.append((name, {"trial": d, "cache": d}, sorted(vk[st][budgets[0]])))
    for s in samplers:
        d = {"trial": {}, "cache": {}}
        for acc in d:
            for b in budgets:
                d[acc][b] = [(100 * results[(s, sd)][acc][b][0] / true2,
                              100 * results[(s, sd)][acc][b][1] / true3 if true3 > 0 else -1)
                             for sd in seeds]
        columns.append((SAMPLER_TEXT[s], d, list(seeds)))
    print_tables(columns, budgets, a.seeds, true3 > 0)
    print("\nOptuna studies (trials to reach %d distinct genomes, seconds a study):"
          % budgets[-1])
    for s in samplers:
        rs = [results[(s, sd)] for sd in seeds]
        short = sum(r["distinct"] < budgets[-1] for r in rs)
        print("  %-32s trials mean %.1f max %d; %.2f s mean%s"
              % (SAMPLER_TEXT[s], sum(r["trials"] for r in rs) / len(rs),
                 max(r["trials"] for r in rs), sum(r["seconds"] for r in rs) / len(rs),
                 "; %d studies stopped at %d trials short of %d distinct"
                 % (short, a.max_trials, budgets[-1]) if short else ""))
    print("(%d studies in %.1f s; every figure is the sweep's: %s)"
          % (len(tasks), time.time() - t0, oracle.boards))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("method,accounting,seed,budget,hv_pct,hv3_pct\n")
            for name, d, sds in columns:
                for acc in ("trial", "cache"):
                    for b in budgets:
                        for sd, v in zip(sds, d[acc].get(b, [])):
                            f.write("%s,%s,%d,%d,%.6f,%.6f\n" % (name, acc, sd, b, v[0], v[1]))


def check_hv(db, run):
    """Recomputes run's hypervolume history from its measurements in order;
    prints the largest relative difference; 1 if above 1e-9."""
    o = Oracle(db, run)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    hist = con.execute("select n_evals, hypervolume, hypervolume3 from hv_history"
                       " where run_id = ? order by n_evals", (run,)).fetchall()
    con.close()
    if not hist:
        raise BenchError("%s: run %d has no hypervolume history" % (db, run))
    worst = 0.0
    for n, h2, h3 in hist:
        p2, p3 = o.hypervolumes(o.order[:n])
        for mine, theirs in ((p2, h2), (p3, h3 if h3 is not None else -1.0)):
            d = abs(mine - theirs) / max(abs(theirs), 1e-300) if theirs != mine else 0.0
            worst = max(worst, d)
    print("check-hv: run %d, %d records, largest relative difference %.3g" % (run, len(hist), worst))
    return 0 if worst <= 1e-9 else 1


def union(db, budgets):
    """Searches with no sweep (a space too large for one): every run of db
    is read with its measurements in order; the reference is the union of
    all of them (the paths any run measured), whose front no run may beat.
    Prints, per strategy, the hypervolume each run had after B measurements
    as a % of the union's: mean [worst, best] over its runs."""
    con = open_db(db)
    try:
        runs = con.execute("select id, strategy, seed from runs order by id").fetchall()
    except sqlite3.Error as e:
        raise BenchError("%s: not a vitskip database (%s)" % (db, e)) from None
    con.close()
    oracles = [(Oracle(db, r), st, seed) for r, st, seed in runs]
    if not oracles:
        raise BenchError("%s: holds no run" % db)
    o0 = oracles[0][0]
    for o, _, _ in oracles[1:]:
        same = (o.objective, o.max_drop, o.lat_budget, o.en_budget, o.space, o.n_images,
                o.full, o.meas[o.full])
        if same != (o0.objective, o0.max_drop, o0.lat_budget, o0.en_budget, o0.space,
                    o0.n_images, o0.full, o0.meas[o0.full]):
            raise BenchError("%s: run %d is not comparable with run %d (objective, "
                             "constraints, space, images or full path differ)"
                             % (db, o.run, o0.run))
    every = Oracle(db, o0.run)  # the union: every run's measurements
    for o, _, _ in oracles:
        every.meas.update(o.meas)
    u2, u3 = every.hypervolumes(list(every.meas))
    if not u2 > 0:
        raise BenchError("%s: no feasible path in any run" % db)
    table = {}
    for o, st, seed in oracles:
        if len(o.order) < budgets[-1]:
            raise BenchError("%s: run %d (%s, seed %d) measured %d paths, fewer than the "
                             "budget %d" % (db, o.run, st, seed, len(o.order), budgets[-1]))
        for b in budgets:
            h2, h3 = o.hypervolumes(o.order[:b])
            table.setdefault(st, {}).setdefault(b, []).append(
                (100 * h2 / u2, 100 * h3 / u3 if u3 > 0 else -1))
    print("optuna_bench --union: %d runs of %s (space %s, %s, %d images, error vs %s, max drop "
          "%g); the union of their %d paths has hypervolume %.6g%s"
          % (len(oracles), db, o0.space, o0.boards, o0.n_images, o0.objective, o0.max_drop,
             len(every.meas), u2, ", %.6g (error, latency, energy)" % u3 if u3 > 0 else ""))
    for k, what in ((0, "error vs the run's cost"), (1, "error, latency, energy")):
        if k == 1 and not u3 > 0:
            break
        print("\nhypervolume reached, %% of the union's (%s); mean [worst, best] over each "
              "strategy's runs" % what)
        names = sorted(table)
        print("| budget | " + " | ".join("%s (%d runs)" % (n, len(table[n][budgets[0]]))
                                        for n in names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for b in budgets:
            print("| %d | %s |" % (b, " | ".join(cell([v[k] for v in table[n][b]])
                                               for n in names)))
    return 0


def main(argv):
    p = argparse.ArgumentParser(
        prog="optuna_bench.py",
        description="Optuna's samplers against a vitskip sweep (the true front), beside "
        "vitskip's own strategies.")
    p.add_argument("--db", help="the sweep's database")
    p.add_argument("--run", type=int, help="the sweep run (default: the most paths)")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=1,
                   help="seeds run are FIRST-SEED .. FIRST-SEED + SEEDS - 1 (a long study "
                   "split over several machines; the CSVs concatenate)")
    p.add_argument("--budgets", default="16,32,64,128")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--max-trials", type=int, default=0,
                   help="trials a study may take to reach the largest budget in distinct "
                   "genomes (default 4 x that budget)")
    p.add_argument("--jobs", type=int, default=1, help="studies run in parallel")
    p.add_argument("--vitskip-csv", help="vitskip search-bench --csv output to show beside")
    p.add_argument("--csv", help="write every study's figures here")
    p.add_argument("--union", metavar="DB",
                   help="searches with no sweep: each run of DB against the union of "
                   "every run's measurements (a space too large to sweep)")
    p.add_argument("--check-hv", nargs=2, metavar=("DB", "RUN"),
                   help="recompute a run's stored hypervolume history and compare")
    a = p.parse_args(argv)
    try:
        if a.check_hv:
            try:
                run = int(a.check_hv[1])
            except ValueError:
                raise BenchError("--check-hv: RUN '%s' is not a number" % a.check_hv[1]) from None
            return check_hv(a.check_hv[0], run)
        if a.union:
            try:
                budgets = sorted(set(int(b) for b in a.budgets.split(",")))
            except ValueError:
                p.error("--budgets '%s': expected comma-separated counts" % a.budgets)
            if budgets[0] < 1:
                p.error("--budgets '%s': expected counts of at least 1" % a.budgets)
            return union(a.union, budgets)
        if not a.db:
            p.error("--db is required")
        if a.seeds < 1 or a.jobs < 1 or a.first_seed < 1:
            p.error("--seeds, --first-seed and --jobs must be at least 1")
        try:
            top = max(int(b) for b in a.budgets.split(","))
        except ValueError:
            p.error("--budgets '%s': expected comma-separated counts" % a.budgets)
        if a.max_trials <= 0:
            a.max_trials = 4 * top
        bench(a)
    except BenchError as e:
        print("optuna_bench: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
