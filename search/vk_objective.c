/* vk_objective: names and cost formula of the objectives (see vk_objective.h). */
#include "vk_objective.h"

#include <string.h>

static const char *const names[] = {"latency", "energy", "edp"};

const char *vk_objective_name(vk_objective o)
{
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

vk_status vk_objective_parse(const char *s, vk_objective *o, vk_err *err)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i])) {
            *o = (vk_objective)i;
            return VK_OK;
        }
    return vk_fail(err, VK_E_ARG, "objective '%s': expected latency, energy or edp", s);
}

double vk_objective_cost(vk_objective o, double latency_ms, double energy_mj)
{
    return o == VK_OBJ_ENERGY ? energy_mj : o == VK_OBJ_EDP ? energy_mj * latency_ms : latency_ms;
}
