/* vk_store: SQLite storage (see vk_store.h). */
#include "vk_store.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STR_(x) #x
#define STR(x) STR_(x)

struct vk_store {
    sqlite3 *db;
    char path[512];
    int wait_s;      /* longest wait for another process's lock, seconds */
    double busy_t0;  /* when the current wait began (monotonic seconds) */
    int told;        /* the current wait has been announced on stderr */
};

static const char *schema_v1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta VALUES('app','vitskip');"
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, created TEXT NOT NULL, model TEXT, data TEXT,"
    " calib TEXT, model_hash TEXT NOT NULL, data_hash TEXT NOT NULL, n_images INT NOT NULL,"
    " boards TEXT, objective TEXT, max_acc_drop REAL, latency_budget_ms REAL,"
    " energy_budget_mj REAL, seed INT, budget INT, population INT, status TEXT NOT NULL);"
    "CREATE TABLE paths(id INTEGER PRIMARY KEY, model_hash TEXT NOT NULL,"
    " data_hash TEXT NOT NULL, board TEXT NOT NULL, genome TEXT NOT NULL, n_images INT NOT NULL,"
    " top1 REAL, latency_ms REAL, latency_p10_ms REAL, latency_p90_ms REAL, latency_src TEXT,"
    " energy_mj REAL, energy_src TEXT, note TEXT, cycles INT, ddr_bytes INT, macs INT,"
    " macs_skipped INT, stage_cycles BLOB, suffix_ms BLOB, suffix_mj BLOB,"
    " results BLOB NOT NULL, created TEXT NOT NULL,"
    " UNIQUE(model_hash, data_hash, board, genome, n_images));"
    "CREATE TABLE run_paths(run_id INT NOT NULL REFERENCES runs(id),"
    " path_id INT NOT NULL REFERENCES paths(id), seq INTEGER NOT NULL,"
    " PRIMARY KEY(run_id, path_id));"
    "CREATE TABLE attempts(id INTEGER PRIMARY KEY, run_id INT REFERENCES runs(id),"
    " genome TEXT, board TEXT, ok INT NOT NULL, error TEXT, created TEXT NOT NULL);"
    "CREATE TABLE hv_history(run_id INT NOT NULL REFERENCES runs(id), n_evals INT NOT NULL,"
    " hypervolume REAL NOT NULL, created TEXT NOT NULL);"
    "CREATE TABLE cascades(id INTEGER PRIMARY KEY, run_id INT NOT NULL REFERENCES runs(id),"
    " low INT NOT NULL REFERENCES paths(id), high INT NOT NULL REFERENCES paths(id),"
    " threshold_q16 INT NOT NULL, resume INT NOT NULL, top1 REAL, escalated REAL,"
    " latency_ms REAL, energy_mj REAL, latency_scratch_ms REAL, energy_scratch_mj REAL);"
    "CREATE TABLE replays(id INTEGER PRIMARY KEY, config TEXT NOT NULL, board TEXT,"
    " model_hash TEXT, top1 REAL, latency_ms REAL, latency_src TEXT, energy_mj REAL,"
    " energy_src TEXT, note TEXT, created TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

/* Migrations: migrations[v - 1] takes a version-v database to v + 1. A
 * fresh database is created at version 1 and migrated like any other. */
static const char *const migrations[] = {
    /* 1 -> 2: search strategy and offspring per generation per run (older
       runs bred a whole population per generation); 3-objective
       hypervolume */
    "ALTER TABLE runs ADD COLUMN strategy TEXT NOT NULL DEFAULT 'nsga2';"
    "ALTER TABLE hv_history ADD COLUMN hypervolume3 REAL;"
    "ALTER TABLE runs ADD COLUMN offspring INT NOT NULL DEFAULT 0;"
    "UPDATE runs SET offspring = population;"
    "PRAGMA user_version = 2;",
    /* 2 -> 3: the space of per-encoder modes a run searched (older runs:
       PIVOT's F/S) and the user's seed genomes (a resume proposes them
       again, as the run did) */
    "ALTER TABLE runs ADD COLUMN space TEXT NOT NULL DEFAULT 'FS';"
    "ALTER TABLE runs ADD COLUMN seed_genomes TEXT NOT NULL DEFAULT '';"
    "PRAGMA user_version = 3;",
    /* 3 -> 4: a resumed run re-records its hypervolume history and its
       cascades; keys make that idempotent (duplicates older versions wrote
       are dropped: the last hypervolume per evaluation count, the first
       cascade of each kind) */
    "DELETE FROM hv_history WHERE rowid NOT IN (SELECT max(rowid) FROM hv_history"
    " GROUP BY run_id, n_evals);"
    "CREATE UNIQUE INDEX hv_history_key ON hv_history(run_id, n_evals);"
    "DELETE FROM cascades WHERE id NOT IN (SELECT min(id) FROM cascades"
    " GROUP BY run_id, low, high, threshold_q16, resume);"
    "CREATE UNIQUE INDEX cascades_key ON cascades(run_id, low, high, threshold_q16, resume);"
    "PRAGMA user_version = 4;",
    /* 4 -> 5: fine-tuned paths linked to the paths they were tuned from
       (`vitskip finetune-plan`): the tuned path, its parent, the run that
       measured it (whose model is the tuned checkpoint), the sidecar's
       hold-out and test top-1, and the sidecar itself */
    "CREATE TABLE finetunes(path_id INT PRIMARY KEY REFERENCES paths(id),"
    " parent_id INT NOT NULL REFERENCES paths(id), run_id INT NOT NULL REFERENCES runs(id),"
    " model TEXT NOT NULL, val_top1 REAL, test_top1 REAL, sidecar TEXT NOT NULL,"
    " created TEXT NOT NULL);"
    "PRAGMA user_version = 5;",
    /* 5 -> 6: splits: a run selects on validation images (data_hash,
       n_images) and reports its front on test images it never saw (older
       runs: test_hash '', selected and reported on the same images); the
       paths' test figures, per test set */
    "ALTER TABLE runs ADD COLUMN val TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN test_hash TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN n_test INT NOT NULL DEFAULT 0;"
    "CREATE TABLE path_tests(path_id INT NOT NULL REFERENCES paths(id),"
    " test_hash TEXT NOT NULL, n_images INT NOT NULL, top1 REAL NOT NULL,"
    " results BLOB NOT NULL, created TEXT NOT NULL, PRIMARY KEY(path_id, test_hash));"
    "PRAGMA user_version = 6;",
    /* 6 -> 7: a cascade's top-1 and escalated share on its run's test
       split, from its two paths' per-image test results (older cascades:
       NULL, selected and reported on the validation images only); the
       test source as given (older runs: '', the data) */
    "ALTER TABLE runs ADD COLUMN test TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cascades ADD COLUMN top1_test REAL;"
    "ALTER TABLE cascades ADD COLUMN escalated_test REAL;"
    "PRAGMA user_version = 7;",
    /* 7 -> 8: the images of the predict strategy's accuracy proxy (0: not
       a predict run, which has none); a predict run stored before used the
       default then, 96 images, or all of its validation images when fewer */
    "ALTER TABLE runs ADD COLUMN proxy_n INT NOT NULL DEFAULT 0;"
    "UPDATE runs SET proxy_n = min(96, n_images) WHERE strategy = 'predict';"
    "PRAGMA user_version = 8;",
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* SQLite's busy handler: another process holds the lock we need. Waits
 * with a growing sleep, says so on stderr once a wait passes one second,
 * and gives up (SQLITE_BUSY) after wait_s seconds. */
static int on_busy(void *p, int count)
{
    vk_store *s = p;
    double t = mono_s();
    if (count == 0) {
        s->busy_t0 = t;
        s->told = 0;
    }
    if (t - s->busy_t0 >= s->wait_s)
        return 0;
    if (!s->told && t - s->busy_t0 >= 1.0) {
        fprintf(stderr, "vitskip: %s is locked by another process; waiting (at most %d s)\n",
                s->path, s->wait_s);
        s->told = 1;
    }
    struct timespec d = {0, (count < 20 ? count + 1 : 50) * 1000000L};
    nanosleep(&d, NULL);
    return 1;
}

/* The error of the last call on db, classified: what the user can act on
 * (another process holds the lock, the disk is full, the file or its
 * folder is read-only, an I/O error) comes first, SQLite's words after. */
static vk_status classify(sqlite3 *db, const char *path, int wait_s, vk_err *err,
                          const char *what)
{
    int c = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
    const char *m = db ? sqlite3_errmsg(db) : "out of memory";
    int e = db ? sqlite3_system_errno(db) : 0;
    if (c == SQLITE_IOERR || c == SQLITE_CANTOPEN) /* the system's reason, when it has one */
        c = e == ENOSPC || e == EDQUOT ? SQLITE_FULL : e == EROFS || e == EACCES ? SQLITE_READONLY : c;
    switch (c) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return vk_fail(err, VK_E_BUSY, "%s: %s: locked by another process for more than %d s "
                       "(%s)", path, what, wait_s, m);
    case SQLITE_FULL:
        return vk_fail(err, VK_E_IO, "%s: %s: the disk is full (%s); what was committed "
                       "before is kept", path, what, m);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return vk_fail(err, VK_E_IO, "%s: %s: the database or its folder is read-only (%s)",
                       path, what, m);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return vk_fail(err, VK_E_IO, "%s: %s: I/O error (%s)", path, what, m);
    case SQLITE_NOTADB:
        return vk_fail(err, VK_E_FORMAT, "%s: not an SQLite database (%s)", path, m);
    case SQLITE_CORRUPT:
        return vk_fail(err, VK_E_FORMAT, "%s: %s: the database is corrupt (%s)", path, what, m);
    default:
        return vk_fail(err, VK_E_DB, "%s: %s: %s", path, what, m);
    }
}

