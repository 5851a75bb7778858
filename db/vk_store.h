/* vk_store: the SQLite database of runs, measured paths, cascades and
 * hypervolume history; the only code that includes sqlite3.h.
 *
 * Invariants: WAL mode, foreign keys on, every write in one BEGIN IMMEDIATE
 * transaction (one writer), so a process killed at any moment leaves each
 * measurement whole or absent. A path is measured at most once per (model
 * hash, data hash, board): that key is UNIQUE, and a search looks it up
 * before measuring; when another process stored the same path in the
 * meantime, the insert uses that row. Schema version in PRAGMA user_version
 * (VK_STORE_SCHEMA); a fresh file gets its schema under the write lock (so
 * concurrent first opens agree), an older one is migrated on open, one
 * transaction per version step (so a kill mid-upgrade leaves a consistent
 * older version); a newer database, or one without the vitskip marker in
 * `meta`, is refused untouched.
 *
 * An energy the board did not give (source none) is stored as NULL.
 *
 * Concurrency and failures: while another process holds the lock, every
 * read and write waits (a line on stderr once the wait passes 1 s) for at
 * most vk_store_set_wait's seconds (VK_STORE_WAIT_DEFAULT), then fails with
 * VK_E_BUSY. A full disk, a read-only file or folder and I/O errors fail
 * with VK_E_IO and a message naming the database and the cause; the failed
 * transaction is rolled back and everything committed before is kept.
 *
 * Nothing read is trusted: a row from a foreign or tampered file (NULLs,
 * over-long or non-printable text, a genome of more than VK_MAX_LAYERS
 * encoders or of other characters than vk_genome's text, a hash that is
 * not hex, non-finite or negative figures)
 * is refused with VK_E_FORMAT naming the row, before it reaches a caller.
 * Recording a run's hypervolume history and cascades again (a resumed run)
 * changes nothing.
 *
 * Per-image results blob: 6 bytes per image, little-endian int16 class then
 * int32 entropy (Q16 nats). Arrays of doubles are stored as little-endian
 * IEEE-754 blobs. The other blobs of a path (vk_measure's fields):
 *   stage_cycles  VK_STAGE_N little-endian uint64: cycles per image of
 *                 each vk_stage, in the enum's order (patch embedding,
 *                 LayerNorms, QKV, QK^T, softmax, AV, projection, MLP, head,
 *                 token pruning; boards/vk_board.h); a blob of another
 *                 length (an older stage list) reads as all zero, as from a
 *                 board that does not model stages (a measured one). Their
 *                 sum is the path's
 *                 modeled cycles (latency = cycles / clock), so each
 *                 stage's share of the latency is its share of the cycles.
 *   suffix_ms, suffix_mj  VK_MAX_LAYERS + 1 doubles: [k] = the path's
 *                 latency (energy) per image when resuming after k encoders,
 *                 [0] = the whole path; [k] - [k + 1] is encoder k + 1's cost
 *                 (with the patch embedding in encoder 1's).
 *
 *     vk_store *db;
 *     if (vk_store_open("run.db", &db, &err) != VK_OK) die(err.msg);
 *     vk_store_run_create(db, &run, &err);
 *     vk_store_path_insert(db, run.id, model_hash, data_hash, &rec, n_images, &err);
 *     vk_store_close(db);
 *
 * A vk_store is used by one thread at a time. */
#ifndef VK_STORE_H
#define VK_STORE_H

#include <stdint.h>

#include "../boards/vk_measure.h"
#include "../host/vk_status.h"

#define VK_STORE_SCHEMA 8
#define VK_STORE_WAIT_DEFAULT 300 /* seconds a locked database is waited for */

typedef struct vk_store vk_store;

typedef struct {
    int64_t id;
    char created[32];
    char model[512], data[512], calib[512];
    char model_hash[65], data_hash[65];
    int n_images;
    char boards[512];    /* comma-separated specs */
    char objective[16];  /* latency | energy | edp */
    double max_acc_drop, latency_budget_ms, energy_budget_mj;
    uint64_t seed;
    int budget, population;
    char status[16];     /* running | done | failed | interrupted (Ctrl-C) */
    char strategy[16];   /* nsga2 | random ("" = nsga2 on create) */
    int offspring;       /* NSGA-II children per generation */
    char space[64];      /* genes per encoder (vk_space_format; "" = FS on create) */
    char seed_genomes[16 * (VK_MAX_LAYERS * 9 + 1)]; /* the user's, comma-separated */
    /* Splits (schema 6): the run selects on its validation images (data_hash,
       n_images: what its paths were measured on) and reports on its test
       images (test_hash, n_test), which it never selected on. val is the
       validation source as given ("" = the default). A run stored before
       (test_hash "") selected and reported on the same images. */
    char val[512];
    char test_hash[65];
    int n_test;
    char test[512];      /* the test source as given ("" = data; schema 7) */
    int proxy_n;         /* predict: images of its accuracy proxy, the first of
                            the validation split (schema 8); 0: not a predict
                            run (a resume screens on the run's count) */
} vk_run_info;

