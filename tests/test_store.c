/* test_store: the SQLite store — dedup across runs, refusal of newer,
 * foreign and non-SQLite files (left byte-identical), migration from
 * schema versions 1, 2, 3, 6 and 7, the online backup, the read-only open (refuses
 * a missing file without creating it, reads, cannot write), the replay
 * list, removing a run (measurements kept unless asked), and crash
 * safety: a
 * child inserting measurements is killed with SIGKILL at random moments;
 * after every kill the database passes integrity_check, every row is whole
 * and no path is duplicated, and inserting resumes where it stopped.
 * Concurrency and faults, with real processes and real file systems:
 * processes opening a fresh file at once and storing the same path; a
 * lock held by another process (waited for, with a message, or given up
 * after the bound); a full disk (a small tmpfs in a private mount
 * namespace) and a read-only file (a read-only bind mount); rows of a
 * foreign or tampered file refused on read. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/vk_store.h"
#include "tests/vk_test.h"

#define N_IMG 200
#define HM "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1" /* model hash */
#define HD "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2" /* data hash */

static char dir[] = "/tmp/vk_store_XXXXXX";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Genome number i (0..4095) as 12 letters of F and S. */
static void genome_of(int i, char g[13])
{
    for (int k = 0; k < 12; k++)
        g[k] = (i >> k) & 1 ? 'S' : 'F';
    g[12] = 0;
}

/* Runs python code with c, an autocommit connection to db; `&` in bg
 * runs it in the background. Returns the shell's status. */
static int py_bg(const char *db, const char *code, const char *bg)
{
    char script[300], cmd[1024];
    static int n;
    snprintf(script, sizeof script, "%s/py%d.py", dir, n++);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fprintf(f, "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], "
            "isolation_level=None)\n%s\n", code);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s '%s' %s", script, db, bg);
    return system(cmd);
}

static int py(const char *db, const char *code)
{
    return py_bg(db, code, "");
}

/* A copy of db (copy[300], named NAME.db in the scratch folder) with sql
 * applied to it; 0 on success. */
static int tampered_copy(const char *db, const char *name, const char *sql, char *copy)
{
    char code[1024];
    snprintf(copy, 300, "%s/%s.db", dir, name);
    snprintf(code, sizeof code, "c.execute(\"VACUUM INTO '%s'\")\n"
             "d = sqlite3.connect('%s', isolation_level=None)\nd.execute(\"%s\")", copy, copy,
             sql);
    return py(db, code);
}

static void make_rec(vk_path_rec *r, const char *genome, vk_img_result *res)
{
    memset(r, 0, sizeof *r);
    snprintf(r->genome, sizeof r->genome, "%s", genome);
    snprintf(r->board, sizeof r->board, "sim");
    r->top1 = 80 + genome[0] % 7;
    r->m.n_images = N_IMG;
    r->m.latency_ms = 1.5;
    r->m.latency_src = VK_SRC_MODELED;
    r->m.energy_src = VK_SRC_MODELED;
    r->m.suffix_ms[2] = 0.75;
    for (int i = 0; i < N_IMG; i++) {
        res[i].cls = (i * 7 + genome[1]) % 10;
        res[i].entropy_q16 = i * 1000 - 5;
    }
    r->res = res;
}