static vk_status dberr(vk_store *s, vk_err *err, const char *what)
{
    return classify(s->db, s->path, s->wait_s, err, what);
}

static int exec(vk_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* exec, retried while another process is in the way. SQLite answers
 * SQLITE_BUSY without calling the busy handler where waiting could
 * deadlock, as when several processes switch a fresh file to WAL at once,
 * and one of them may find the rollback journal it means to delete
 * already deleted by another (SQLITE_IOERR_DELETE_NOENT); the bound is the
 * store's wait. */
static int exec_waiting(vk_store *s, const char *sql)
{
    double t0 = mono_s();
    int rc, k = 0;
    while ((rc = exec(s, sql)) != SQLITE_OK &&
           (rc == SQLITE_BUSY || rc == SQLITE_LOCKED ||
            sqlite3_extended_errcode(s->db) == SQLITE_IOERR_DELETE_NOENT) &&
           mono_s() - t0 < s->wait_s) {
        struct timespec d = {0, (k < 20 ? ++k : 50) * 1000000L};
        nanosleep(&d, NULL);
    }
    return rc;
}

void vk_store_close(vk_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

/* Checks an existing file read-only before anything is written to it. */
static vk_status check_existing(vk_store *s, int *fresh, vk_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct stat sb;
    int ver = -1, n_tables = 0, marker = 0;
    vk_status rc = VK_OK;
    *fresh = stat(s->path, &sb) != 0 || sb.st_size == 0;
    if (*fresh)
        return VK_OK;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = classify(db, s->path, s->wait_s, err, "cannot open");
        goto out;
    }
    sqlite3_busy_handler(db, on_busy, s);
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = classify(db, s->path, s->wait_s, err, "cannot read");
        goto out;
    }
    ver = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n_tables = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='app'", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0); /* NULL in a foreign file */
        marker = v && !strcmp((const char *)v, "vitskip");
    }
    if (ver > VK_STORE_SCHEMA)
        rc = vk_fail(err, VK_E_UNSUPPORTED,
                     "%s: schema version %d is newer than this vitskip's (%d)", s->path, ver,
                     VK_STORE_SCHEMA);
    else if (n_tables > 0 && !marker)
        rc = vk_fail(err, VK_E_FORMAT, "%s: an SQLite database, but not a vitskip one",
                     s->path);
    else
        *fresh = n_tables == 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int user_version(vk_store *s)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Brings the schema to VK_STORE_SCHEMA, one transaction per step, so a
 * kill mid-way leaves a consistent older version that the next open
 * continues from. */
static vk_status migrate(vk_store *s, vk_err *err)
{
    for (;;) {
        if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
            return dberr(s, err, "cannot lock the database to upgrade its schema");
        int v = user_version(s); /* read under the lock: another process may have migrated */
        if (v >= VK_STORE_SCHEMA) {
            exec(s, "COMMIT");
            return VK_OK;
        }
        if (v < 1 || exec(s, migrations[v - 1]) != SQLITE_OK) {
            vk_status rc = v < 1 ? vk_fail(err, VK_E_FORMAT, "%s: schema version %d is unknown",
                                           s->path, v)
                                 : dberr(s, err, "cannot upgrade the schema");
            exec(s, "ROLLBACK");
            return rc;
        }
        if (exec(s, "COMMIT") != SQLITE_OK) {
            vk_status rc = dberr(s, err, "cannot upgrade the schema");
            exec(s, "ROLLBACK");
            return rc;
        }
    }
}

/* Counts the tables; -1 on error. */
static int n_tables(vk_store *s)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

vk_status vk_store_open(const char *path, vk_store **out, vk_err *err)
{
    vk_store *s = calloc(1, sizeof *s);
    int fresh, n;
    vk_status rc;
    if (!s)
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->wait_s = VK_STORE_WAIT_DEFAULT;
    if ((rc = check_existing(s, &fresh, err)) != VK_OK) {
        free(s);
        return rc;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = dberr(s, err, "cannot open");
        vk_store_close(s);
        return rc;
    }
    sqlite3_busy_handler(s->db, on_busy, s);
    /* WAL with synchronous=FULL: a committed measurement survives a crash
       of the process or of the machine */
    if (exec_waiting(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                        "PRAGMA foreign_keys=ON;") != SQLITE_OK) {
        rc = dberr(s, err, "cannot configure");
        vk_store_close(s);
        return rc;
    }
    if (fresh) {
        /* another process may be creating it too: look again under the lock */
        if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || (n = n_tables(s)) < 0 ||
            (n == 0 && exec(s, schema_v1) != SQLITE_OK) || exec(s, "COMMIT") != SQLITE_OK) {
            rc = dberr(s, err, "cannot create the schema");
            exec(s, "ROLLBACK");
            vk_store_close(s);
            return rc;
        }
    }
    if ((rc = migrate(s, err)) != VK_OK) {
        vk_store_close(s);
        return rc;
    }
    *out = s;
    return VK_OK;
}

vk_status vk_store_open_readonly(const char *path, vk_store **out, vk_err *err)
{
    struct stat sb;
    vk_store *s;
    vk_status rc;
    int fresh, ver;
    if (stat(path, &sb) != 0)
        return vk_fail(err, VK_E_NOTFOUND, "%s: no such database (%s)", path, strerror(errno));
    if (!(s = calloc(1, sizeof *s)))
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->wait_s = VK_STORE_WAIT_DEFAULT;
    if ((rc = check_existing(s, &fresh, err)) != VK_OK) {
        free(s);
        return rc;
    }
    if (fresh) {
        free(s);
        return vk_fail(err, VK_E_FORMAT, "%s: an empty file, not a vitskip database", path);
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = dberr(s, err, "cannot open");
        vk_store_close(s);
        return rc;
    }
    sqlite3_busy_handler(s->db, on_busy, s);
    if ((ver = user_version(s)) < VK_STORE_SCHEMA) {
        /* an older schema is brought up to date like any open does */
        vk_store_close(s);
        return ver < 1 ? vk_fail(err, VK_E_FORMAT, "%s: schema version %d is unknown", path, ver)
                       : vk_store_open(path, out, err);
    }
    *out = s;
    return VK_OK;
}

