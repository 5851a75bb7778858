"""Checks a rendered `vitskip report` (Chromium's --dump-dom) against the
database it was made from, reading the database on its own (SQL here, the
front recomputed here), for tests/test_report.sh.

usage: report_check.py DB DOM.html REPORT.html RUN...
Prints each mismatch; exit status 1 if there is any."""
import sqlite3
import struct
import sys
from html.parser import HTMLParser

OBJS = ("latency", "energy", "edp")
bad = []


def expect(cond, what):
    if not cond:
        bad.append(what)


class Dom(HTMLParser):
    """Points, labels, heat-map cells, stage bars and table rows by run."""

    def __init__(self):
        super().__init__()
        self.svg = None  # (class, run, obj) of the open svg
        self.pts = {}  # (run, obj) -> [(config, kind, src)]
        self.opt = {}  # obj -> [(run, config)]: overlay points
        self.lbl = {}  # (run, obj) -> [text]
        self.hm = {}  # run -> [mode]
        self.stages = {}  # run -> bars
        self.rows = {}  # run -> [config]
        self.tags = set()
        self.attrs = set()
        self.in_lbl = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.attrs.update(k for k in a)
        cls = a.get("class", "")
        if tag == "svg":
            self.svg = (cls, a.get("data-run"), a.get("data-obj"))
        elif tag == "g" and cls == "pt":
            expect(self.svg and self.svg[0] == "pareto" and self.svg[1] == a["data-run"]
                   and self.svg[2] == a["data-obj"], "a point outside its plot: %s" % a)
            self.pts.setdefault((a["data-run"], a["data-obj"]), []).append(
                (a["data-config"], a["data-kind"], a["data-src"]))
        elif tag == "g" and cls == "opt":
            self.opt.setdefault(a["data-obj"], []).append((a["data-run"], a["data-config"]))
        elif tag == "text" and cls == "lbl":
            self.in_lbl = True
        elif tag == "rect" and cls == "hm":
            self.hm.setdefault(self.svg[1], []).append(a["data-mode"])
        elif tag == "rect" and cls == "stage" and self.svg[0] == "stages":
            self.stages[self.svg[1]] = self.stages.get(self.svg[1], 0) + 1
        elif tag == "tr" and cls == "row":
            self.rows.setdefault(a["data-run"], []).append(a["data-config"])

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None
        if tag == "text":
            self.in_lbl = False

    def handle_data(self, data):
        if self.in_lbl and self.svg and self.svg[0] == "pareto":
            self.lbl.setdefault((self.svg[1], self.svg[2]), []).append(data)


