/* vk_proxy: a cheap accuracy proxy of a path, computed on the host: its
 * top-1 on a small sample of the validation images with the kernel's own
 * integer arithmetic (vk_fast, through a vk_prefix cache so that paths
 * sharing their first encoders compute them once). On the sim board the
 * proxy equals the board's top-1 on the same images exactly; it is a
 * prediction of the measured top-1 (on more images, on the board) all the
 * same, never a stored figure.
 *
 * The sample is the first n images of the given set. A validation set is a
 * range of its source's seeded stratified order (vk_data.h), so its first n
 * images hold each class within two images of its share: a seeded
 * stratified subset, the same for every run on the same split.
 * Proxies are cached per genome for the life of the proxy (a search asks
 * for the same candidate many times).
 *
 * Lifecycle: vk_proxy_new (copies the n images and labels, builds the fast
 * context) -> vk_proxy_top1 any number of times -> vk_proxy_free. The
 * model and the set may be freed after vk_proxy_new. Used by one thread at
 * a time (each evaluation runs its images on all OpenMP threads).
 *
 *     vk_proxy *px;
 *     if (vk_proxy_new(&w.q, &vs, 96, &px, &err) != VK_OK) die(err.msg);
 *     double t;
 *     vk_proxy_top1(px, &genome, &t, &err);   // percent, on 96 images
 *     vk_proxy_free(px);
 */
#ifndef VK_PROXY_H
#define VK_PROXY_H

#include "../host/vk_workload.h"
#include "vk_genome.h"

#define VK_PROXY_DEFAULT_N 96 /* images (the predict strategy's default) */
#define VK_PROXY_MAX_N 100000

typedef struct vk_proxy vk_proxy;

/* A proxy of the model q on the first n (1..VK_PROXY_MAX_N) images of set
 * (fewer when the set has fewer: vk_proxy_n says how many). VK_E_ARG for n
 * out of range or an empty set, vk_fast_ctx_new's errors for the model,
 * VK_E_NOMEM. Caller owns *out; untouched on error. */
vk_status vk_proxy_new(const vk_qmodel *q, const vk_imageset *set, int n, vk_proxy **out,
                       vk_err *err);
void vk_proxy_free(vk_proxy *p); /* NULL is a no-op */
int vk_proxy_n(const vk_proxy *p); /* images the proxy runs */

/* Top-1 in percent of genome g on the proxy's images (from the cache when
 * g was asked before). VK_E_ARG when the kernel refuses g's mode words
 * (the message names the encoder), VK_E_NOMEM; *top1 untouched on error. */
vk_status vk_proxy_top1(vk_proxy *p, const vk_genome *g, double *top1, vk_err *err);
/* Genomes evaluated (cache misses) so far. */
long vk_proxy_evaluated(const vk_proxy *p);

#endif