void vk_store_set_wait(vk_store *s, int seconds)
{
    s->wait_s = seconds > 0 ? seconds : 0;
}

static void now(char *b, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(b, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static sqlite3_stmt *prep(vk_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* What a stored text column may hold. */
enum { TXT_PRINT, TXT_HEX, TXT_GENOME };

/* Copies text column col into dst[n] if it is text (not NULL, no NUL
 * inside), shorter than n and of the class's characters: printable (no
 * control characters), hex digits, or a genome's (vk_genome's text: a
 * letter F/S/R/H per encoder, 1..VK_MAX_LAYERS of them, each optionally
 * followed by ":k<digits>" and ":f<digits>"; the search parses it
 * strictly). NULL is allowed (as "") when null_ok. Returns 0 if refused. */
static int take_text(char *dst, size_t n, sqlite3_stmt *st, int col, int cls, int null_ok)
{
    int type = sqlite3_column_type(st, col);
    if (type == SQLITE_NULL) {
        dst[0] = 0;
        return null_ok && cls != TXT_GENOME;
    }
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col), genes = 0;
    if (!t || len >= n || strlen((const char *)t) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = t[i];
        int gene = c == 'F' || c == 'S' || c == 'R' || c == 'H';
        genes += gene;
        int ok = cls == TXT_HEX ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                 : cls == TXT_GENOME
                     ? gene || (i > 0 && ((c >= '0' && c <= '9') || c == ':' || c == 'k' || c == 'f'))
                     : c >= 0x20 && c != 0x7f;
        if (!ok)
            return 0;
    }
    if (cls == TXT_GENOME && (genes < 1 || genes > VK_MAX_LAYERS))
        return 0;
    memcpy(dst, t, len + 1);
    return 1;
}

/* A stored figure: a finite number in 0..max; NULL reads as 0 where
 * null_ok (a figure the board did not give). */
/* The per-image results blob (see vk_store.h): 6 bytes per image. */
static void put_results(uint8_t *blob, const vk_img_result *res, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t *p = blob + 6 * i;
        uint32_t e = (uint32_t)res[i].entropy_q16;
        p[0] = (uint8_t)res[i].cls;
        p[1] = (uint8_t)((uint16_t)res[i].cls >> 8);
        p[2] = (uint8_t)e, p[3] = (uint8_t)(e >> 8), p[4] = (uint8_t)(e >> 16);
        p[5] = (uint8_t)(e >> 24);
    }
}

static void get_results(vk_img_result *res, const uint8_t *blob, int n)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *p = blob + 6 * i;
        res[i].cls = (int16_t)(p[0] | p[1] << 8);
        res[i].entropy_q16 = (int32_t)((uint32_t)p[2] | (uint32_t)p[3] << 8 |
                                       (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24);
    }
}

static int take_figure(double *dst, sqlite3_stmt *st, int col, double max, int null_ok)
{
    int type = sqlite3_column_type(st, col);
    double v = sqlite3_column_double(st, col);
    if (type == SQLITE_NULL ? !null_ok : type != SQLITE_FLOAT && type != SQLITE_INTEGER)
        return 0;
    if (!isfinite(v) || v < 0 || v > max)
        return 0;
    *dst = v;
    return 1;
}

vk_status vk_store_run_create(vk_store *s, vk_run_info *r, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO runs(created,model,data,calib,model_hash,data_hash,"
                               "n_images,boards,objective,max_acc_drop,latency_budget_ms,"
                               "energy_budget_mj,seed,budget,population,strategy,offspring,space,"
                               "seed_genomes,val,test_hash,n_test,test,proxy_n,status) "
                               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                               "'running')");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    now(r->created, sizeof r->created);
    sqlite3_bind_text(st, 1, r->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->calib, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->model_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->data_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, r->n_images);
    sqlite3_bind_text(st, 8, r->boards, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->objective, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 10, r->max_acc_drop);
    sqlite3_bind_double(st, 11, r->latency_budget_ms);
    sqlite3_bind_double(st, 12, r->energy_budget_mj);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)r->seed);
    sqlite3_bind_int(st, 14, r->budget);
    sqlite3_bind_int(st, 15, r->population);
    sqlite3_bind_text(st, 16, r->strategy[0] ? r->strategy : "nsga2", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 17, r->offspring);
    sqlite3_bind_text(st, 18, r->space[0] ? r->space : "FS", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 19, r->seed_genomes, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 20, r->val, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 21, r->test_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 22, r->n_test);
    sqlite3_bind_text(st, 23, r->test, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 24, r->proxy_n);
    if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE ||
        exec(s, "COMMIT") != SQLITE_OK) {
        rc = dberr(s, err, "cannot create a run");
        exec(s, "ROLLBACK");
    } else {
        r->id = sqlite3_last_insert_rowid(s->db);
        snprintf(r->status, sizeof r->status, "running");
    }
    sqlite3_finalize(st);
    return rc;
}

vk_status vk_store_run_get(vk_store *s, int64_t id, vk_run_info *r, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT id,created,model,data,calib,model_hash,data_hash,"
                               "n_images,boards,objective,max_acc_drop,latency_budget_ms,"
                               "energy_budget_mj,seed,budget,population,status,strategy,offspring,"
                               "space,seed_genomes,val,test_hash,n_test,test,proxy_n FROM runs "
                               "WHERE id=?");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = vk_fail(err, VK_E_NOTFOUND, "%s: no run %lld", s->path, (long long)id);
    } else {
        vk_run_info x;
        const char *bad = NULL;
        memset(&x, 0, sizeof x);
        x.id = sqlite3_column_int64(st, 0);
        if (!take_text(x.created, sizeof x.created, st, 1, TXT_PRINT, 1))
            bad = "created";
        else if (!take_text(x.model, sizeof x.model, st, 2, TXT_PRINT, 1))
            bad = "model";
        else if (!take_text(x.data, sizeof x.data, st, 3, TXT_PRINT, 1))
            bad = "data";
        else if (!take_text(x.calib, sizeof x.calib, st, 4, TXT_PRINT, 1))
            bad = "calib";
        else if (!take_text(x.model_hash, sizeof x.model_hash, st, 5, TXT_HEX, 0))
            bad = "model_hash";
        else if (!take_text(x.data_hash, sizeof x.data_hash, st, 6, TXT_HEX, 0))
            bad = "data_hash";
        else if ((x.n_images = sqlite3_column_int(st, 7)) < 0)
            bad = "n_images";
        else if (!take_text(x.boards, sizeof x.boards, st, 8, TXT_PRINT, 1))
            bad = "boards";
        else if (!take_text(x.objective, sizeof x.objective, st, 9, TXT_PRINT, 1))
            bad = "objective";
        else if (!take_text(x.status, sizeof x.status, st, 16, TXT_PRINT, 0))
            bad = "status";
        else if (!take_text(x.strategy, sizeof x.strategy, st, 17, TXT_PRINT, 1))
            bad = "strategy";
        if (bad) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: run %lld: stored %s is NULL, too long or not "
                         "text of the expected kind (a foreign or tampered database)", s->path,
                         (long long)id, bad);
            goto out;
        }
        x.max_acc_drop = sqlite3_column_double(st, 10);
        x.latency_budget_ms = sqlite3_column_double(st, 11);
        x.energy_budget_mj = sqlite3_column_double(st, 12);
        x.seed = (uint64_t)sqlite3_column_int64(st, 13);
        x.budget = sqlite3_column_int(st, 14);
        x.population = sqlite3_column_int(st, 15);
        x.offspring = sqlite3_column_int(st, 18);
        if (!take_text(x.space, sizeof x.space, st, 19, TXT_PRINT, 0) ||
            !take_text(x.seed_genomes, sizeof x.seed_genomes, st, 20, TXT_PRINT, 0) ||
            !take_text(x.val, sizeof x.val, st, 21, TXT_PRINT, 0) ||
            !take_text(x.test_hash, sizeof x.test_hash, st, 22, TXT_HEX, 0) ||
            (x.test_hash[0] && strlen(x.test_hash) != 64) ||
            (x.n_test = sqlite3_column_int(st, 23)) < 0 ||
            !take_text(x.test, sizeof x.test, st, 24, TXT_PRINT, 0)) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: run %lld: stored space, seed genomes, validation "
                         "source, test hash, test size or test source are NULL, "
                         "too long or not text (a foreign or tampered database)", s->path,
                         (long long)id);
            goto out;
        }
        sqlite3_int64 proxy_n = sqlite3_column_int64(st, 25);
        if (sqlite3_column_type(st, 25) != SQLITE_INTEGER || proxy_n < 0 ||
            proxy_n > INT32_MAX) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: run %lld: stored proxy_n (the accuracy proxy's "
                         "images) is not a count (a foreign or tampered database)", s->path,
                         (long long)id);
            goto out;
        }
        x.proxy_n = (int)proxy_n;
        *r = x;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static vk_status write1(vk_store *s, sqlite3_stmt *st, vk_err *err, const char *what)
{
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE ||
        exec(s, "COMMIT") != SQLITE_OK) {
        rc = dberr(s, err, what);
        exec(s, "ROLLBACK");
    }
    sqlite3_finalize(st);
    return rc;
}

