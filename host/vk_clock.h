/* vk_clock: the monotonic clock every timed figure of the host side reads.
 *
 * Seconds since an arbitrary fixed point (CLOCK_MONOTONIC): differences are
 * elapsed wall time, unaffected by changes of the system date. Stateless and
 * thread-safe.
 *
 *     double t0 = vk_clock_now();
 *     work();
 *     printf("%.3f s\n", vk_clock_now() - t0);
 */
#ifndef VK_CLOCK_H
#define VK_CLOCK_H

/* Monotonic seconds. */
double vk_clock_now(void);

#endif
