/* vk_clock: the monotonic clock (see vk_clock.h). */
#include "vk_clock.h"

#include <time.h>

double vk_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