vk_status vk_store_run_remove(vk_store *s, int64_t id, int measurements, int *n_removed,
                              vk_err *err)
{
    char sql[1536];
    vk_run_info r;
    vk_status rc;
    sqlite3_stmt *st = NULL;
    long long i = (long long)id;
    *n_removed = 0;
    if ((rc = vk_store_run_get(s, id, &r, err)) != VK_OK)
        return rc;
    /* the run's own rows; its paths are noted first */
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE IF NOT EXISTS rm_paths(id INTEGER PRIMARY KEY);"
             "DELETE FROM rm_paths;"
             "INSERT INTO rm_paths SELECT path_id FROM run_paths WHERE run_id=%lld;"
             "DELETE FROM replays WHERE config IN (SELECT 'C' || id FROM cascades "
             "WHERE run_id=%lld);"
             "DELETE FROM cascades WHERE run_id=%lld;"
             "DELETE FROM hv_history WHERE run_id=%lld;"
             "DELETE FROM attempts WHERE run_id=%lld;"
             "DELETE FROM finetunes WHERE run_id=%lld;"
             "DELETE FROM run_paths WHERE run_id=%lld;"
             "DELETE FROM runs WHERE id=%lld;"
             /* measurements no other run, cascade or fine-tuned link uses */
             "DELETE FROM rm_paths WHERE id IN (SELECT path_id FROM run_paths) OR "
             "id IN (SELECT low FROM cascades) OR id IN (SELECT high FROM cascades) OR "
             "id IN (SELECT path_id FROM finetunes) OR id IN (SELECT parent_id FROM finetunes);",
             i, i, i, i, i, i, i, i);
    if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || exec(s, sql) != SQLITE_OK)
        goto fail;
    if (measurements) {
        if (!(st = prep(s, "SELECT count(*) FROM rm_paths")) || sqlite3_step(st) != SQLITE_ROW)
            goto fail;
        *n_removed = sqlite3_column_int(st, 0);
        if (exec(s, "DELETE FROM replays WHERE config IN (SELECT 'P' || id FROM rm_paths);"
                    "DELETE FROM path_tests WHERE path_id IN (SELECT id FROM rm_paths);"
                    "DELETE FROM paths WHERE id IN (SELECT id FROM rm_paths);") != SQLITE_OK)
            goto fail;
    }
    if (exec(s, "COMMIT") != SQLITE_OK)
        goto fail;
    sqlite3_finalize(st);
    return VK_OK;
fail:
    rc = dberr(s, err, "cannot remove the run");
    sqlite3_finalize(st);
    exec(s, "ROLLBACK");
    *n_removed = 0;
    return rc;
}

vk_status vk_store_run_set_status(vk_store *s, int64_t id, const char *status, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "UPDATE runs SET status=? WHERE id=?");
    if (st) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
    }
    return write1(s, st, err, "cannot update the run");
}

vk_status vk_store_run_set_budget(vk_store *s, int64_t id, int budget, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "UPDATE runs SET budget=? WHERE id=?");
    if (st) {
        sqlite3_bind_int(st, 1, budget);
        sqlite3_bind_int64(st, 2, id);
    }
    return write1(s, st, err, "cannot update the run's budget");
}

/* Reads one row of a query into row (elem bytes); VK_OK, or an error. */
typedef vk_status (*row_reader)(vk_store *s, sqlite3_stmt *st, void *row, vk_err *err);

/* Every row of st (prepared and bound by the caller, finalized here) into
 * a growing array of elem-byte rows read by read; *out owned by the
 * caller (free) and *n rows. what names the rows in a read error. */