def main():
    db, dom_path, html_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    replays = c.execute("select config, model_hash, latency_src, energy_src from replays").fetchall()
    dom = Dom()
    dom.feed(open(dom_path, encoding="utf-8").read())
    html = open(html_path, encoding="utf-8").read()

    # self-contained: no script, nothing loaded from anywhere
    for t in ("script", "img", "link", "iframe", "object"):
        expect(t not in dom.tags, "the report has a <%s>" % t)
    for a in ("src", "href"):
        expect(a not in dom.attrs, "the report has a %s= attribute" % a)
    expect("&lt;script&gt;alert(1)&lt;/script&gt;models/demo" in html,
           "the tampered model name is not escaped")

    for run in runs:
        obj_run, drop, lb, eb, mh = c.execute(
            "select objective, max_acc_drop, latency_budget_ms, energy_budget_mj, model_hash "
            "from runs where id=?", (run,)).fetchone()
        paths = c.execute(
            "select p.id, p.genome, p.top1, p.latency_ms, p.latency_src, p.energy_mj, "
            "p.energy_src, p.stage_cycles from run_paths r join paths p on p.id = r.path_id "
            "where r.run_id=? order by r.seq", (run,)).fetchall()
        full = next(p for p in paths if set(p[1]) == {"F"})
        srcs = {p[0]: (p[4], p[6]) for p in paths}

        def feasible(top1, lat, en):
            return not ((drop >= 0 and full[2] - top1 > drop) or (lb > 0 and lat > lb)
                        or (eb > 0 and en > eb))

        def cost(lat, lsrc, en, esrc, obj):
            if obj == "latency":
                return lat if lsrc != "none" else None
            if obj == "energy":
                return en if esrc != "none" else None
            return lat * en if lsrc != "none" and esrc != "none" else None

        def src(lsrc, esrc, obj):
            if obj == "latency":
                return lsrc
            if obj == "energy":
                return esrc
            return "measured" if lsrc == esrc == "measured" else "modeled"

        cascades = c.execute("select id, low, top1, latency_ms, energy_mj from cascades "
                             "where run_id=?", (run,)).fetchall()
        configs = {"P%d" % p[0] for p in paths} | {"C%d" % x[0] for x in cascades}
        fronts = {}
        for obj in OBJS:
            pts = [(p, cost(p[3], p[4], p[5], p[6], obj)) for p in paths]
            pts = [(p, k) for p, k in pts if k is not None]
            fe = [(p, k) for p, k in pts if feasible(p[2], p[3], p[5])]
            front = {p[0] for p, k in fe
                     if not any((100 - q[2] <= 100 - p[2] and kq <= k)
                                and (q[2] > p[2] or kq < k) for q, kq in fe)}
            fronts[obj] = [p for p, k in sorted(fe, key=lambda x: x[1]) if p[0] in front]
            want = []
            for p, k in pts:
                kind = ("full" if p is full else "front" if p[0] in front
                        else "feasible" if feasible(p[2], p[3], p[5]) else "infeasible")
                want.append(("P%d" % p[0], kind, src(p[4], p[6], obj)))
            for x in cascades:
                lsrc, esrc = srcs[x[1]]
                if cost(x[3], lsrc, x[4], esrc, obj) is not None:
                    want.append(("C%d" % x[0], "cascade", src(lsrc, esrc, obj)))
            for cfg, h, lsrc, esrc in replays:
                if cfg in configs and h == mh and cost(1, lsrc, 1, esrc, obj) is not None:
                    want.append((cfg, "replay", src(lsrc, esrc, obj)))
            got = dom.pts.get((run, obj), [])
            expect(sorted(got) == sorted(want), "run %s %s: points %s, expected %s" %
                   (run, obj, sorted(got), sorted(want)))
            labels = sorted(["P%d" % p[0] for p in fronts[obj] if p is not full] +
                            (["P%d" % full[0]] if pts else []))
            expect(sorted(dom.lbl.get((run, obj), [])) == labels,
                   "run %s %s: labels %s, expected %s" % (run, obj, dom.lbl.get((run, obj)), labels))
            print("report_check: run %s %s: %d points (%d front, %d cascades, %d replays)" % (
                run, obj, len(got), sum(1 for g in got if g[1] == "front"),
                sum(1 for g in got if g[1] == "cascade"), sum(1 for g in got if g[1] == "replay")))
            if len(runs) > 1 and pts:
                opt = sorted(cf for r, cf in dom.opt.get(obj, []) if r == run)
                expect(opt == sorted("P%d" % p[0] for p in fronts[obj]),
                       "run %s %s: overlay %s" % (run, obj, opt))
        # heat map: the front of the run's objective, one cell per encoder
        front = fronts[obj_run]
        expect(dom.hm.get(run, []) == [m for p in front for m in p[1]],
               "run %s: heat map %s, front %s" % (run, dom.hm.get(run), [p[1] for p in front]))
        # stage bars of the cheapest feasible front path, when stages are stored
        chosen = front[0]
        blob = chosen[7] or b""
        stages = struct.unpack("<%dQ" % (len(blob) // 8), blob[:len(blob) // 8 * 8])
        expect(dom.stages.get(run, 0) == (len(stages) if any(stages) else 0),
               "run %s: %d stage bars for P%d" % (run, dom.stages.get(run, 0), chosen[0]))
        rows = ["P%d" % p[0] for p in front] + ["C%d" % x[0] for x in cascades]
        expect(sorted(dom.rows.get(run, [])) == sorted(rows),
               "run %s: table rows %s, expected %s" % (run, dom.rows.get(run), rows))
        expect(any(k == "replay" for k in [g[1] for g in dom.pts.get((run, "latency"), [])])
               or run != runs[0], "run %s: no replay plotted" % run)
    for b in bad:
        print("report_check: FAIL: %s" % b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
