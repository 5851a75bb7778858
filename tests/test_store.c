/* test_store: the SQLite store — dedup across runs, refusal of newer,
 * foreign and non-SQLite files (left byte-identical), migration from
 * schema version 1, the online backup, the read-only open (refuses a
 * missing file without creating it, reads, cannot write) and the replay
 * list, and crash safety: a
 * child inserting measurements is killed with SIGKILL at random moments;
 * after every kill the database passes integrity_check, every row is whole
 * and no path is duplicated, and inserting resumes where it stopped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/vk_store.h"
#include "tests/vk_test.h"

#define N_IMG 200

static char dir[] = "/tmp/vk_store_XXXXXX";

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
    strcpy(r1.model_hash, "m1");
    strcpy(r1.data_hash, "d1");
    CHECK_EQ_INT(vk_store_run_create(db, &r1, &err), VK_OK);
    r2 = r1;
    CHECK_EQ_INT(vk_store_run_create(db, &r2, &err), VK_OK);
    CHECK(r2.id != r1.id);
    make_rec(&rec, "FSFS", res);
    CHECK_EQ_INT(vk_store_path_insert(db, r1.id, "m1", "d1", &rec, N_IMG, &err), VK_OK);
    /* the second run finds it; another dataset does not */
    CHECK_EQ_INT(vk_store_path_find(db, "m1", "d1", "sim", "FSFS", N_IMG, &got, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 1);
    CHECK(got.id == rec.id && got.top1 == rec.top1 && got.m.suffix_ms[2] == 0.75);
    CHECK_EQ_INT(got.m.latency_src, VK_SRC_MODELED);
    int same = 1;
    for (int i = 0; i < N_IMG; i++)
        same &= got.res[i].cls == res[i].cls && got.res[i].entropy_q16 == res[i].entropy_q16;
    CHECK(same);
    vk_store_rec_free(&got);
    CHECK_EQ_INT(vk_store_path_find(db, "m1", "d2", "sim", "FSFS", N_IMG, &got, &found, &err), VK_OK);
    CHECK_EQ_INT(found, 0);
    /* inserting the same path twice is refused by the unique key */
    CHECK(vk_store_path_insert(db, r2.id, "m1", "d1", &rec, N_IMG, &err) != VK_OK);
    CHECK_EQ_INT(vk_store_run_eval(db, r2.id, rec.id, &err), VK_OK);
    int64_t *ids;
    int n;
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
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'PRAGMA user_version=7' 2>/dev/null || python3 -c "
             "\"import sqlite3; c=sqlite3.connect('%s'); c.execute('PRAGMA user_version=7'); "
             "c.commit()\"", path, path);
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

/* A version-1 database (made by downgrading a new one: the columns version
 * 2 added dropped) is migrated on open with its rows kept; the 3-objective
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
    snprintf(r.model_hash, sizeof r.model_hash, "m");
    snprintf(r.data_hash, sizeof r.data_hash, "d");
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
             "c.executescript('ALTER TABLE runs DROP COLUMN strategy; ALTER TABLE runs DROP COLUMN "
             "offspring; ALTER TABLE runs DROP COLUMN space; ALTER TABLE runs DROP COLUMN seed_genomes; ALTER TABLE hv_history "
             "DROP COLUMN hypervolume3; PRAGMA user_version=1;')\"", path);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
    CHECK_EQ_INT(vk_store_run_get(db, r.id, &g, &err), VK_OK);
    CHECK(!strcmp(g.strategy, "nsga2")); /* runs before version 2 were NSGA-II, */
    CHECK_EQ_INT(g.offspring, 9);         /* breeding a population per generation */
    CHECK(!strcmp(g.space, "FS")); /* and searched PIVOT's space */
    CHECK(!strcmp(g.seed_genomes, ""));
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
static void child_insert(const char *path)
{
    vk_store *db;
    vk_err err = {{0}};
    vk_img_result res[N_IMG];
    if (vk_store_open(path, &db, &err) != VK_OK)
        _exit(3);
    for (int i = 0; i < 100000; i++) {
        char g[16];
        vk_path_rec rec, got;
        int found = 0;
        snprintf(g, sizeof g, "G%06d", i);
        if (vk_store_path_find(db, "m", "d", "sim", g, N_IMG, &got, &found, &err) != VK_OK)
            _exit(4);
        if (found) {
            vk_store_rec_free(&got);
            continue;
        }
        make_rec(&rec, g, res);
        if (vk_store_path_insert(db, 0, "m", "d", &rec, N_IMG, &err) != VK_OK)
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
        pid_t pid = fork();
        if (pid == 0)
            child_insert(path);
        usleep(20000 + (useconds_t)(rand() % 80000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        kills += WIFSIGNALED(st);
        vk_store *db;
        vk_err err = {{0}};
        int n = -1;
        CHECK_EQ_INT(vk_store_open(path, &db, &err), VK_OK);
        CHECK_EQ_INT(vk_store_check(db, &n, &err), VK_OK);
        if (err.msg[0])
            fprintf(stderr, "%s\n", err.msg);
        /* monotone, and paths are the prefix G000000..: nothing lost, nothing twice */
        CHECK(n >= prev);
        vk_path_rec got;
        int found = 0;
        char g[16];
        snprintf(g, sizeof g, "G%06d", n > 0 ? n - 1 : 0);
        if (n > 0) {
            CHECK_EQ_INT(vk_store_path_find(db, "m", "d", "sim", g, N_IMG, &got, &found, &err), VK_OK);
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
    strcpy(r.model_hash, "m1");
    strcpy(r.data_hash, "d1");
    CHECK_EQ_INT(vk_store_run_create(db, &r, &err), VK_OK);
    m.latency_ms = 2.5;
    m.latency_src = VK_SRC_MEASURED;
    m.energy_src = VK_SRC_NONE;
    snprintf(m.note, sizeof m.note, "host clock");
    CHECK_EQ_INT(vk_store_replay_insert(db, "P7", "cpu", "m1", 81.5, &m, &err), VK_OK);
    m.latency_src = VK_SRC_MODELED;
    m.energy_mj = 3;
    m.energy_src = VK_SRC_MODELED;
    CHECK_EQ_INT(vk_store_replay_insert(db, "C2", "sim", "m1", 82, &m, &err), VK_OK);
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
        CHECK(!strcmp(rep[1].model_hash, "m1"));
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

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    RUN(test_dedup_roundtrip);
    RUN(test_refusals);
    RUN(test_migration_backup);
    RUN(test_readonly_replays);
    RUN(test_kill_loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vk_test_summary("store");
}