static vk_status read_rows(vk_store *s, sqlite3_stmt *st, size_t elem, row_reader read,
                           const char *what, void **out, int *n, vk_err *err)
{
    int cap = 16, k = 0, r;
    char *v = malloc((size_t)cap * elem);
    vk_status rc = VK_OK;
    if (!st || !v) {
        free(v);
        sqlite3_finalize(st);
        return !st ? dberr(s, err, "prepare") : vk_fail(err, VK_E_NOMEM, "out of memory");
    }
    while (rc == VK_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            char *nv = realloc(v, (size_t)(cap *= 2) * elem);
            if (!nv) {
                rc = vk_fail(err, VK_E_NOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        rc = read(s, st, v + (size_t)k++ * elem, err);
    }
    sqlite3_finalize(st);
    if (rc == VK_OK && r != SQLITE_DONE)
        rc = dberr(s, err, what);
    if (rc != VK_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return VK_OK;
}

static vk_status read_id(vk_store *s, sqlite3_stmt *st, void *row, vk_err *err)
{
    (void)s;
    (void)err;
    *(int64_t *)row = sqlite3_column_int64(st, 0);
    return VK_OK;
}

static vk_status id_list(vk_store *s, sqlite3_stmt *st, int64_t **ids, int *n, vk_err *err)
{
    void *v = NULL;
    vk_status rc = read_rows(s, st, sizeof **ids, read_id, "cannot read the ids", &v, n, err);
    if (rc == VK_OK)
        *ids = v;
    return rc;
}

vk_status vk_store_run_list(vk_store *s, int64_t **ids, int *n, vk_err *err)
{
    return id_list(s, prep(s, "SELECT id FROM runs ORDER BY id"), ids, n, err);
}

vk_status vk_store_run_paths(vk_store *s, int64_t run_id, int64_t **ids, int *n, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT path_id FROM run_paths WHERE run_id=? ORDER BY seq");
    if (st)
        sqlite3_bind_int64(st, 1, run_id);
    return id_list(s, st, ids, n, err);
}

static const char *src_str(vk_source x)
{
    return vk_source_str(x);
}

/* An energy figure: NULL when the board gave none (read back as 0 with
 * source none). */
static void bind_energy(sqlite3_stmt *st, int col, double v, vk_source src)
{
    if (src == VK_SRC_NONE)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_double(st, col, v);
}

static vk_source src_parse(const char *t)
{
    return !strcmp(t, "measured") ? VK_SRC_MEASURED
                                  : !strcmp(t, "modeled") ? VK_SRC_MODELED : VK_SRC_NONE;
}

static void put_doubles(uint8_t *b, const double *v, int n)
{
    memcpy(b, v, (size_t)n * sizeof(double)); /* x86-64 and aarch64 are little-endian */
}

#define PATH_COLS                                                                              \
    "id,genome,board,top1,latency_ms,latency_p10_ms,latency_p90_ms,latency_src,energy_mj,"     \
    "energy_src,note,cycles,ddr_bytes,macs,macs_skipped,stage_cycles,suffix_ms,suffix_mj,"     \
    "results,n_images,model_hash"

static vk_source src_of(sqlite3_stmt *st, int col, int *ok)
{
    char t[16];
    if (!take_text(t, sizeof t, st, col, TXT_PRINT, 1))
        t[0] = '?';
    vk_source v = src_parse(t);
    *ok = *ok && (v != VK_SRC_NONE || !strcmp(t, "none") || !t[0]);
    return v;
}

static vk_status read_rec(vk_store *s, sqlite3_stmt *st, int n_images, vk_path_rec *rec,
                          vk_err *err)
{
    vk_path_rec r;
    const char *bad = NULL;
    int src_ok = 1;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(st, 0);
    if (!take_text(r.genome, sizeof r.genome, st, 1, TXT_GENOME, 0))
        bad = "genome (1 to " STR(VK_MAX_LAYERS) " encoders of F, S, R, H with :k/:f expected)";
    else if (!take_text(r.board, sizeof r.board, st, 2, TXT_PRINT, 0))
        bad = "board";
    else if (!take_figure(&r.top1, st, 3, 100, 0))
        bad = "top1";
    else if (!take_figure(&r.m.latency_ms, st, 4, 1e12, 0) ||
             !take_figure(&r.m.latency_p10_ms, st, 5, 1e12, 1) ||
             !take_figure(&r.m.latency_p90_ms, st, 6, 1e12, 1))
        bad = "latency";
    else if (!take_figure(&r.m.energy_mj, st, 8, 1e12, 1))
        bad = "energy";
    else if (!take_text(r.m.note, sizeof r.m.note, st, 10, TXT_PRINT, 1))
        bad = "note";
    else if (!take_text(r.model_hash, sizeof r.model_hash, st, 20, TXT_HEX, 0))
        bad = "model_hash";
    r.m.latency_src = src_of(st, 7, &src_ok);
    r.m.energy_src = src_of(st, 9, &src_ok);
    if (!bad && !src_ok)
        bad = "latency or energy source";
    if (bad)
        return vk_fail(err, VK_E_FORMAT, "%s: path %lld: stored %s is NULL, too long, out of "
                       "range or of unexpected characters (a foreign or tampered database)",
                       s->path, (long long)r.id, bad);
    r.m.cycles = (uint64_t)sqlite3_column_int64(st, 11);
    r.m.ddr_bytes = (uint64_t)sqlite3_column_int64(st, 12);
    r.m.macs = (uint64_t)sqlite3_column_int64(st, 13);
    r.m.macs_skipped = (uint64_t)sqlite3_column_int64(st, 14);
    if (sqlite3_column_bytes(st, 15) == (int)sizeof r.m.stage_cycles)
        memcpy(r.m.stage_cycles, sqlite3_column_blob(st, 15), sizeof r.m.stage_cycles);
    if (sqlite3_column_bytes(st, 16) == (int)sizeof r.m.suffix_ms)
        memcpy(r.m.suffix_ms, sqlite3_column_blob(st, 16), sizeof r.m.suffix_ms);
    if (sqlite3_column_bytes(st, 17) == (int)sizeof r.m.suffix_mj)
        memcpy(r.m.suffix_mj, sqlite3_column_blob(st, 17), sizeof r.m.suffix_mj);
    for (int k = 0; k <= VK_MAX_LAYERS; k++)
        if (!isfinite(r.m.suffix_ms[k]) || r.m.suffix_ms[k] < 0 || !isfinite(r.m.suffix_mj[k]) ||
            r.m.suffix_mj[k] < 0)
            return vk_fail(err, VK_E_FORMAT, "%s: path %lld: stored suffix costs are not "
                           "finite and >= 0 (a foreign or tampered database)", s->path,
                           (long long)r.id);
    r.m.n_images = sqlite3_column_int(st, 19);
    if (n_images <= 0)
        n_images = r.m.n_images;
    if (r.m.n_images < 1 || sqlite3_column_bytes(st, 18) != 6 * r.m.n_images ||
        r.m.n_images != n_images)
        return vk_fail(err, VK_E_FORMAT, "%s: path %lld: per-image results of %d bytes for %d "
                       "images (corrupt row)", s->path, (long long)r.id,
                       sqlite3_column_bytes(st, 18), r.m.n_images);
    r.res = calloc((size_t)n_images + 1, sizeof *r.res);
    if (!r.res)
        return vk_fail(err, VK_E_NOMEM, "out of memory");
    get_results(r.res, sqlite3_column_blob(st, 18), n_images);
    *rec = r;
    return VK_OK;
}

vk_status vk_store_path_find(vk_store *s, const char *model_hash, const char *data_hash,
                             const char *board, const char *genome, int n_images,
                             vk_path_rec *rec, int *found, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " PATH_COLS " FROM paths WHERE model_hash=? AND "
                               "data_hash=? AND board=? AND genome=? AND n_images=?");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_text(st, 1, model_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, data_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, board, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, genome, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, n_images);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        rc = read_rec(s, st, n_images, rec, err);
        *found = rc == VK_OK;
    } else if (r == SQLITE_DONE) {
        *found = 0;
    } else {
        rc = dberr(s, err, "lookup");
    }
    sqlite3_finalize(st);
    return rc;
}

vk_status vk_store_path_get(vk_store *s, int64_t path_id, int n_images, vk_path_rec *rec,
                            vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " PATH_COLS " FROM paths WHERE id=?");
    vk_status rc;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, path_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = read_rec(s, st, n_images, rec, err);
    else
        rc = vk_fail(err, VK_E_NOTFOUND, "%s: no path %lld", s->path, (long long)path_id);
    sqlite3_finalize(st);
    return rc;
}

static vk_status link_run(vk_store *s, int64_t run_id, int64_t path_id)
{
    sqlite3_stmt *st = prep(s, "INSERT OR IGNORE INTO run_paths(run_id,path_id,seq) VALUES(?,?,"
                               "(SELECT coalesce(max(seq),0)+1 FROM run_paths WHERE run_id=?))");
    int r;
    if (!st)
        return VK_E_DB;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, path_id);
    sqlite3_bind_int64(st, 3, run_id);
    r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? VK_OK : VK_E_DB;
}

