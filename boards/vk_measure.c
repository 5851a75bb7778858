/* vk_measure: names of sources and stages (see vk_measure.h). */
#include "vk_measure.h"

const char *vk_source_str(vk_source s)
{
    switch (s) {
    case VK_SRC_NONE:
        return "none";
    case VK_SRC_MEASURED:
        return "measured";
    case VK_SRC_MODELED:
        return "modeled";
    }
    return "?";
}

const char *vk_stage_str(vk_stage s)
{
    static const char *names[VK_STAGE_N] = {"embed", "layernorm", "qkv",  "qk",   "softmax",
                                            "av",    "proj",      "mlp",  "head", "prune"};
    return (unsigned)s < VK_STAGE_N ? names[s] : "?";
}
