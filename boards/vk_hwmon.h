/* vk_hwmon: measured board energy from the INA226 power monitors that Linux
 * exposes through hwmon (the ZCU102's rails; the kernel's
 * Documentation/hwmon/ina2xx.rst describes the files).
 *
 * vk_hwmon_open scans <root>/class/hwmon/hwmon<N>/ (root is "/sys" on a
 * board; tests pass a fixture folder) for devices whose `name` starts with
 * "ina226", and keeps each one whose `power1_input` (microwatts) reads as a
 * non-negative integer; `update_interval` (ms, optional) gives the sensor's
 * refresh period. A monitor with a missing or malformed power1_input is
 * skipped and named in vk_hwmon_warnings(); if no monitor is usable, open
 * fails. Other hwmon devices (PMBus regulators, temperature sensors) are
 * ignored. Rails are named from the ZCU102 map by the monitor's reference
 * designator ("ina226_u76" -> VCCPSINTFP); unmapped monitors keep their
 * hwmon name.
 *
 * Sampling: vk_hwmon_start takes one sample at once and then one every
 * period_ms on its own thread; vk_hwmon_stop takes a last sample, joins the
 * thread and integrates the summed power of all rails over time by the
 * trapezoid rule. The figure is the sum of the listed rails, not the 12 V
 * wall power of the board: say so wherever it is printed
 * (vk_hwmon_describe does).
 *
 * Lifecycle: open -> (start -> stop)* -> close. A vk_hwmon is used by one
 * thread at a time (its sampler thread is internal). Caller owns *h.
 *
 *     vk_hwmon *h;
 *     if (vk_hwmon_open("/sys", &h, &err) != VK_OK) energy_src = VK_SRC_NONE;
 *     vk_hwmon_start(h, 10, &err);
 *     run_images();
 *     vk_hwmon_stop(h, &joules, &watts, &err);
 *     vk_hwmon_close(h);
 */
#ifndef VK_HWMON_H
#define VK_HWMON_H

#include <stddef.h>

#include "../host/vk_status.h"

typedef struct vk_hwmon vk_hwmon;

/* Scans root/class/hwmon. VK_E_NOTFOUND when the folder is missing or has
 * no INA226 monitor, VK_E_FORMAT when none of them is usable (the message
 * names each one and why), VK_E_NOMEM. *h is untouched on error. */
vk_status vk_hwmon_open(const char *root, vk_hwmon **h, vk_err *err);

int vk_hwmon_n_rails(const vk_hwmon *h);
const char *vk_hwmon_rail(const vk_hwmon *h, int i);   /* "VCCPSINTFP" (or the device name) */
const char *vk_hwmon_device(const vk_hwmon *h, int i); /* "ina226_u76" */
/* Monitors skipped at open, "; "-separated ("" when none). */
const char *vk_hwmon_warnings(const vk_hwmon *h);
/* Largest update_interval of the rails in ms; 0 when none was readable. */
int vk_hwmon_update_ms(const vk_hwmon *h);

/* "sum of 2 INA226 rails: VCCPSINTFP (ina226_u76), VCCINT (ina226_u79); not
 * 12 V wall power" (truncated to len). */
void vk_hwmon_describe(const vk_hwmon *h, char *buf, size_t len);

/* One reading of the summed power of all rails, in watts. VK_E_IO (naming
 * the file) if a rail cannot be read now. */
vk_status vk_hwmon_read_w(const vk_hwmon *h, double *watts, vk_err *err);

/* Starts sampling every period_ms (1..10000). VK_E_ARG when already
 * started or period out of range; VK_E_IO if the first sample fails;
 * VK_E_NOMEM if the thread cannot be started. */
vk_status vk_hwmon_start(vk_hwmon *h, int period_ms, vk_err *err);

/* Stops sampling: *energy_j is the integrated energy of all rails since
 * start, *mean_w that energy over the elapsed time. VK_E_ARG when not
 * started; VK_E_IO when a sample failed meanwhile (the sampler stops at
 * the first failure). The sampler is stopped in every case; outputs are
 * untouched on error. */
vk_status vk_hwmon_stop(vk_hwmon *h, double *energy_j, double *mean_w, vk_err *err);

/* Stops a running sampler, frees everything. NULL is a no-op. */
void vk_hwmon_close(vk_hwmon *h);

#endif