vk_status vk_store_path_insert(vk_store *s, int64_t run_id, const char *model_hash,
                               const char *data_hash, vk_path_rec *rec, int n_images,
                               vk_err *err)
{
    sqlite3_stmt *st = prep(
        s, "INSERT INTO paths(model_hash,data_hash,board,genome,n_images,top1,latency_ms,"
           "latency_p10_ms,latency_p90_ms,latency_src,energy_mj,energy_src,note,cycles,"
           "ddr_bytes,macs,macs_skipped,stage_cycles,suffix_ms,suffix_mj,results,created) "
           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(model_hash,data_hash,"
           "board,genome,n_images) DO NOTHING");
    uint8_t *blob = malloc((size_t)n_images * 6 + 1), sc[sizeof rec->m.stage_cycles];
    uint8_t sm[sizeof rec->m.suffix_ms], sj[sizeof rec->m.suffix_mj];
    char ts[32];
    vk_status rc = VK_OK;
    int64_t id;
    if (!st || !blob) {
        sqlite3_finalize(st);
        free(blob);
        return st ? vk_fail(err, VK_E_NOMEM, "out of memory") : dberr(s, err, "prepare");
    }
    put_results(blob, rec->res, n_images);
    memcpy(sc, rec->m.stage_cycles, sizeof sc);
    put_doubles(sm, rec->m.suffix_ms, VK_MAX_LAYERS + 1);
    put_doubles(sj, rec->m.suffix_mj, VK_MAX_LAYERS + 1);
    now(ts, sizeof ts);
    sqlite3_bind_text(st, 1, model_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, data_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rec->board, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rec->genome, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, n_images);
    sqlite3_bind_double(st, 6, rec->top1);
    sqlite3_bind_double(st, 7, rec->m.latency_ms);
    sqlite3_bind_double(st, 8, rec->m.latency_p10_ms);
    sqlite3_bind_double(st, 9, rec->m.latency_p90_ms);
    sqlite3_bind_text(st, 10, src_str(rec->m.latency_src), -1, SQLITE_STATIC);
    bind_energy(st, 11, rec->m.energy_mj, rec->m.energy_src);
    sqlite3_bind_text(st, 12, src_str(rec->m.energy_src), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, rec->m.note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)rec->m.cycles);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)rec->m.ddr_bytes);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)rec->m.macs);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)rec->m.macs_skipped);
    sqlite3_bind_blob(st, 18, sc, sizeof sc, SQLITE_STATIC);
    sqlite3_bind_blob(st, 19, sm, sizeof sm, SQLITE_STATIC);
    sqlite3_bind_blob(st, 20, sj, sizeof sj, SQLITE_STATIC);
    sqlite3_bind_blob(st, 21, blob, n_images * 6, SQLITE_STATIC);
    sqlite3_bind_text(st, 22, ts, -1, SQLITE_STATIC);
    if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
        rc = dberr(s, err, "cannot store the measurement");
        exec(s, "ROLLBACK");
        goto out;
    }
    if (sqlite3_changes(s->db) == 1) {
        id = sqlite3_last_insert_rowid(s->db);
    } else { /* stored by another process since our lookup: use its row */
        vk_path_rec got;
        int found = 0;
        rc = vk_store_path_find(s, model_hash, data_hash, rec->board, rec->genome, n_images,
                                &got, &found, err);
        if (rc == VK_OK && !found)
            rc = vk_fail(err, VK_E_DB, "%s: path %s: neither inserted nor found", s->path,
                         rec->genome);
        if (rc != VK_OK) {
            exec(s, "ROLLBACK");
            goto out;
        }
        id = got.id;
        memcpy(rec->res, got.res, (size_t)n_images * sizeof *rec->res);
        free(got.res);
        got.res = rec->res;
        *rec = got;
    }
    if ((run_id > 0 && link_run(s, run_id, id) != VK_OK) || exec(s, "COMMIT") != SQLITE_OK) {
        rc = dberr(s, err, "cannot store the measurement");
        exec(s, "ROLLBACK");
        goto out;
    }
    rec->id = id;
out:
    sqlite3_finalize(st);
    free(blob);
    return rc;
}

vk_status vk_store_run_eval(vk_store *s, int64_t run_id, int64_t path_id, vk_err *err)
{
    if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK || link_run(s, run_id, path_id) != VK_OK ||
        exec(s, "COMMIT") != SQLITE_OK) {
        vk_status rc = dberr(s, err, "cannot record the evaluation");
        exec(s, "ROLLBACK");
        return rc;
    }
    return VK_OK;
}

vk_status vk_store_path_test_put(vk_store *s, int64_t path_id, const char *test_hash,
                                 int n_images, double top1, const vk_img_result *res,
                                 vk_err *err)
{
    char ts[32];
    uint8_t *blob;
    if (n_images < 1 || !isfinite(top1) || top1 < 0 || top1 > 100)
        return vk_fail(err, VK_E_ARG, "path %lld: a test top-1 of %g%% on %d images",
                       (long long)path_id, top1, n_images);
    if (!(blob = malloc((size_t)n_images * 6)))
        return vk_fail(err, VK_E_NOMEM, "out of memory");
    put_results(blob, res, n_images);
    sqlite3_stmt *st = prep(s, "INSERT INTO path_tests(path_id,test_hash,n_images,top1,results,"
                               "created) VALUES(?,?,?,?,?,?) ON CONFLICT(path_id,test_hash) "
                               "DO NOTHING");
    now(ts, sizeof ts);
    if (st) {
        sqlite3_bind_int64(st, 1, path_id);
        sqlite3_bind_text(st, 2, test_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, n_images);
        sqlite3_bind_double(st, 4, top1);
        sqlite3_bind_blob(st, 5, blob, n_images * 6, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
    }
    vk_status rc = write1(s, st, err, "cannot record the test figure");
    free(blob);
    return rc;
}

/* A path's stored test figure: *found = 0 when there is none; else *top1
 * and, when res is not NULL, its n per-image results (refused unless the
 * figure is on n images). */
static vk_status test_row(vk_store *s, int64_t path_id, const char *test_hash, double *top1,
                          int n, vk_img_result *res, int *found, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT top1,n_images,length(results),results FROM path_tests "
                               "WHERE path_id=? AND test_hash=?");
    vk_status rc = VK_OK;
    *found = 0;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, path_id);
    sqlite3_bind_text(st, 2, test_hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int m = sqlite3_column_int(st, 1);
        if (!take_figure(top1, st, 0, 100, 0) || m < 1 || sqlite3_column_int(st, 2) != 6 * m)
            rc = vk_fail(err, VK_E_FORMAT, "%s: path %lld: stored test figure is not a top-1 "
                         "in 0..100 with its per-image results (a foreign or tampered database)",
                         s->path, (long long)path_id);
        else if (res && m != n)
            rc = vk_fail(err, VK_E_FORMAT, "%s: path %lld: stored test figure is on %d images, "
                         "not the test set's %d", s->path, (long long)path_id, m, n);
        else
            *found = 1;
        if (*found && res)
            get_results(res, sqlite3_column_blob(st, 3), n);
    } else if (step != SQLITE_DONE) {
        rc = dberr(s, err, "cannot read the test figure");
    }
    sqlite3_finalize(st);
    return rc;
}

vk_status vk_store_path_test_get(vk_store *s, int64_t path_id, const char *test_hash,
                                 double *top1, int *found, vk_err *err)
{
    return test_row(s, path_id, test_hash, top1, 0, NULL, found, err);
}

vk_status vk_store_path_test_results(vk_store *s, int64_t path_id, const char *test_hash,
                                     int n, vk_img_result *res, int *found, vk_err *err)
{
    double top1;
    return test_row(s, path_id, test_hash, &top1, n, res, found, err);
}

vk_status vk_store_attempt(vk_store *s, int64_t run_id, const char *genome, const char *board,
                           int ok, const char *error, vk_err *err)
{
    char ts[32];
    sqlite3_stmt *st = prep(s, "INSERT INTO attempts(run_id,genome,board,ok,error,created) "
                               "VALUES(?,?,?,?,?,?)");
    now(ts, sizeof ts);
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, genome, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, board, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ok);
        sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
    }
    return write1(s, st, err, "cannot record the attempt");
}

vk_status vk_store_attempt_count(vk_store *s, int64_t run_id, int *ok, int *failed, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT coalesce(sum(ok),0), coalesce(sum(1-ok),0) FROM "
                               "attempts WHERE run_id=?");
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, run_id);
    *ok = *failed = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ok = sqlite3_column_int(st, 0);
        *failed = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    return VK_OK;
}