/* One measured path. */
typedef struct {
    int64_t id;
    char genome[VK_MAX_LAYERS * 9 + 1]; /* vk_genome text (VK_GENOME_TEXT_MAX) */
    char board[256];
    char model_hash[65]; /* filled when read back */
    double top1;
    vk_measure m;
    vk_img_result *res; /* n_images entries, owned (free with vk_store_rec_free) */
} vk_path_rec;

vk_status vk_store_open(const char *path, vk_store **out, vk_err *err);
/* Opens an existing database to read it (show, export, replay, report):
 * never creates a file; VK_E_NOTFOUND when path does not exist, the same
 * refusals as vk_store_open for an empty, foreign or newer file. An older
 * schema is migrated first (the one write it makes). Writing through the
 * handle fails with VK_E_IO ("read-only"). */
vk_status vk_store_open_readonly(const char *path, vk_store **out, vk_err *err);
void vk_store_close(vk_store *s);
/* The longest wait for another process's lock, in seconds (0: fail at once). */
void vk_store_set_wait(vk_store *s, int seconds);

vk_status vk_store_run_create(vk_store *s, vk_run_info *r, vk_err *err); /* fills id */
vk_status vk_store_run_get(vk_store *s, int64_t id, vk_run_info *r, vk_err *err);
vk_status vk_store_run_set_status(vk_store *s, int64_t id, const char *status, vk_err *err);
/* A run's budget of evaluated paths (--resume RUN --budget N extends it). */
vk_status vk_store_run_set_budget(vk_store *s, int64_t id, int budget, vk_err *err);
/* Removes run id with its cascades (and their replays), hypervolume
 * history, attempts and fine-tuned links (finetune-plan), in one
 * transaction. Its measured paths stay, so that later searches still find
 * them, unless measurements = 1: then the paths no other run evaluated
 * and no cascade or fine-tuned link uses go too (with their replays and
 * test figures);
 * *n_removed counts them. VK_E_NOTFOUND for an unknown run. */
vk_status vk_store_run_remove(vk_store *s, int64_t id, int measurements, int *n_removed,
                              vk_err *err);
/* Ids of every run, newest last; *ids owned by caller (free). */
vk_status vk_store_run_list(vk_store *s, int64_t **ids, int *n, vk_err *err);

/* The dedup lookup: *found = 1 and rec filled (rec->res allocated) if the
 * genome was measured for this model, data and board. */
vk_status vk_store_path_find(vk_store *s, const char *model_hash, const char *data_hash,
                             const char *board, const char *genome, int n_images,
                             vk_path_rec *rec, int *found, vk_err *err);
/* Inserts a path and its measurement, and records that run `run_id`
 * evaluated it, in one transaction. rec->id is filled. If the path is
 * already stored (another process measured it meanwhile), that row is
 * used: rec gets its id and figures, rec->res its per-image results. */
vk_status vk_store_path_insert(vk_store *s, int64_t run_id, const char *model_hash,
                               const char *data_hash, vk_path_rec *rec, int n_images,
                               vk_err *err);
vk_status vk_store_path_get(vk_store *s, int64_t path_id, int n_images, vk_path_rec *rec,
                            vk_err *err);
/* Records that a run evaluated an already-measured path (idempotent). */
/* The first run that evaluated a path. */
vk_status vk_store_path_run(vk_store *s, int64_t path_id, int64_t *run_id, vk_err *err);
vk_status vk_store_run_eval(vk_store *s, int64_t run_id, int64_t path_id, vk_err *err);
/* Paths a run evaluated, in order; *ids owned by caller. */
vk_status vk_store_run_paths(vk_store *s, int64_t run_id, int64_t **ids, int *n, vk_err *err);

/* A path's top-1 on a test set (test_hash, n_images, per-image results
 * res[n_images]), measured after the search that selected it on other
 * images; storing it again for the same (path, test set) changes nothing. */
vk_status vk_store_path_test_put(vk_store *s, int64_t path_id, const char *test_hash,
                                 int n_images, double top1, const vk_img_result *res,
                                 vk_err *err);
/* *found = 0 when the path was not measured on that test set, else *top1. */
vk_status vk_store_path_test_get(vk_store *s, int64_t path_id, const char *test_hash,
                                 double *top1, int *found, vk_err *err);
/* The per-image results res[n] of a path on a test set of n images;
 * *found = 0 (res untouched) when it was not measured on that test set.
 * A stored figure of another image count is refused (VK_E_FORMAT). */
