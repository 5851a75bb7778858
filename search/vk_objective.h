/* vk_objective: what a search minimizes against error, in one place: its
 * names (as typed on the command line and stored with a run) and its cost
 * formula (latency in ms, energy in mJ, or their product, per image).
 *
 * Stateless and thread-safe.
 *
 *     vk_objective obj;
 *     if (vk_objective_parse("edp", &obj, &err) != VK_OK) die(err.msg);
 *     double c = vk_objective_cost(obj, m.latency_ms, m.energy_mj);
 *     printf("error vs %s: %g\n", vk_objective_name(obj), c);
 */
#ifndef VK_OBJECTIVE_H
#define VK_OBJECTIVE_H

#include "../host/vk_status.h"

typedef enum { VK_OBJ_LATENCY = 0, VK_OBJ_ENERGY = 1, VK_OBJ_EDP = 2 } vk_objective;

/* "latency", "energy" or "edp". */
const char *vk_objective_name(vk_objective o);

/* Parses a name; on anything else fails with VK_E_ARG saying what was
 * expected, *o untouched. */
vk_status vk_objective_parse(const char *s, vk_objective *o, vk_err *err);

/* The objective's cost of a path or cascade per image: latency_ms,
 * energy_mj, or energy_mj * latency_ms (EDP, mJ*ms). */
double vk_objective_cost(vk_objective o, double latency_ms, double energy_mj);

#endif