vk_status vk_store_hv(vk_store *s, int64_t run_id, int n_evals, double hv, double hv3,
                      vk_err *err)
{
    char ts[32];
    sqlite3_stmt *st = prep(s, "INSERT INTO hv_history(run_id,n_evals,hypervolume,created,"
                               "hypervolume3) VALUES(?,?,?,?,?) ON CONFLICT(run_id,n_evals) DO "
                               "UPDATE SET hypervolume=excluded.hypervolume,"
                               "hypervolume3=excluded.hypervolume3,created=excluded.created");
    now(ts, sizeof ts);
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, n_evals);
        sqlite3_bind_double(st, 3, hv);
        sqlite3_bind_text(st, 4, ts, -1, SQLITE_STATIC);
        if (hv3 >= 0)
            sqlite3_bind_double(st, 5, hv3);
        else
            sqlite3_bind_null(st, 5);
    }
    return write1(s, st, err, "cannot record the hypervolume");
}

vk_status vk_store_hv_at(vk_store *s, int64_t run_id, int n_evals, double *hv, double *hv3,
                         int *found, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT hypervolume, hypervolume3 FROM hv_history WHERE "
                               "run_id=? AND n_evals=? ORDER BY rowid DESC LIMIT 1");
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, n_evals);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found) {
        *hv = sqlite3_column_double(st, 0);
        *hv3 = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return dberr(s, err, "cannot read the hypervolume history");
    return VK_OK;
}

vk_status vk_store_backup(vk_store *s, const char *dest, vk_err *err)
{
    sqlite3 *d = NULL;
    vk_status rc = VK_OK;
    if (sqlite3_open_v2(dest, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = vk_fail(err, VK_E_IO, "%s: cannot create (%s)", dest,
                     d ? sqlite3_errmsg(d) : "out of memory");
        sqlite3_close(d);
        return rc;
    }
    sqlite3_backup *b = sqlite3_backup_init(d, "main", s->db, "main");
    if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE)
        rc = vk_fail(err, VK_E_IO, "%s: cannot copy %s into it (%s)", dest, s->path,
                     sqlite3_errmsg(d));
    sqlite3_backup_finish(b);
    sqlite3_close(d);
    return rc;
}

vk_status vk_store_cascade_insert(vk_store *s, vk_cascade_rec *c, vk_err *err)
{
    if (c->has_test && !(c->top1_test >= 0 && c->top1_test <= 100 && c->escalated_test >= 0 &&
                        c->escalated_test <= 1))
        return vk_fail(err, VK_E_ARG, "cascade: a test top-1 of %g%% with %g escalated",
                       c->top1_test, c->escalated_test);
    /* stored again (a resumed run): the row keeps its id and gains a test
       figure it lacked */
    sqlite3_stmt *st = prep(s, "INSERT INTO cascades(run_id,low,high,threshold_q16,resume,top1,"
                               "escalated,latency_ms,energy_mj,latency_scratch_ms,"
                               "energy_scratch_mj,top1_test,escalated_test) VALUES(?,?,?,?,?,?,?,"
                               "?,?,?,?,?,?) ON CONFLICT(run_id,low,high,threshold_q16,resume) DO "
                               "UPDATE SET top1_test=coalesce(top1_test,excluded.top1_test),"
                               "escalated_test=coalesce(escalated_test,excluded.escalated_test) "
                               "RETURNING id");
    vk_status rc;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, c->run_id);
    sqlite3_bind_int64(st, 2, c->low);
    sqlite3_bind_int64(st, 3, c->high);
    sqlite3_bind_int(st, 4, c->threshold_q16);
    sqlite3_bind_int(st, 5, c->resume);
    sqlite3_bind_double(st, 6, c->top1);
    sqlite3_bind_double(st, 7, c->escalated);
    sqlite3_bind_double(st, 8, c->latency_ms);
    sqlite3_bind_double(st, 9, c->energy_mj);
    sqlite3_bind_double(st, 10, c->latency_scratch_ms);
    sqlite3_bind_double(st, 11, c->energy_scratch_mj);
    if (c->has_test) {
        sqlite3_bind_double(st, 12, c->top1_test);
        sqlite3_bind_double(st, 13, c->escalated_test);
    }
    int64_t id = -1;
    if (exec(s, "BEGIN IMMEDIATE") == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        if (sqlite3_step(st) != SQLITE_DONE)
            id = -1;
    }
    sqlite3_finalize(st);
    if (id < 0 || exec(s, "COMMIT") != SQLITE_OK) {
        rc = dberr(s, err, "cannot store the cascade");
        exec(s, "ROLLBACK");
        return rc;
    }
    c->id = id;
    return VK_OK;
}

/* Reads a cascade row; refuses (VK_E_FORMAT) one whose figures are not
 * finite and >= 0, whose top-1 or escalated share (validation or test) is
 * out of range, whose test figures are half there, or whose resume point
 * is not an encoder count. */
static vk_status read_cascade(vk_store *s, sqlite3_stmt *st, vk_cascade_rec *c, vk_err *err)
{
    vk_cascade_rec x;
    x.id = sqlite3_column_int64(st, 0);
    x.run_id = sqlite3_column_int64(st, 1);
    x.low = sqlite3_column_int64(st, 2);
    x.high = sqlite3_column_int64(st, 3);
    x.threshold_q16 = sqlite3_column_int(st, 4);
    x.resume = sqlite3_column_int(st, 5);
    x.top1_test = x.escalated_test = 0;
    int no_test = sqlite3_column_type(st, 12) == SQLITE_NULL;
    x.has_test = !no_test;
    if (x.resume < 0 || x.resume > VK_MAX_LAYERS || !take_figure(&x.top1, st, 6, 100, 0) ||
        !take_figure(&x.escalated, st, 7, 1, 0) || !take_figure(&x.latency_ms, st, 8, 1e12, 0) ||
        !take_figure(&x.energy_mj, st, 9, 1e12, 1) ||
        !take_figure(&x.latency_scratch_ms, st, 10, 1e12, 0) ||
        !take_figure(&x.energy_scratch_mj, st, 11, 1e12, 1) ||
        no_test != (sqlite3_column_type(st, 13) == SQLITE_NULL) ||
        (!no_test && (!take_figure(&x.top1_test, st, 12, 100, 0) ||
                      !take_figure(&x.escalated_test, st, 13, 1, 0))))
        return vk_fail(err, VK_E_FORMAT, "%s: cascade %lld: stored figures out of range (a "
                       "foreign or tampered database)", s->path, (long long)x.id);
    *c = x;
    return VK_OK;
}

#define CASCADE_COLS                                                                           \
    "id,run_id,low,high,threshold_q16,resume,top1,escalated,latency_ms,energy_mj,"             \
    "latency_scratch_ms,energy_scratch_mj,top1_test,escalated_test"

vk_status vk_store_cascade_get(vk_store *s, int64_t id, vk_cascade_rec *c, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " CASCADE_COLS " FROM cascades WHERE id=?");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = read_cascade(s, st, c, err);
    else
        rc = vk_fail(err, VK_E_NOTFOUND, "%s: no cascade %lld", s->path, (long long)id);
    sqlite3_finalize(st);
    return rc;
}

static vk_status read_cascade_row(vk_store *s, sqlite3_stmt *st, void *row, vk_err *err)
{
    return read_cascade(s, st, row, err);
}

vk_status vk_store_cascade_list(vk_store *s, int64_t run_id, vk_cascade_rec **out, int *n,
                                vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " CASCADE_COLS " FROM cascades WHERE run_id=? "
                               "ORDER BY latency_ms");
    void *v = NULL;
    vk_status rc;
    if (st)
        sqlite3_bind_int64(st, 1, run_id);
    rc = read_rows(s, st, sizeof **out, read_cascade_row, "cannot read the cascades", &v, n, err);
    if (rc == VK_OK)
        *out = v;
    return rc;
}