static void test_dedup_roundtrip(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info r1 = {0}, r2 = {0};
    vk_img_result res[N_IMG];
    vk_path_rec rec, got;
    int found = 0;
    snprintf(path, sizeof path, "%s/a.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r1.model_hash, HM);
    strcpy(r1.data_hash, HD);
    CHECK_EQ_INT(vk_store_run_create(db, &r1, &err), VK_OK);
    r2 = r1;
    CHECK_EQ_INT(vk_store_run_create(db, &r2, &err), VK_OK);
    CHECK(r2.id != r1.id);
    make_rec(&rec, "FSFS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r1.id, HM, HD, &rec, N_IMG, &err), VK_OK);
    /* the second run finds it; another dataset does not */
    CHECK_EQ_INT(vk_store_path_find(db, HM, HD, "sim", "FSFS", N_IMG, &got, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 1);
    CHECK(got.id == rec.id && got.top1 == rec.top1 && got.m.suffix_ms[2] == 0.75);
    CHECK_EQ_INT(got.m.latency_src, VK_SRC_MODELED);
    int same = 1;
    for (int i = 0; i < N_IMG; i++)
        same &= got.res[i].cls == res[i].cls && got.res[i].entropy_q16 == res[i].entropy_q16;
    CHECK(same);
    vk_store_rec_free(&got);
    CHECK_EQ_INT(vk_store_path_find(db, HM, "d3", "sim", "FSFS", N_IMG, &got, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0);
    /* inserting the same path again uses the stored row (its id, figures and
       per-image results), for the second run too */
    vk_img_result res2[N_IMG];
    vk_path_rec again;
    make_rec(&again, "FSFS", res2);
    again.top1 = 12.5;
    res2[3].cls = 9999;
    CHECK_EQ_INT(vk_store_path_insert(db, r2.id, HM, HD, &again, N_IMG, &err), VK_OK);
    CHECK(again.id == rec.id && again.top1 == rec.top1 && again.res == res2 &&
          res2[3].cls == res[3].cls);
    int64_t *ids;
    int n;
    CHECK_EQ_INT(vk_store_run_paths(db, r2.id, &ids, &n, &err), VK_OK);
    CHECK(n == 1 && ids[0] == rec.id);
    free(ids);
    CHECK_EQ_INT(vk_store_run_eval(db, r2.id, rec.id, &err), VK_OK); /* idempotent */
    CHECK_EQ_INT(vk_store_run_paths(db, r2.id, &ids, &n, &err), VK_OK);
    CHECK(n == 1 && ids[0] == rec.id);
    free(ids);
    CHECK_EQ_INT(vk_store_attempt(db, r2.id, "SSSS", "http://x", 0, "timeout", &err), VK_OK);
    int ok, failed;
    vk_store_attempt_count(db, r2.id, &ok, &failed, &err);
    CHECK(ok == 0 && failed == 1);
    vk_run_info back;
    CHECK_EQ_INT(vk_store_run_get(db, 999, &back, &err), VK_E_NOTFOUND);
    vk_store_close(db);
}

static size_t file_bytes(const char *p, char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void test_refusals(void)
{
    char path[256], cmd[1024], before[65536], after[65536];
    vk_store *db;
    vk_err err = {{0}};
    snprintf(path, sizeof path, "%s/new.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    vk_store_close(db);
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'PRAGMA user_version=%d' 2>/dev/null || python3 -c "
             "\"import sqlite3; c=sqlite3.connect('%s'); c.execute('PRAGMA user_version=%d'); "
             "c.commit()\"", path, VK_STORE_SCHEMA + 1, path, VK_STORE_SCHEMA + 1);
    CHECK_EQ_INT(system(cmd), 0);
    size_t nb = file_bytes(path, before, sizeof before);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "newer");
    CHECK(nb == file_bytes(path, after, sizeof after) && !memcmp(before, after, nb));

    snprintf(path, sizeof path, "%s/other.db", dir);
    snprintf(cmd, sizeof cmd, "python3 -c \"import sqlite3; c=sqlite3.connect('%s'); "
             "c.execute('create table t(x)'); c.commit()\"", path);
    CHECK_EQ_INT(system(cmd), 0);
    nb = file_bytes(path, before, sizeof before);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "not a vitskip");
    CHECK(nb == file_bytes(path, after, sizeof after) && !memcmp(before, after, nb));

    snprintf(path, sizeof path, "%s/text.db", dir);
    FILE *f = fopen(path, "w");
    fputs("hello, this is not a database at all, just some text\n", f);
    fclose(f);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "text.db");
}

/* A version-1 database (made by downgrading a new one: the columns and
 * keys versions 2 and 3 added dropped) is migrated on open with its rows kept; the 3-objective
 * hypervolume reads back as "not available" for old rows. The online
 * backup copies everything. */
static void test_migration_backup(void)
{
    char path[256], copy[256], cmd[1024];
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info r, g;
    double hv = 0, hv3 = 0;
    int found = 0;
    snprintf(path, sizeof path, "%s/v1.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    memset(&r, 0, sizeof r);
    snprintf(r.model_hash, sizeof r.model_hash, HM);
    snprintf(r.data_hash, sizeof r.data_hash, HD);
    snprintf(r.strategy, sizeof r.strategy, "random");
    snprintf(r.space, sizeof r.space, "FSRH:k100,70:f0,50");
    snprintf(r.seed_genomes, sizeof r.seed_genomes, "FH:k70FR,SSSF");
    r.population = 9;
    r.offspring = 3;
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    CHECK_EQ_INT(vk_store_hv(db, r.id, 5, 12.5, 3.25, &err), VK_OK);
    CHECK_EQ_INT(vk_store_hv(db, r.id, 6, 13.5, -1, &err), VK_OK);
    CHECK_EQ_INT(vk_store_hv_at(db, r.id, 5, &hv, &hv3, &found, &err), VK_OK);
    CHECK(found && hv == 12.5 && hv3 == 3.25);
    CHECK_EQ_INT(vk_store_hv_at(db, r.id, 6, &hv, &hv3, &found, &err), VK_OK);
    CHECK(found && hv == 13.5 && hv3 == -1);
    CHECK_EQ_INT(vk_store_hv_at(db, r.id, 7, &hv, &hv3, &found, &err), VK_OK);
    CHECK(!found);
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    CHECK_EQ_INT(vk_store_backup(db, copy, &err), VK_OK);
    vk_store_close(db);
    CHECK_EQ_INT(vk_store_open(copy, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
    CHECK(!strcmp(g.strategy, "random") && g.population == 9 && g.offspring == 3);
    CHECK(!strcmp(g.space, "FSRH:k100,70:f0,50"));
    CHECK(!strcmp(g.seed_genomes, "FH:k70FR,SSSF"));
    vk_store_close(db);

    snprintf(cmd, sizeof cmd, "python3 -c \"import sqlite3; c=sqlite3.connect('%s'); "
             "c.executescript('DROP TABLE finetunes; DROP INDEX hv_history_key; "
             "DROP INDEX cascades_key; ALTER TABLE runs DROP COLUMN strategy; ALTER TABLE runs DROP COLUMN "
             "offspring; ALTER TABLE runs DROP COLUMN space; ALTER TABLE runs DROP COLUMN "
             "seed_genomes; ALTER TABLE hv_history "
             "DROP COLUMN hypervolume3; ALTER TABLE runs DROP COLUMN val; ALTER TABLE runs "
             "DROP COLUMN test_hash; ALTER TABLE runs DROP COLUMN n_test; DROP TABLE "
             "path_tests; ALTER TABLE cascades DROP COLUMN top1_test; ALTER TABLE cascades "
             "DROP COLUMN escalated_test; ALTER TABLE runs DROP COLUMN test; "
             "ALTER TABLE runs DROP COLUMN proxy_n; PRAGMA user_version=1;')\"", path);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
    CHECK(!strcmp(g.strategy, "nsga2")); /* runs before version 2 were NSGA-II, */
    CHECK_EQ_INT(g.offspring, 9);         /* breeding a population per generation */
    CHECK(!strcmp(g.space, "FS")); /* and searched PIVOT's space */
    CHECK(!strcmp(g.seed_genomes, ""));
    CHECK_EQ_INT(g.proxy_n, 0); /* no accuracy proxy */
    CHECK_EQ_INT(vk_store_hv_at(db, r.id, 5, &hv, &hv3, &found, &err), VK_OK);
    CHECK(found && hv == 12.5 && hv3 == -1);
    CHECK_EQ_INT(vk_store_hv(db, r.id, 7, 14, 4, &err), VK_OK);
    vk_store_close(db);
    snprintf(cmd, sizeof cmd, "python3 -c \"import sqlite3,sys; c=sqlite3.connect('%s'); "
             "sys.exit(0 if c.execute('PRAGMA user_version').fetchone()[0] == %d else 1)\"",
             path, VK_STORE_SCHEMA);
    CHECK_EQ_INT(system(cmd), 0);
}

/* Child: inserts paths "0000".."nnnn" in order, skipping those present. */
/* Inserts genome_of(0..4095) not yet stored; after its first stored one it
 * writes a byte to fd (when fd >= 0), so the parent can kill it later. */
static void child_insert(const char *path, int fd)
{
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    if (vk_store_open(path, &db, &err) != VK_OK)
        _exit(3);
    for (int i = 0, told = 0; i < 4096; i++) {
        if (!told && fd >= 0 && i > 0) {
            told = write(fd, "x", 1) == 1;
            close(fd);
        }
        char g[16];
        vk_path_rec rec, got;
        int found = 0;
        genome_of(i, g);
        if (vk_store_path_find(db, HM, HD, "sim", g, N_IMG, &got, &found, &err) != VK_OK)
            _exit(4);
        if (found) {
            vk_store_rec_free(&got);
            continue;
        }
        make_rec(&rec, g, res);
        if (vk_store_path_insert(db, 0, HM, HD, &rec, N_IMG, &err) != VK_OK)
            _exit(5);
    }
    _exit(0);
}

static void test_kill_loop(void)
{
    char path[256];
    int prev = 0, kills = 0;
    snprintf(path, sizeof path, "%s/kill.db", dir);
    /* fixed, so a failure replays the same kill delays (printed on failure) */
    vk_test_seed("kill delays", 20240917);
    srand(20240917);
    for (int it = 0; it < 25; it++) {
        /* every other kill after the child's first stored measurement, so
           that some survive however slow the machine; the others at any
           moment from the start */
        int pfd[2] = {-1, -1};
        if (it % 2 && pipe(pfd) != 0)
            pfd[0] = pfd[1] = -1;
        pid_t pid = fork();
        if (pid == 0) {
            if (pfd[0] >= 0)
                close(pfd[0]);
            child_insert(path, pfd[1]);
        }
        if (pfd[0] >= 0) {
            struct pollfd pf = {pfd[0], POLLIN, 0};
            char b;
            close(pfd[1]);
            if (poll(&pf, 1, 30000) == 1 && read(pfd[0], &b, 1) != 1)
                b = 0;
            close(pfd[0]);
        }
        usleep(20000 + (useconds_t)(rand() % 80000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        kills += WIFSIGNALED(st);
        vk_store *db = NULL;
        vk_err err = {{0}};
        int n = -1;
        CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
        if (!db) { /* reported; the next kill tries again */
            fprintf(stderr, "kill %d: %s\n", it, err.msg);
            continue;
        }
        CHECK_EQ_INT(vk_store_check(db, &n, &err), VK_OK);
        if (err.msg[0])
            fprintf(stderr, "%s\n", err.msg);
        /* monotone, and paths are the prefix of genome_of's order: nothing lost, nothing twice */
        CHECK(n >= prev);
        vk_path_rec got;
        int found = 0;
        char g[16];
        genome_of(n > 0 ? n - 1 : 0, g);
        if (n > 0) {
            CHECK_EQ_INT(vk_store_path_find(db, HM, HD, "sim", g, N_IMG, &got, &found, &err), VK_OK);
            CHECK_EQ_INT(found, 1);
            if (found)
                vk_store_rec_free(&got);
        }
        prev = n;
        vk_store_close(db);
    }
    printf("kill loop: %d SIGKILLs, %d measurements survived, integrity ok after each\n", kills,
           prev);
    CHECK(kills >= 20);
    CHECK(prev > 0);
}

/* The read-only open: a missing file is refused and not created, an empty
 * one is refused; an existing database reads (runs, replays in order) and
 * refuses writes, leaving the file as it was. */
static void test_readonly_replays(void)
{
    char path[256], before[65536], after[65536];
    vk_store *db = NULL, *ro = NULL;
    vk_err err = {{0}};
    vk_run_info r = {0};
    vk_measure m = {0};
    vk_replay_rec *rep = NULL;
    int n = -1;
    snprintf(path, sizeof path, "%s/ro-missing.db", dir);
    CHECK_EQ_INT(vk_store_open_readonly(path, &ro, &err), VK_E_NOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "no such database");
    CHECK(ro == NULL && access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/ro-empty.db", dir);
    fclose(fopen(path, "w"));
    CHECK_EQ_INT(vk_store_open_readonly(path, &ro, &err), VK_E_FORMAT);

    snprintf(path, sizeof path, "%s/ro.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    m.latency_ms = 2.5;
    m.latency_src = VK_SRC_MEASURED;
    m.energy_src = VK_SRC_NONE;
    snprintf(m.note, sizeof m.note, "host clock");
    CHECK_EQ_INT(vk_store_replay_insert(db, "P7", "cpu", HM, 81.5, &m, &err), VK_OK);
    m.latency_src = VK_SRC_MODELED;
    m.energy_mj = 3;
    m.energy_src = VK_SRC_MODELED;
    CHECK_EQ_INT(vk_store_replay_insert(db, "C2", "sim", HM, 82, &m, &err), VK_OK);
    vk_store_close(db);

    size_t nb = file_bytes(path, before, sizeof before);
    CHECK_EQ_INT(vk_store_open_readonly(path, &ro, &err), VK_OK);
    int64_t *ids = NULL;
    int n_ids = 0;
    CHECK_EQ_INT(vk_store_run_list(ro, &ids, &n_ids, &err), VK_OK);
    CHECK(n_ids == 1 && ids[0] == r.id);
    free(ids);
    CHECK_EQ_INT(vk_store_replay_list(ro, &rep, &n, &err), VK_OK);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK(!strcmp(rep[0].config, "P7") && !strcmp(rep[0].board, "cpu") &&
              rep[0].top1 == 81.5 && rep[0].latency_ms == 2.5);
        CHECK(rep[0].latency_src == VK_SRC_MEASURED && rep[0].energy_src == VK_SRC_NONE);
        CHECK(!strcmp(rep[1].config, "C2") && rep[1].energy_src == VK_SRC_MODELED &&
              rep[1].energy_mj == 3 && !strcmp(rep[1].note, "host clock"));
        CHECK(!strcmp(rep[1].model_hash, HM));
    }
    free(rep);
    /* an energy the board did not give is NULL, not 0 */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test \"$(sqlite3 %s \"select count(*) from replays where "
             "energy_mj is null and energy_src = 'none'\")\" = 1", path);
    CHECK_EQ_INT(system(cmd), 0);
    vk_run_info r2 = r;
    CHECK(vk_store_run_create(ro, &r2, &err) != VK_OK);
    CHECK(vk_store_run_set_status(ro, r.id, "done", &err) != VK_OK);
    vk_store_close(ro);
    CHECK(nb == file_bytes(path, after, sizeof after) && !memcmp(before, after, nb));
}

/* Item 5 of issue 15: N processes open one fresh file at the same moment
 * (released together through a pipe), each creates a run and stores the
 * same path: every one succeeds, the schema is created once, the path is
 * stored once and linked to every run. */
/* One round: N processes open the fresh file path at once, each stores a
 * run and a path when store is set; all must succeed and agree on one
 * schema. */
static void concurrent_first_open(const char *path, int store)
{
    enum { N = 8 };
    int go[2];
    pid_t kids[N];
    CHECK_EQ_INT(pipe(go), 0);
    for (int k = 0; k < N; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char c;
            vk_store *db;
            vk_err err = {{0}};
            vk_run_info r = {0};
            vk_img_result res[N_IMG];
            vk_path_rec rec;
            close(go[1]);
            if (read(go[0], &c, 1) != 0) /* EOF: the parent let us go */
                _exit(9);
            if (vk_store_open(path, &db, &err) != VK_OK) {
                fprintf(stderr, "child %d: open: %s\n", k, err.msg);
                _exit(3);
            }
            if (!store) {
                vk_store_close(db);
                _exit(0);
            }
            strcpy(r.model_hash, HM);
            strcpy(r.data_hash, HD);
            make_rec(&rec, "FSFSFSFS", res);
            if (vk_store_run_create(db, &r, &err) != VK_OK ||
                vk_store_path_insert(db, r.id, HM, HD, &rec, N_IMG, &err) != VK_OK) {
                fprintf(stderr, "child %d: %s\n", k, err.msg);
                _exit(4);
            }
            vk_store_close(db);
            _exit(0);
        }
    }
    close(go[0]);
    usleep(20000);
    close(go[1]);
    int ok = 0;
    for (int k = 0; k < N; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK_EQ_INT(ok, N);
    vk_store *db;
    vk_err err = {{0}};
    int n = 0;
    int64_t *runs;
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_check(db, &n, &err), VK_OK);
    CHECK_EQ_INT(n, store ? 1 : 0);
    CHECK_EQ_INT(vk_store_run_list(db, &runs, &n, &err), VK_OK);
    CHECK_EQ_INT(n, store ? N : 0);
    for (int k = 0; k < n; k++) {
        int64_t *ids;
        int m = 0;
        CHECK_EQ_INT(vk_store_run_paths(db, runs[k], &ids, &m, &err), VK_OK);
        CHECK_EQ_INT(m, 1);
        free(ids);
    }
    free(runs);
    vk_store_close(db);
}

/* Many rounds: the WAL switch of a fresh file raced (SQLite answers BUSY
 * without waiting, or finds the journal already deleted) in about one
 * open of twenty when the processes only open; one round that also stores
 * let the failure through CI. */
static void test_concurrent_first_open(void)
{
    for (int r = 0; r < 60; r++) {
        char path[256];
        snprintf(path, sizeof path, "%s/race%d.db", dir, r);
        concurrent_first_open(path, r % 10 == 0);
    }
}

/* Runs f with stderr sent to file log; returns f's status. */
static vk_status with_stderr(const char *log, vk_status (*f)(void *), void *ctx)
{
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
    vk_status rc = f(ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

typedef struct {
    vk_store *db;
    vk_path_rec *rec;
    vk_err err;
} insert_ctx;

static vk_status do_insert(void *p)
{
    insert_ctx *c = p;
    return vk_store_path_insert(c->db, 0, HM, HD, c->rec, N_IMG, &c->err);
}

typedef struct {
    const char *path;
    vk_store *db;
    vk_err err;
} open_ctx;

static vk_status do_open(void *p)
{
    open_ctx *c = p;
    return vk_store_open(c->path, &c->db, &c->err);
}

/* Starts a python process that holds the write lock on db for `hold`
 * seconds (exclusive: readers are locked out too when `exclusive`); returns
 * once it holds it. */
static void hold_lock(const char *db, double hold, int exclusive)
{
    char code[1024], ready[300];
    snprintf(ready, sizeof ready, "%s.locked", db);
    unlink(ready);
    snprintf(code, sizeof code,
             "%s\nc.execute('BEGIN %s')\nc.execute(\"INSERT INTO meta VALUES('lock', 'x')\")\n"
             "open('%s', 'w').close()\ntime.sleep(%g)\nc.execute('ROLLBACK')",
             exclusive ? "c.execute('PRAGMA locking_mode=EXCLUSIVE')" : "",
             exclusive ? "EXCLUSIVE" : "IMMEDIATE", ready, hold);
    CHECK_EQ_INT(py_bg(db, code, "&"), 0);
    for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
        usleep(10000);
    CHECK_EQ_INT(access(ready, F_OK), 0);
}

static char *slurp(const char *p, char *buf, size_t cap)
{
    size_t n = file_bytes(p, buf, cap - 1);
    buf[n] = 0;
    return buf;
}

/* Item 6 of issue 15: a measurement stored while another process holds the
 * write lock for 6 s (longer than SQLite's old 5 s timeout) waits, says so
 * on stderr, and is stored; with a 1 s bound it gives up with VK_E_BUSY
 * naming the database. An exclusively locked file is waited for on open,
 * never called "not an SQLite database". */
static void test_locked(void)
{
    char path[256], log[300], buf[4096];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    vk_path_rec rec;
    snprintf(path, sizeof path, "%s/locked.db", dir);
    snprintf(log, sizeof log, "%s/locked.log", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    hold_lock(path, 6, 0);
    make_rec(&rec, "FFFF", res);
    insert_ctx ic = {.db = db, .rec = &rec};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(with_stderr(log, do_insert, &ic), VK_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec >= 4);
    CHECK_STR_CONTAINS(slurp(log, buf, sizeof buf), "locked by another process; waiting");
    CHECK_STR_CONTAINS(buf, "locked.db");
    CHECK(rec.id > 0);

    vk_store_set_wait(db, 1);
    hold_lock(path, 2, 0);
    make_rec(&rec, "SSSS", res);
    ic.err.msg[0] = 0;
    CHECK_EQ_INT(with_stderr(log, do_insert, &ic), VK_E_BUSY);
    CHECK_STR_CONTAINS(ic.err.msg, "locked.db");
    CHECK_STR_CONTAINS(ic.err.msg, "locked by another process");
    vk_store_close(db);
    sleep(2);

    hold_lock(path, 2, 1);
    open_ctx oc = {.path = path};
    CHECK_EQ_INT(with_stderr(log, do_open, &oc), VK_OK);
    CHECK(!strstr(oc.err.msg, "not an SQLite database"));
    if (oc.db) {
        int n = 0;
        CHECK_EQ_INT(vk_store_check(oc.db, &n, &err), VK_OK);
        CHECK_EQ_INT(n, 1);
        vk_store_close(oc.db);
    }
}

/* In a private mount namespace (so nothing is visible outside this
 * process): a tmpfs of `kb` KiB on dir/mnt. Returns 0 when the kernel or
 * our privileges do not allow it. */
static int private_tmpfs(const char *mnt, int kb)
{
    char opt[32];
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 0;
    mkdir(mnt, 0755);
    snprintf(opt, sizeof opt, "size=%dk", kb);
    return mount("tmpfs", mnt, "tmpfs", 0, opt) == 0;
}

/* Item 6 of issue 15, a real full disk: in a child, measurements are stored
 * on a 256 KiB tmpfs until it is full. The failing insert says the disk is
 * full and names the database (VK_E_IO); every measurement stored before
 * is there, whole, after reopening. Then a read-only bind mount of the
 * file: open or write fails with VK_E_IO, "read-only", the file's name,
 * and never "not an SQLite database". */
static void test_full_disk_read_only(void)
{
    char mnt[256];
    snprintf(mnt, sizeof mnt, "%s/mnt", dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char path[300];
        vk_store *db;
        vk_err err = {{0}};
        vk_img_result res[N_IMG];
        int stored = 0, n = -1;
        vk_status rc = VK_OK;
        if (!private_tmpfs(mnt, 256))
            _exit(77);
        snprintf(path, sizeof path, "%s/full.db", mnt);
        if (vk_store_open(path, &db, &err) != VK_OK)
            _exit(3);
        for (int i = 0; i < 4096 && rc == VK_OK; i++) {
            char g[13];
            vk_path_rec rec;
            genome_of(i, g);
            make_rec(&rec, g, res);
            rc = vk_store_path_insert(db, 0, HM, HD, &rec, N_IMG, &err);
            stored += rc == VK_OK;
        }
        printf("full disk: %d measurements stored, then: %s\n", stored, err.msg);
        fflush(stdout);
        if (rc != VK_E_IO || !strstr(err.msg, "disk is full") || !strstr(err.msg, "full.db"))
            _exit(4);
        vk_store_close(db);
        if (vk_store_open(path, &db, &err) != VK_OK || vk_store_check(db, &n, &err) != VK_OK ||
            n != stored) {
            printf("after reopening: %d paths of %d: %s\n", n, stored, err.msg);
            fflush(stdout);
            _exit(5);
        }
        vk_store_close(db);
        /* read-only: the same file bind-mounted read-only onto itself */
        if (mount(path, path, NULL, MS_BIND, NULL) != 0 ||
            mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
            _exit(6);
        rc = vk_store_open(path, &db, &err);
        if (rc == VK_OK) {
            vk_run_info r = {0};
            strcpy(r.model_hash, HM);
            strcpy(r.data_hash, HD);
            rc = vk_store_run_create(db, &r, &err);
            vk_store_close(db);
        }
        printf("read-only: %s\n", err.msg);
        fflush(stdout);
        if (rc != VK_E_IO || !strstr(err.msg, "read-only") || !strstr(err.msg, "full.db") ||
            strstr(err.msg, "not an SQLite"))
            _exit(7);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        SKIP("full disk: no private mount namespace here (not root?)");
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "full disk / read-only child: status %d\n", WEXITSTATUS(st));
}

/* Item 7 of issue 15: content of a foreign or tampered file is refused on
 * read, naming the row, before it reaches a caller: meta('app', NULL), a
 * genome longer than VK_MAX_LAYERS or of other letters, NULL or
 * non-printable text, a hash that is not hex, non-finite or negative
 * figures, a cascade resuming past the last encoder. */
static void test_tampered(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    vk_path_rec rec, got;
    vk_run_info r = {0};
    char code[4096];
    snprintf(path, sizeof path, "%s/foreign.db", dir);
    CHECK_EQ_INT(py(path, "c.execute('create table meta(key, value)')\n"
                          "c.execute(\"insert into meta values('app', NULL)\")"), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "not a vitskip one");

    snprintf(path, sizeof path, "%s/tampered.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    make_rec(&rec, "FSFSFSFS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &rec, N_IMG, &err), VK_OK);
    vk_cascade_rec c = {.run_id = r.id, .low = rec.id, .high = rec.id, .threshold_q16 = 5,
                        .resume = 2, .top1 = 50, .escalated = 0.5, .latency_ms = 1};
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
    vk_store_close(db);
    static const char *const tamper[] = {
        "UPDATE paths SET genome='FSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFSFS'",
        "UPDATE paths SET genome='FSFS*/XX'",
        "UPDATE paths SET genome=''",
        "UPDATE paths SET board='sim'||char(10)||'#define X'",
        "UPDATE paths SET model_hash='abc\"def'",
        "UPDATE paths SET top1=1e308",
        "UPDATE paths SET latency_ms=-1",
        "UPDATE paths SET latency_ms=NULL",
        "UPDATE paths SET energy_mj=9e999",
        "UPDATE paths SET latency_src='fast'",
        "UPDATE paths SET note=char(27)||'[2J'",
        "UPDATE paths SET suffix_ms=zeroblob(96)||x'000000000000f07f'",
        "UPDATE paths SET genome=x'46530046'",
    };
    static const char *const tamper_run[] = {
        "UPDATE runs SET model_hash='not hex'", "UPDATE runs SET status=x'00'",
        "UPDATE runs SET boards='sim'||char(13)", "UPDATE runs SET n_images=-5",
        "UPDATE runs SET model=replace(hex(zeroblob(600)), '0', 'a')",
        "UPDATE runs SET test_hash='xyz'", "UPDATE runs SET test_hash='abc'",
        "UPDATE runs SET n_test=-1", "UPDATE runs SET val='a'||char(10)",
        "UPDATE runs SET test=x'0a'",
    };
    enum { NT = sizeof tamper / sizeof tamper[0], NR = sizeof tamper_run / sizeof tamper_run[0] };
    /* one python process makes every tampered copy: copy i gets change i */
    size_t k = (size_t)snprintf(code, sizeof code, "for i, sql in enumerate([");
    for (int i = 0; i < NT + NR; i++)
        k += (size_t)snprintf(code + k, sizeof code - k, "\"\"\"%s\"\"\",",
                              i < NT ? tamper[i] : tamper_run[i - NT]);
    snprintf(code + k, sizeof code - k,
             "]):\n    p = '%s/t%%d.db' %% i\n    c.execute(\"VACUUM INTO '%%s'\" %% p)\n"
             "    d = sqlite3.connect(p, isolation_level=None)\n    d.execute(sql)\n    d.close()",
             dir);
    CHECK_EQ_INT(py(path, code), 0);
    for (int i = 0; i < NT + NR; i++) {
        char copy[300];
        vk_run_info back;
        snprintf(copy, sizeof copy, "%s/t%d.db", dir, i);
        CHECK_EQ_INT(vk_store_open(copy, &db, &err), VK_OK);
        err.msg[0] = 0;
        vk_status g = i < NT ? vk_store_path_get(db, rec.id, 0, &got, &err)
                             : vk_store_run_get(db, r.id, &back, &err);
        CHECK_EQ_INT(g, VK_E_FORMAT);
        if (g == VK_OK)
            fprintf(stderr, "tamper '%s' was accepted\n", i < NT ? tamper[i] : tamper_run[i - NT]);
        else
            CHECK_STR_CONTAINS(err.msg, i < NT ? "path 1: stored" : "run 1: stored");
        if (g == VK_OK && i < NT)
            vk_store_rec_free(&got);
        vk_store_close(db);
    }
    CHECK_EQ_INT(py(path, "c.execute('UPDATE cascades SET resume=99')"), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_cascade_get(db, c.id, &c, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "cascade 1");
    vk_cascade_rec *cl;
    int nc;
    CHECK_EQ_INT(vk_store_cascade_list(db, r.id, &cl, &nc, &err), VK_E_FORMAT);
    vk_store_close(db);
}

/* Splits (schema 6): a run keeps its validation source, test hash and size;
 * a path's test figure is stored once per test set and read back; a
 * tampered one is refused. */
static void test_path_tests(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    vk_path_rec rec;
    vk_run_info r = {0}, g;
    double top1 = -1;
    int found = 1;
    snprintf(path, sizeof path, "%s/tests.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    strcpy(r.test_hash, HM);
    strcpy(r.val, "holdout.gz");
    strcpy(r.test, "mine/t-images-idx3-ubyte");
    r.n_images = N_IMG;
    r.n_test = 300;
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
    CHECK(!strcmp(g.test_hash, HM) && !strcmp(g.val, "holdout.gz") && g.n_test == 300);
    CHECK(!strcmp(g.test, "mine/t-images-idx3-ubyte"));
    make_rec(&rec, "FSFSFSFS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &rec, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_store_path_test_get(db, rec.id, HM, &top1, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(vk_store_path_test_put(db, rec.id, HM, N_IMG, 81.5, res, &err), VK_OK);
    /* again (a resumed run): the first figure is kept */
    CHECK_EQ_INT(vk_store_path_test_put(db, rec.id, HM, N_IMG, 12.0, res, &err), VK_OK);
    CHECK_EQ_INT(vk_store_path_test_get(db, rec.id, HM, &top1, &found, &err), VK_OK);
    CHECK(found && top1 == 81.5);
    CHECK_EQ_INT(vk_store_path_test_get(db, rec.id, HD, &top1, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0); /* another test set */
    CHECK_EQ_INT(vk_store_path_test_put(db, rec.id, HD, N_IMG, 101, res, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_store_path_test_put(db, rec.id, HD, 0, 50, res, &err), VK_E_ARG);
    vk_store_close(db);
    static const char *const bad[] = {"UPDATE path_tests SET top1=-3",
                                      "UPDATE path_tests SET top1=\"abc\"",
                                      "UPDATE path_tests SET results=zeroblob(5)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char code[512];
        snprintf(code, sizeof code, "c.execute('%s')", bad[i]);
        CHECK_EQ_INT(py(path, code), 0);
        CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
        CHECK_EQ_INT(vk_store_path_test_get(db, rec.id, HM, &top1, &found, &err), VK_E_FORMAT);
        CHECK_STR_CONTAINS(err.msg, "stored test figure");
        CHECK_EQ_INT(found, 0);
        vk_store_close(db);
    }
}

/* Cascades' test figures (schema 7): stored, read back with their
 * paths' per-image test results; a cascade stored without one gains it
 * when stored again (a resumed run) and keeps its id; a version-6 file's
 * cascades read as having none; half or out-of-range figures are refused. */
static void test_cascade_tests(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG], back[N_IMG];
    vk_path_rec lo, hi;
    vk_run_info r = {0};
    int found = 1;
    snprintf(path, sizeof path, "%s/ctests.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    strcpy(r.test_hash, HM);
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    make_rec(&lo, "FSSS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &lo, N_IMG, &err), VK_OK);
    make_rec(&hi, "FFFF", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &hi, N_IMG, &err), VK_OK);
    /* per-image test results come back as stored, on the test set's size */
    CHECK_EQ_INT(vk_store_path_test_results(db, lo.id, HM, N_IMG, back, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0);
    for (int i = 0; i < N_IMG; i++)
        res[i].entropy_q16 = i % 3 ? -70000 * i : 123456 * i;
    CHECK_EQ_INT(vk_store_path_test_put(db, lo.id, HM, N_IMG, 60, res, &err), VK_OK);
    CHECK_EQ_INT(vk_store_path_test_results(db, lo.id, HM, N_IMG, back, &found, &err), VK_OK);
    int same = found;
    for (int i = 0; i < N_IMG; i++)
        same &= back[i].cls == res[i].cls && back[i].entropy_q16 == res[i].entropy_q16;
    CHECK(same);
    CHECK_EQ_INT(vk_store_path_test_results(db, lo.id, HM, N_IMG - 1, back, &found, &err),
                 VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "not the test set's");

    vk_cascade_rec c = {.run_id = r.id, .low = lo.id, .high = hi.id, .threshold_q16 = 7,
                        .resume = 1, .top1 = 70, .escalated = 0.25, .latency_ms = 1};
    vk_cascade_rec got;
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
    CHECK_EQ_INT(vk_store_cascade_get(db, c.id, &got, &err), VK_OK);
    CHECK_EQ_INT(got.has_test, 0);
    int64_t id = c.id;
    c.has_test = 1;
    c.top1_test = 68.5;
    c.escalated_test = 0.3;
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
    CHECK(c.id == id);
    CHECK_EQ_INT(vk_store_cascade_get(db, id, &got, &err), VK_OK);
    CHECK(got.has_test && got.top1_test == 68.5 && got.escalated_test == 0.3 && got.top1 == 70);
    c.top1_test = 12; /* stored again: the first test figure is kept */
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
    CHECK_EQ_INT(vk_store_cascade_get(db, id, &got, &err), VK_OK);
    CHECK(got.top1_test == 68.5);
    c.threshold_q16 = 8;
    c.top1_test = 100.5;
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_E_ARG);
    c.top1_test = 50;
    c.escalated_test = -0.1;
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_E_ARG);
    vk_store_close(db);

    static const char *const bad[] = {"UPDATE cascades SET top1_test=NULL",
                                      "UPDATE cascades SET escalated_test=1.5",
                                      "UPDATE cascades SET top1_test=-2",
                                      "UPDATE cascades SET top1_test='x'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[16], copy[300];
        snprintf(name, sizeof name, "ct%zu", i);
        CHECK_EQ_INT(tampered_copy(path, name, bad[i], copy), 0);
        CHECK_EQ_INT(vk_store_open(copy, &db, &err), VK_OK);
        CHECK_EQ_INT(vk_store_cascade_get(db, id, &got, &err), VK_E_FORMAT);
        CHECK_STR_CONTAINS(err.msg, "stored figures out of range");
        vk_store_close(db);
    }

    /* a version-6 file: its cascades have no test figure */
    CHECK_EQ_INT(py(path, "c.executescript('ALTER TABLE cascades DROP COLUMN top1_test; ALTER "
                          "TABLE cascades DROP COLUMN escalated_test; ALTER TABLE runs DROP "
                          "COLUMN test; ALTER TABLE runs DROP COLUMN proxy_n; "
                          "PRAGMA user_version=6;')"),
                 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_cascade_get(db, id, &got, &err), VK_OK);
    CHECK(!got.has_test && got.top1 == 70 && got.escalated == 0.25);
    vk_run_info g;
    CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
    CHECK(!strcmp(g.test, "")); /* the test images were the data's */
    vk_store_close(db);
}

/* The predict strategy's proxy images (schema 8): stored with the run and
 * read back; a version-7 file's predict runs read as the default they
 * used then (96 images, or the validation split when smaller), its other
 * runs as none, with every other field kept; a tampered count is refused. */
static void test_proxy_images(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info r = {0}, g;
    int64_t ids[4];
    static const char *const strategy[4] = {"predict", "predict", "nsga2", "random"};
    static const int n_images[4] = {500, 40, 500, 500}, proxy[4] = {5, 7, 0, 0};
    snprintf(path, sizeof path, "%s/proxy.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    strcpy(r.test_hash, HM);
    r.population = 6;
    for (int i = 0; i < 4; i++) {
        snprintf(r.strategy, sizeof r.strategy, "%s", strategy[i]);
        r.n_images = n_images[i];
        r.proxy_n = proxy[i];
        r.seed = 10 + i;
        CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
        ids[i] = r.id;
        CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
        CHECK_EQ_INT(g.proxy_n, proxy[i]);
    }
    vk_store_close(db);

    /* a version-7 file */
    CHECK_EQ_INT(py(path, "c.executescript('ALTER TABLE runs DROP COLUMN proxy_n; "
                          "PRAGMA user_version=7;')"),
                 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    static const int migrated[4] = {96, 40, 0, 0};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(vk_store_run_get(db, ids[i], &g, &err), VK_OK);
        CHECK_EQ_INT(g.proxy_n, migrated[i]);
        CHECK(!strcmp(g.strategy, strategy[i]) && g.n_images == n_images[i]);
        CHECK(g.seed == (uint64_t)(10 + i) && g.population == 6 && !strcmp(g.test_hash, HM));
    }
    vk_store_close(db);
    CHECK_EQ_INT(py(path, "import sys\nsys.exit(c.execute('PRAGMA user_version').fetchone()[0] "
                          "!= 8)"),
                 0);

    static const char *const bad[] = {"UPDATE runs SET proxy_n=-1", "UPDATE runs SET proxy_n='x'",
                                      "UPDATE runs SET proxy_n=2.5",
                                      "UPDATE runs SET proxy_n=4294967296"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[16], copy[300];
        snprintf(name, sizeof name, "px%zu", i);
        CHECK_EQ_INT(tampered_copy(path, name, bad[i], copy), 0);
        CHECK_EQ_INT(vk_store_open(copy, &db, &err), VK_OK);
        CHECK_EQ_INT(vk_store_run_get(db, ids[0], &g, &err), VK_E_FORMAT);
        CHECK_STR_CONTAINS(err.msg, "proxy_n");
        vk_store_close(db);
    }
}

/* Item 12 of issue 15: recording a run's hypervolume history and cascades
 * again (as a resumed run does) adds nothing; cascades keep their ids. A
 * version-3 file with duplicates from before is cleaned up on upgrade. */
static void test_idempotent_history(void)
{
    char path[256], code[1024];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    vk_path_rec lo, hi;
    vk_run_info r = {0};
    vk_cascade_rec *cl = NULL;
    int nc = 0;
    snprintf(path, sizeof path, "%s/resume.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    make_rec(&lo, "FSFSFSFS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &lo, N_IMG, &err), VK_OK);
    make_rec(&hi, "FFFFFFFF", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &hi, N_IMG, &err), VK_OK);
    int64_t first_ids[3];
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 3; k++) {
            vk_cascade_rec c = {.run_id = r.id, .low = lo.id, .high = hi.id,
                                .threshold_q16 = 1000 * k, .resume = 1, .top1 = 80 + k,
                                .escalated = 0.25, .latency_ms = 1 + k};
            CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
            if (pass == 0)
                first_ids[k] = c.id;
            else
                CHECK(c.id == first_ids[k]);
        }
        for (int n = 1; n <= 4; n++)
            CHECK_EQ_INT(vk_store_hv(db, r.id, n, 10.0 * n, -1, &err), VK_OK);
    }
    CHECK_EQ_INT(vk_store_cascade_list(db, r.id, &cl, &nc, &err), VK_OK);
    CHECK_EQ_INT(nc, 3);
    free(cl);
    vk_store_close(db);
    CHECK_EQ_INT(py(path, "sys.exit(0 if c.execute('select count(*) from hv_history')"
                          ".fetchone()[0] == 4 else 1)"), 0);
    /* a version-3 file with the duplicates older versions wrote */
    snprintf(code, sizeof code,
             "c.executescript('DROP TABLE finetunes; DROP INDEX hv_history_key; "
             "DROP INDEX cascades_key; INSERT INTO hv_history SELECT * FROM hv_history; "
             "INSERT INTO cascades(run_id,low,high,threshold_q16,resume,top1,escalated,latency_ms,"
             "energy_mj,latency_scratch_ms,energy_scratch_mj) SELECT run_id,low,high,"
             "threshold_q16,resume,top1,escalated,latency_ms,energy_mj,latency_scratch_ms,"
             "energy_scratch_mj FROM cascades; ALTER TABLE runs DROP COLUMN val; ALTER TABLE "
             "runs DROP COLUMN test_hash; ALTER TABLE runs DROP COLUMN n_test; DROP TABLE "
             "path_tests; ALTER TABLE cascades DROP COLUMN top1_test; ALTER TABLE cascades "
             "DROP COLUMN escalated_test; ALTER TABLE runs DROP COLUMN test; "
             "ALTER TABLE runs DROP COLUMN proxy_n; PRAGMA user_version=3;')");
    CHECK_EQ_INT(py(path, code), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_cascade_list(db, r.id, &cl, &nc, &err), VK_OK);
    CHECK_EQ_INT(nc, 3);
    int same = nc == 3;
    for (int k = 0; k < nc; k++)
        same &= cl[k].id == first_ids[k];
    CHECK(same);
    free(cl);
    vk_store_close(db);
    CHECK_EQ_INT(py(path, "sys.exit(0 if c.execute('select count(*) from hv_history')"
                          ".fetchone()[0] == 4 else 1)"), 0);
}

/* A fine-tuned path's link (finetune-plan) round-trips; a tampered row is
 * refused with the path named; a path without a link is not found. */
static void test_finetunes(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG], res2[N_IMG];
    vk_path_rec parent, tuned;
    vk_run_info r = {0};
    vk_finetune_rec f = {0}, got, *all;
    int found = 1, n = 0;
    snprintf(path, sizeof path, "%s/ft.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r.model_hash, HM);
    strcpy(r.data_hash, HD);
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    make_rec(&parent, "FSFSFSFS", res);
    make_rec(&tuned, "FSFSFSFS", res2);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, HD, &parent, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_store_path_insert(db, r.id, HM, "d9", &tuned, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_store_finetune_get(db, parent.id, &got, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0);
    f.path_id = tuned.id;
    f.parent_id = parent.id;
    f.run_id = r.id;
    f.val_top1 = 81.25;
    f.test_top1 = 80.5;
    strcpy(f.model, "ft/P1");
    CHECK_EQ_INT(vk_store_finetune_insert(db, &f, "{\"format\": \"vitskip-finetune\"}", &err),
                 VK_OK);
    CHECK(vk_store_finetune_insert(db, &f, "{}", &err) != VK_OK); /* one link a path */
    CHECK_STR_CONTAINS(err.msg, "cannot store the fine-tuned path's link");
    CHECK_EQ_INT(vk_store_finetune_get(db, tuned.id, &got, &found, &err), VK_OK);
    CHECK(found && got.parent_id == parent.id && got.run_id == r.id && got.val_top1 == 81.25 &&
          got.test_top1 == 80.5 && !strcmp(got.model, "ft/P1") && got.created[0]);
    CHECK_EQ_INT(vk_store_finetune_list(db, &all, &n, &err), VK_OK);
    CHECK(n == 1 && all[0].path_id == tuned.id);
    free(all);
    vk_store_close(db);
    CHECK_EQ_INT(py(path, "c.execute('UPDATE finetunes SET model=\"ft\"||char(27)||\"[2J\"')"), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_finetune_get(db, tuned.id, &got, &found, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "fine-tuned path 2: stored");
    vk_store_close(db);
    CHECK_EQ_INT(py(path, "c.execute('UPDATE finetunes SET model=\"ft\", test_top1=150')"), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_finetune_list(db, &all, &n, &err), VK_E_FORMAT);
    vk_store_close(db);
}

/* Removing a run: its rows go, the measurements stay for dedup (or go
 * with measurements = 1 when nothing else uses them); cascades' replays
 * go with them; another run's paths are never touched. */
static long long count(const char *path, const char *sql)
{
    char cmd[700];
    long long v = -1;
    snprintf(cmd, sizeof cmd, "sqlite3 %s \"%s\"", path, sql);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (fscanf(p, "%lld", &v) != 1)
            v = -1;
        pclose(p);
    }
    return v;
}

static void test_run_remove(void)
{
    char path[256];
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info r1 = {0}, r2, r3;
    vk_img_result res[N_IMG];
    vk_path_rec a, shared, b;
    vk_measure m = {0};
    int n = -1, n_paths;
    snprintf(path, sizeof path, "%s/rm.db", dir);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    strcpy(r1.model_hash, HM);
    strcpy(r1.data_hash, HD);
    r2 = r1;
    r3 = r1;
    CHECK_EQ_INT(vk_store_run_create(db, &r1, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_create(db, &r2, &err), VK_OK);
    make_rec(&a, "FFSS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r1.id, HM, HD, &a, N_IMG, &err), VK_OK);
    make_rec(&shared, "FSSS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r1.id, HM, HD, &shared, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_eval(db, r2.id, shared.id, &err), VK_OK);
    vk_cascade_rec c = {.run_id = r1.id, .low = shared.id, .high = a.id, .top1 = 80};
    CHECK_EQ_INT(vk_store_cascade_insert(db, &c, &err), VK_OK);
    char cfg[24];
    snprintf(cfg, sizeof cfg, "C%lld", (long long)c.id);
    CHECK_EQ_INT(vk_store_replay_insert(db, cfg, "sim", HM, 80, &m, &err), VK_OK);
    snprintf(cfg, sizeof cfg, "P%lld", (long long)a.id);
    CHECK_EQ_INT(vk_store_replay_insert(db, cfg, "sim", HM, 80, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_store_hv(db, r1.id, 1, 5, -1, &err), VK_OK);
    CHECK_EQ_INT(vk_store_attempt(db, r1.id, "FFSS", "sim", 1, "", &err), VK_OK);

    CHECK_EQ_INT(vk_store_run_remove(db, 99, 0, &n, &err), VK_E_NOTFOUND);
    CHECK_EQ_INT(vk_store_run_remove(db, r1.id, 0, &n, &err), VK_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(vk_store_run_get(db, r1.id, &r3, &err), VK_E_NOTFOUND);
    CHECK_EQ_INT(count(path, "select count(*) from paths"), 2); /* kept for dedup */
    CHECK_EQ_INT(count(path, "select count(*) from cascades"), 0);
    CHECK_EQ_INT(count(path, "select count(*) from replays"), 1); /* P's, not C's */
    CHECK_EQ_INT(count(path, "select count(*) from hv_history"), 0);
    CHECK_EQ_INT(count(path, "select count(*) from attempts"), 0);
    CHECK_EQ_INT(count(path, "select count(*) from run_paths"), 1);

    /* with the measurements: only what no other run uses */
    r3 = r2;
    CHECK_EQ_INT(vk_store_run_create(db, &r3, &err), VK_OK);
    make_rec(&b, "SSSS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r3.id, HM, HD, &b, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_eval(db, r3.id, shared.id, &err), VK_OK);
    /* its test figure goes with it (it failed on the foreign key before) */
    CHECK_EQ_INT(vk_store_path_test_put(db, b.id, HD, N_IMG, 50, res, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_remove(db, r3.id, 1, &n, &err), VK_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(count(path, "select count(*) from paths where genome='SSSS'"), 0);
    CHECK_EQ_INT(count(path, "select count(*) from path_tests"), 0);
    CHECK_EQ_INT(count(path, "select count(*) from paths where genome='FSSS'"), 1);
    CHECK_EQ_INT(vk_store_check(db, &n_paths, &err), VK_OK);
    vk_store_close(db);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    RUN(test_dedup_roundtrip);
    RUN(test_refusals);
    RUN(test_migration_backup);
    RUN(test_path_tests);
    RUN(test_cascade_tests);
    RUN(test_proxy_images);
    RUN(test_readonly_replays);
    RUN(test_run_remove);
    RUN(test_kill_loop);
#define TIMED(fn)                                                                          \
    do {                                                                                   \
        double t0 = now_s();                                                               \
        RUN(fn);                                                                           \
        printf("%s: %.1f s\n", #fn, now_s() - t0);                                         \
    } while (0)
    TIMED(test_concurrent_first_open);
    TIMED(test_locked);
    TIMED(test_full_disk_read_only);
    TIMED(test_tampered);
    TIMED(test_idempotent_history);
    RUN(test_finetunes);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vk_test_summary("store");
}
