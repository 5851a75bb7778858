/* test_board_json: board files — the shipped boards/zcu102.json loads and
 * matches the compiled kernel; malformed files (not JSON, a missing field,
 * a wrong type, a negative clock, a fractional integer, a budget above
 * 1, a missing source, an unknown field, an engine or lanes that do not
 * match the kernel) are errors naming the file and the field, through the
 * parser and through `vk_board_open("sim:FILE")`. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boards/vk_board.h"
#include "boards/vk_cycles.h"
#include "tests/vk_test.h"

#define ZCU "boards/zcu102.json"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The shipped file with one field changed by edit(); returns the text. */
static char *variant(void (*edit)(cJSON *root))
{
    char *text = slurp(ZCU), *out;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return NULL;
    edit(root);
    out = cJSON_Print(root);
    cJSON_Delete(root);
    return out;
}

static void set_value(cJSON *root, const char *field, cJSON *v)
{
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, field), "value",
                                           v);
}

static void ed_missing(cJSON *r)
{
    cJSON_DeleteItemFromObjectCaseSensitive(r, "pj_per_mac");
}
static void ed_string(cJSON *r)
{
    set_value(r, "ddr_bandwidth_gbs", cJSON_CreateString("12.8"));
}
static void ed_negclock(cJSON *r)
{
    set_value(r, "clock_mhz", cJSON_CreateNumber(-200));
}
static void ed_fraction(cJSON *r)
{
    set_value(r, "ln_lanes", cJSON_CreateNumber(8.5));
}
static void ed_budget(cJSON *r)
{
    set_value(r, "dsp_budget", cJSON_CreateNumber(1.5));
}
static void ed_bare(cJSON *r)
{
    cJSON_ReplaceItemInObjectCaseSensitive(r, "engine_pe", cJSON_CreateNumber(64));
}
static void ed_nosource(cJSON *r)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "static_power_w"),
                                            "source");
}
static void ed_unknown(cJSON *r)
{
    cJSON_AddNumberToObject(r, "clok_mhz", 200);
}
static void ed_pe(cJSON *r)
{
    set_value(r, "engine_pe", cJSON_CreateNumber(32));
}
static void ed_sm(cJSON *r)
{
    set_value(r, "softmax_lanes", cJSON_CreateNumber(8));
}
static void ed_ports(cJSON *r)
{
    set_value(r, "weight_ports", cJSON_CreateNumber(2));
}

typedef struct {
    void (*edit)(cJSON *root);
    vk_status parse_rc; /* from vk_cycles_hw_parse */
    vk_status check_rc; /* from vk_cycles_hw_check_kernel, when parsing succeeds */
    const char *field;  /* named in the error */
} bad_case;

static const bad_case cases[] = {
    {ed_missing, VK_E_FORMAT, VK_OK, "pj_per_mac"},
    {ed_string, VK_E_FORMAT, VK_OK, "ddr_bandwidth_gbs.value"},
    {ed_negclock, VK_E_FORMAT, VK_OK, "clock_mhz.value"},
    {ed_fraction, VK_E_FORMAT, VK_OK, "ln_lanes.value"},
    {ed_budget, VK_E_FORMAT, VK_OK, "dsp_budget.value"},
    {ed_bare, VK_E_FORMAT, VK_OK, "engine_pe"},
    {ed_nosource, VK_E_FORMAT, VK_OK, "static_power_w.source"},
    {ed_unknown, VK_E_FORMAT, VK_OK, "clok_mhz"},
    {ed_pe, VK_OK, VK_E_MISMATCH, "engine_pe"},
    {ed_sm, VK_OK, VK_E_MISMATCH, "softmax_lanes"},
    {ed_ports, VK_OK, VK_E_MISMATCH, "weight_ports"},
};