vk_status vk_store_path_test_results(vk_store *s, int64_t path_id, const char *test_hash,
                                     int n, vk_img_result *res, int *found, vk_err *err);

/* A board attempt: ok = 0 records a failure (never a result). */
vk_status vk_store_attempt(vk_store *s, int64_t run_id, const char *genome, const char *board,
                           int ok, const char *error, vk_err *err);
vk_status vk_store_attempt_count(vk_store *s, int64_t run_id, int *ok, int *failed, vk_err *err);
/* Hypervolume after n_evals evaluations: 2 objectives (error and the run's
 * cost) and 3 (error, latency, energy); hv3 < 0 records "not available"
 * (a board without energy figures). One row per (run, n_evals): recording
 * it again replaces it. */
vk_status vk_store_hv(vk_store *s, int64_t run_id, int n_evals, double hv, double hv3,
                      vk_err *err);
/* The last hypervolume recorded after n_evals evaluations; *found = 0 if
 * none; *hv3 = -1 when it was not available. */
vk_status vk_store_hv_at(vk_store *s, int64_t run_id, int n_evals, double *hv, double *hv3,
                         int *found, vk_err *err);
/* Copies the whole database into a new file dest (SQLite's online backup). */
vk_status vk_store_backup(vk_store *s, const char *dest, vk_err *err);

typedef struct {
    int64_t id, run_id, low, high; /* path ids */
    int32_t threshold_q16, resume;
    double top1, escalated;        /* escalated share of images */
    double latency_ms, energy_mj;  /* expected, high path resumed after `resume` */
    double latency_scratch_ms, energy_scratch_mj; /* high path from scratch (PIVOT) */
    int has_test;                  /* 0: no test figure (no test split measured, or
                                      stored before schema 7) */
    double top1_test, escalated_test; /* the same threshold on the run's test split,
                                         from the two paths' per-image test results */
} vk_cascade_rec;

/* Stores a cascade and fills c->id; a cascade the run already holds (same
 * paths, threshold and resume) is not stored twice: c->id is that one's,
 * and it gains c's test figures if it had none. */
vk_status vk_store_cascade_insert(vk_store *s, vk_cascade_rec *c, vk_err *err);
vk_status vk_store_cascade_get(vk_store *s, int64_t id, vk_cascade_rec *c, vk_err *err);
/* Cascades of a run; *out owned by caller. */
vk_status vk_store_cascade_list(vk_store *s, int64_t run_id, vk_cascade_rec **out, int *n,
                                vk_err *err);
vk_status vk_store_replay_insert(vk_store *s, const char *config, const char *board,
                                 const char *model_hash, double top1, const vk_measure *m,
                                 vk_err *err);

/* One board replay of a stored configuration (`vitskip replay`). */
typedef struct {
    int64_t id;
    char config[24];               /* "P12" (a path) or "C3" (a cascade) */
    char board[256];
    char model_hash[65];
    double top1;
    double latency_ms, energy_mj;
    vk_source latency_src, energy_src;
    char note[192];
    char created[32];
} vk_replay_rec;

/* Every stored replay, oldest first; *out owned by caller (free). */
vk_status vk_store_replay_list(vk_store *s, vk_replay_rec **out, int *n, vk_err *err);

/* A path measured on fine-tuned weights, linked to the path it was tuned
 * from (`vitskip finetune-plan`). The tuned path was evaluated by run_id,
 * whose model is the tuned checkpoint. */
typedef struct {
    int64_t path_id;   /* the tuned path */
    int64_t parent_id; /* the path it was tuned from */
    int64_t run_id;    /* the run that measured the tuned path */
    char model[512];   /* the tuned checkpoint folder */
    double val_top1, test_top1; /* the tuning sidecar's top-1 of the path, float
                                   (PyTorch): hold-out and test */
    char created[32];
} vk_finetune_rec;

/* Stores the link with the tuning's sidecar (finetune.json, kept whole). */
vk_status vk_store_finetune_insert(vk_store *s, const vk_finetune_rec *f, const char *sidecar,
                                   vk_err *err);
/* *found = 0 (f untouched) when path_id is not a fine-tuned path. */
vk_status vk_store_finetune_get(vk_store *s, int64_t path_id, vk_finetune_rec *f, int *found,
                                vk_err *err);
/* Every link, by tuned path id; *out owned by caller (free). */
vk_status vk_store_finetune_list(vk_store *s, vk_finetune_rec **out, int *n, vk_err *err);

/* PRAGMA integrity_check, plus every measurement row whole (its per-image
 * blob matches its image count) and no genome twice per model/data/board. */
vk_status vk_store_check(vk_store *s, int *n_paths, vk_err *err);

void vk_store_rec_free(vk_path_rec *rec);

#endif