vk_status vk_store_replay_insert(vk_store *s, const char *config, const char *board,
                                 const char *model_hash, double top1, const vk_measure *m,
                                 vk_err *err)
{
    char ts[32];
    sqlite3_stmt *st = prep(s, "INSERT INTO replays(config,board,model_hash,top1,latency_ms,"
                               "latency_src,energy_mj,energy_src,note,created) "
                               "VALUES(?,?,?,?,?,?,?,?,?,?)");
    now(ts, sizeof ts);
    if (st) {
        sqlite3_bind_text(st, 1, config, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, board, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, model_hash, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, top1);
        sqlite3_bind_double(st, 5, m->latency_ms);
        sqlite3_bind_text(st, 6, src_str(m->latency_src), -1, SQLITE_STATIC);
        bind_energy(st, 7, m->energy_mj, m->energy_src);
        sqlite3_bind_text(st, 8, src_str(m->energy_src), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, m->note, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, ts, -1, SQLITE_STATIC);
    }
    return write1(s, st, err, "cannot store the replay");
}

static vk_status read_replay(vk_store *s, sqlite3_stmt *st, void *row, vk_err *err)
{
    vk_replay_rec *p = row;
    int ok;
    p->id = sqlite3_column_int64(st, 0);
    ok = take_text(p->config, sizeof p->config, st, 1, TXT_PRINT, 0) &&
         take_text(p->board, sizeof p->board, st, 2, TXT_PRINT, 1) &&
         take_text(p->model_hash, sizeof p->model_hash, st, 3, TXT_HEX, 1) &&
         take_figure(&p->top1, st, 4, 100, 1) && take_figure(&p->latency_ms, st, 5, 1e12, 1) &&
         take_figure(&p->energy_mj, st, 7, 1e12, 1) &&
         take_text(p->note, sizeof p->note, st, 9, TXT_PRINT, 1) &&
         take_text(p->created, sizeof p->created, st, 10, TXT_PRINT, 1);
    p->latency_src = src_of(st, 6, &ok);
    p->energy_src = src_of(st, 8, &ok);
    if (!ok)
        return vk_fail(err, VK_E_FORMAT, "%s: replay %lld: stored fields NULL, too long, out of "
                       "range or of unexpected characters (a foreign or tampered database)",
                       s->path, (long long)p->id);
    return VK_OK;
}

vk_status vk_store_replay_list(vk_store *s, vk_replay_rec **out, int *n, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT id,config,board,model_hash,top1,latency_ms,latency_src,"
                               "energy_mj,energy_src,note,created FROM replays ORDER BY id");
    void *v = NULL;
    vk_status rc = read_rows(s, st, sizeof **out, read_replay, "cannot read the replays", &v, n,
                             err);
    if (rc == VK_OK)
        *out = v;
    return rc;
}

vk_status vk_store_finetune_insert(vk_store *s, const vk_finetune_rec *f, const char *sidecar,
                                   vk_err *err)
{
    char ts[32];
    sqlite3_stmt *st = prep(s, "INSERT INTO finetunes(path_id,parent_id,run_id,model,val_top1,"
                               "test_top1,sidecar,created) VALUES(?,?,?,?,?,?,?,?)");
    now(ts, sizeof ts);
    if (st) {
        sqlite3_bind_int64(st, 1, f->path_id);
        sqlite3_bind_int64(st, 2, f->parent_id);
        sqlite3_bind_int64(st, 3, f->run_id);
        sqlite3_bind_text(st, 4, f->model, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, f->val_top1);
        sqlite3_bind_double(st, 6, f->test_top1);
        sqlite3_bind_text(st, 7, sidecar, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, ts, -1, SQLITE_STATIC);
    }
    return write1(s, st, err, "cannot store the fine-tuned path's link");
}

static vk_status read_finetune(vk_store *s, sqlite3_stmt *st, void *row, vk_err *err)
{
    vk_finetune_rec *f = row;
    f->path_id = sqlite3_column_int64(st, 0);
    f->parent_id = sqlite3_column_int64(st, 1);
    f->run_id = sqlite3_column_int64(st, 2);
    if (!take_text(f->model, sizeof f->model, st, 3, TXT_PRINT, 0) ||
        !take_figure(&f->val_top1, st, 4, 100, 1) || !take_figure(&f->test_top1, st, 5, 100, 1) ||
        !take_text(f->created, sizeof f->created, st, 6, TXT_PRINT, 1))
        return vk_fail(err, VK_E_FORMAT, "%s: fine-tuned path %lld: stored fields NULL, too "
                       "long, out of range or of unexpected characters (a foreign or tampered "
                       "database)", s->path, (long long)f->path_id);
    return VK_OK;
}

/* The fine-tune links of a query (bound by the caller); *out owned. */
static vk_status finetune_rows(vk_store *s, sqlite3_stmt *st, vk_finetune_rec **out, int *n,
                               vk_err *err)
{
    void *v = NULL;
    vk_status rc = read_rows(s, st, sizeof **out, read_finetune, "cannot read the fine-tuned "
                             "paths", &v, n, err);
    if (rc == VK_OK)
        *out = v;
    return rc;
}

#define FINETUNE_COLS "path_id,parent_id,run_id,model,val_top1,test_top1,created FROM finetunes"

vk_status vk_store_finetune_get(vk_store *s, int64_t path_id, vk_finetune_rec *f, int *found,
                                vk_err *err)
{
    vk_finetune_rec *v;
    int n;
    sqlite3_stmt *st = prep(s, "SELECT " FINETUNE_COLS " WHERE path_id=?");
    if (st)
        sqlite3_bind_int64(st, 1, path_id);
    vk_status rc = finetune_rows(s, st, &v, &n, err);
    if (rc != VK_OK)
        return rc;
    *found = n > 0;
    if (n > 0)
        *f = v[0];
    free(v);
    return VK_OK;
}

vk_status vk_store_finetune_list(vk_store *s, vk_finetune_rec **out, int *n, vk_err *err)
{
    return finetune_rows(s, prep(s, "SELECT " FINETUNE_COLS " ORDER BY path_id"), out, n, err);
}

void vk_store_rec_free(vk_path_rec *rec)
{
    if (!rec)
        return;
    free(rec->res);
    rec->res = NULL;
}

vk_status vk_store_check(vk_store *s, int *n_paths, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "PRAGMA integrity_check");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "integrity check");
    if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
        rc = vk_fail(err, VK_E_DB, "%s: integrity check failed: %s", s->path,
                     sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "?");
    sqlite3_finalize(st);
    if (rc != VK_OK)
        return rc;
    st = prep(s, "SELECT (SELECT count(*) FROM paths), (SELECT count(*) FROM paths WHERE "
                 "length(results) != 6 * n_images), (SELECT count(*) FROM (SELECT 1 FROM paths "
                 "GROUP BY model_hash, data_hash, board, genome, n_images HAVING count(*) > 1))");
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return dberr(s, err, "integrity check");
    }
    *n_paths = sqlite3_column_int(st, 0);
    if (sqlite3_column_int(st, 1) || sqlite3_column_int(st, 2))
        rc = vk_fail(err, VK_E_DB, "%s: %d incomplete measurement rows, %d duplicated paths",
                     s->path, sqlite3_column_int(st, 1), sqlite3_column_int(st, 2));
    sqlite3_finalize(st);
    return rc;
}

vk_status vk_store_path_run(vk_store *s, int64_t path_id, int64_t *run_id, vk_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT run_id FROM run_paths WHERE path_id=? ORDER BY run_id");
    vk_status rc = VK_OK;
    if (!st)
        return dberr(s, err, "prepare");
    sqlite3_bind_int64(st, 1, path_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *run_id = sqlite3_column_int64(st, 0);
    else
        rc = vk_fail(err, VK_E_NOTFOUND, "%s: no run evaluated path %lld", s->path,
                     (long long)path_id);
    sqlite3_finalize(st);
    return rc;
}