static void test_shipped(void)
{
    vk_cycles_hw hw;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_cycles_hw_load(ZCU, &hw, &err), VK_OK);
    CHECK_EQ_INT(vk_cycles_hw_check_kernel(&hw, ZCU, &err), VK_OK);
    CHECK(hw.clock_mhz == 200);
    CHECK_EQ_INT(hw.engine_pe, VK_PE);
    CHECK_EQ_INT(hw.engine_lanes, VK_LANES);
    CHECK_EQ_INT(hw.softmax_lanes, VK_SM_LANES);
    CHECK_EQ_INT(hw.dsp_total, 2520);
    CHECK_EQ_INT(hw.bram36_total, 912);
    CHECK_EQ_INT(hw.lut_total, 274080);
    CHECK(hw.ddr_bandwidth_gbs > 0 && hw.ddr_bandwidth_gbs < 21.3); /* derated */
    CHECK_STR_CONTAINS(hw.board, "ZCU102");
}

static void test_not_json(void)
{
    vk_cycles_hw hw, before;
    vk_err err = {{0}};
    memset(&hw, 0x5A, sizeof hw);
    before = hw;
    CHECK_EQ_INT(vk_cycles_hw_parse("{\"board\": \"x\", ", "f.json", &hw, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "f.json");
    CHECK_STR_CONTAINS(err.msg, "not valid JSON");
    CHECK_EQ_INT(vk_cycles_hw_parse("[1, 2]", "f.json", &hw, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "object");
    CHECK_EQ_INT(vk_cycles_hw_parse("{\"clock_mhz\": {\"value\": 200, \"source\": \"s\"}}",
                                    "f.json", &hw, &err),
                 VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'board'");
    CHECK(memcmp(&hw, &before, sizeof hw) == 0); /* untouched on error */
    CHECK_EQ_INT(vk_cycles_hw_load("/nonexistent/zcu.json", &hw, &err), VK_E_IO);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/zcu.json");
}

static void test_bad_fields(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = variant(cases[i].edit);
        vk_cycles_hw hw;
        vk_err err = {{0}};
        vk_status rc;
        CHECK(text != NULL);
        if (!text)
            continue;
        rc = vk_cycles_hw_parse(text, "b.json", &hw, &err);
        CHECK_EQ_INT(rc, cases[i].parse_rc);
        if (rc == VK_OK) {
            rc = vk_cycles_hw_check_kernel(&hw, "b.json", &err);
            CHECK_EQ_INT(rc, cases[i].check_rc);
        }
        CHECK_STR_CONTAINS(err.msg, "b.json");
        CHECK_STR_CONTAINS(err.msg, cases[i].field);
        free(text);
    }
}

/* Through the board registry: the sim board refuses the file, naming it. */
static void test_sim_open(void)
{
    char path[64], spec[80];
    vk_board *b = NULL;
    vk_err err = {{0}};
    char *text = variant(ed_pe);
    FILE *f;
    snprintf(path, sizeof path, "/tmp/vk_test_board_%d.json", (int)getpid());
    f = fopen(path, "w");
    CHECK(f != NULL && text != NULL);
    if (!f || !text) {
        free(text);
        return;
    }
    fputs(text, f);
    fclose(f);
    snprintf(spec, sizeof spec, "sim:%s", path);
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_E_MISMATCH);
    CHECK_STR_CONTAINS(err.msg, path);
    CHECK_STR_CONTAINS(err.msg, "engine_pe");
    CHECK_STR_CONTAINS(err.msg, "VK_PE");
    free(text);
    text = variant(ed_negclock);
    f = fopen(path, "w");
    if (f && text) {
        fputs(text, f);
        fclose(f);
        CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_E_FORMAT);
        CHECK_STR_CONTAINS(err.msg, "clock_mhz");
    }
    free(text);
    remove(path);
    CHECK_EQ_INT(vk_board_open("sim:/nonexistent/b.json", &b, &err), VK_E_IO);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/b.json");
    CHECK_EQ_INT(vk_board_open("sim:" ZCU, &b, &err), VK_OK);
    vk_board_close(b);
}

int main(void)
{
    RUN(test_shipped);
    RUN(test_not_json);
    RUN(test_bad_fields);
    RUN(test_sim_open);
    return vk_test_summary("board_json");
}
