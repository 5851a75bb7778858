/* test_cycles: the cycle/energy model against counts worked out by hand for
 * a tiny configuration, skipping, resume/save, double buffering, the
 * cascade mean and the energy formula.
 *
 * Tiny model: image 4, patch 2, 1 channel (G = 2, T = 5, PD = 4), D = 8,
 * 2 heads (dh = 4), MLP 16, 3 classes, 2 encoders.
 * Test design: clock 100 MHz, PE 64, lanes 64, softmax 16 (max pass 1),
 * LN 8, act 1, io 1, head 64, weight load 1 B/cycle, AXI 128 bits
 * (16 B/cycle), DDR 12.8 GB/s (128 B/cycle), serial, depth 10, div 68.
 * loop(trip, lanes) = ceil(trip / lanes) + 10.
 * linear(n_tok, n_in, n_out), one tile (n_out <= 64, p = n_out):
 *   load = p * n_in / 1 + 10; comp = n_tok * ((p+10) + (ceil(n_in/64)+10) + (p+10)).
 *
 * EMBED: embed_cls loop(8,1) = 18; per patch: embed_pos 18 + gather
 *   loop(4,1) = 14 + linear(1,4,8) [load 32+10 = 42, comp 1*(18+11+18) = 47]
 *   = 121; 4 patches = 484; EMBED = 502.
 * LN row: 3 * loop(8,8) = 33, + 3 * 68 = 204, + isqrt loop(32,1) = 42: 279.
 *   LN1 = 5 * 279 = 1395, LN2 = 1395.
 * QKV = linear(5,8,24): load 192+10 = 202, comp 5*(34+11+34) = 395: 597.
 * QK = 2 heads * 5 queries * loop(5,64) = 10 * 11 = 110.
 * SOFTMAX per query: loop(4,1) = 14 + 2 * loop(5,16) = 22 + 68 = 104; * 10 = 1040.
 * AV per query: av_init loop(4,1) = 14 + av_vtile loop(5,64) = 11 + av_store 14
 *   = 39; * 10 = 390.
 * PROJ = linear(5,8,8): load 64+10 = 74, comp 5*(18+11+18) = 235: 309.
 * MLP = fc1 linear(5,8,16) [load 138, comp 5*(26+11+26) = 315: 453]
 *   + act loop(80,1) = 90 + fc2 linear(5,16,8) [load 138, comp 235: 373] = 916.
 * HEAD: LN row 279 + 3 classes * loop(8, min(64, 16)) = 3 * 11 = 33
 *   + argmax and ent_max 2 * loop(2,1) = 24 + ent_sum loop(3,1) = 13
 *   + log2 loop(63,1) = 73 + div 68 + out_logits loop(3,1) = 13: 503.
 * Encoder, attention computed: 2790 + 597 + 110 + 1040 + 390 + 309 + 916 = 6152;
 *   skipped: LN2 1395 + MLP 916 = 2311.
 * MACs: embed 4*4*8 = 128; QKV 5*8*24 = 960; QK + AV 2*2*5*5*4 = 400;
 *   proj 5*8*8 = 320; fc1 640; fc2 640; head 24.
 * act load/save: loop(5*8, 1) = 50. */
#include <math.h>
#include <string.h>

#include "boards/vk_cycles.h"
#include "tests/vk_test.h"

static vk_cycles_hw test_hw(void)
{
    vk_cycles_hw hw;
    memset(&hw, 0, sizeof hw);
    strcpy(hw.board, "test");
    hw.clock_mhz = 100;
    hw.mac_pe = 64;
    hw.mac_lanes = 64;
    hw.int8_macs_per_dsp = 2;
    hw.dsp_total = 2520;
    hw.softmax_lanes = 16;
    hw.softmax_max_lanes = 1;
    hw.ln_lanes = 8;
    hw.act_lanes = 1;
    hw.io_lanes = 1;
    hw.head_lanes = 64;
    hw.wt_load_bytes_per_cycle = 1;
    hw.axi_port_bits = 128;
    hw.ddr_bandwidth_gbs = 12.8;
    hw.double_buffered = 0;
    hw.pipeline_depth = 10;
    hw.div_cycles = 68;
    hw.static_power_w = 2;
    hw.pj_per_mac = 1;
    hw.pj_per_ddr_byte = 10;
    hw.pj_per_sram_byte = 0.5;
    return hw;
}

static const vk_cycles_dims tiny = {.image = 4,
                                    .patch = 2,
                                    .channels = 1,
                                    .dim = 8,
                                    .layers = 2,
                                    .heads = 2,
                                    .mlp = 16,
                                    .classes = 3,
                                    .tokens = 5};

static const uint32_t FF[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_FULL)};
static const uint32_t FS[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_SKIP)};
static const uint32_t SF[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_SKIP), VK_MODE(VK_ATTN_FULL)};

static void test_full_by_hand(void)
{
    vk_cycles_hw hw = test_hw();
    vk_cycles_count c;
    CHECK_EQ_INT(vk_cycles_dims_check(&tiny, "tiny", NULL), VK_OK);
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &c);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_EMBED], 502);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_LN], 2 * 2790);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_QKV], 2 * 597);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_QK], 2 * 110);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_SOFTMAX], 2 * 1040);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_AV], 2 * 390);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_PROJ], 2 * 309);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_MLP], 2 * 916);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_HEAD], 503);
    CHECK_EQ_INT(c.cycles, 502 + 2 * 6152 + 503);
    CHECK_EQ_INT(c.macs, 128 + 2 * (960 + 400 + 320 + 640 + 640) + 24);
    CHECK_EQ_INT(c.sram_bytes, 2 * c.macs);
    /* serial design: every tile load is exposed: 4 * 42 (embed) + per encoder
       202 + 74 + 138 + 138 */
    CHECK_EQ_INT(c.load_cycles, 4 * 42 + 2 * (202 + 74 + 138 + 138));
    /* DDR bytes: par header + final LN + head consts 4*(32+16+9) = 228; image 16
       + patch/tok0 par 4*(24+40) = 256; patch weights 4 patches * 32 = 128;
       per encoder par 4*460 = 1840 and weights 192+64+128+128 = 512; head
       weights 24; out words 4*(4+3) = 28 */
    CHECK_EQ_INT(c.ddr_bytes, 228 + 16 + 256 + 128 + 2 * (1840 + 512) + 24 + 28);
}

static void test_skip_removes_attention(void)
{
    vk_cycles_hw hw = test_hw();
    vk_cycles_count f, s, s0;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &f);
    vk_cycles_run(&hw, &tiny, FS, 0, 0, &s);
    vk_cycles_run(&hw, &tiny, SF, 0, 0, &s0);
    CHECK_EQ_INT(s.cycles, 502 + 6152 + 2311 + 503);
    CHECK_EQ_INT(f.cycles - s.cycles, 1395 + 597 + 110 + 1040 + 390 + 309);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_LN], 2790 + 1395);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_QKV], 597);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_QK], 110);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_SOFTMAX], 1040);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_AV], 390);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_PROJ], 309);
    /* unchanged by skipping */
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_MLP], f.stage_cycles[VK_STAGE_MLP]);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_EMBED], f.stage_cycles[VK_STAGE_EMBED]);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_HEAD], f.stage_cycles[VK_STAGE_HEAD]);
    CHECK_EQ_INT(f.macs - s.macs, 960 + 400 + 320);
    CHECK_EQ_INT(f.ddr_bytes - s.ddr_bytes, 192 + 64); /* qkv and proj weights */
    /* which encoder is skipped does not matter for the count */
    CHECK_EQ_INT(s0.cycles, s.cycles);
    for (int st = 0; st < VK_STAGE_N; st++)
        CHECK_EQ_INT(s0.stage_cycles[st], s.stage_cycles[st]);
}

static void test_resume_and_save(void)
{
    vk_cycles_hw hw = test_hw();
    vk_cycles_count r1, r2, sv;
    vk_cycles_run(&hw, &tiny, FF, 1, 0, &r1);
    CHECK_EQ_INT(r1.stage_cycles[VK_STAGE_EMBED], 50); /* act_load, no embedding */
    CHECK_EQ_INT(r1.cycles, 50 + 6152 + 503);
    CHECK_EQ_INT(r1.macs, 960 + 400 + 320 + 640 + 640 + 24);
    vk_cycles_run(&hw, &tiny, FF, 2, 0, &r2);
    CHECK_EQ_INT(r2.cycles, 50 + 503);
    vk_cycles_run(&hw, &tiny, FS, 0, 1, &sv);
    CHECK_EQ_INT(sv.stage_cycles[VK_STAGE_EMBED], 502 + 50); /* + act_save */
    CHECK_EQ_INT(sv.cycles, 502 + 50 + 6152 + 2311 + 503);
}

static void test_double_buffer(void)
{
    /* PE = 8: QKV = linear(5,8,24) has 3 tiles of 8 rows:
       load = 64 + 10 = 74, comp = 5 * ((8+10) + (1+10) + (8+10)) = 235.
       serial: 3 * (74 + 235) = 927; double buffered: 74 + 235 + 235 + 235 = 779
       (the 2nd and 3rd loads hide under the 1st and 2nd computes). */
    vk_cycles_hw hw = test_hw();
    vk_cycles_count s, d;
    hw.mac_pe = 8;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &s);
    CHECK_EQ_INT(s.stage_cycles[VK_STAGE_QKV], 2 * 927);
    hw.double_buffered = 1;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &d);
    CHECK_EQ_INT(d.stage_cycles[VK_STAGE_QKV], 2 * 779);
    /* a load longer than the compute it hides under: 1/4 byte per cycle
       makes each QKV load 256 + 10 = 266 > 235: 266 + 266 + 266 + 235 */
    hw.wt_load_bytes_per_cycle = 0.25;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &d);
    CHECK_EQ_INT(d.stage_cycles[VK_STAGE_QKV], 2 * (3 * 266 + 235));
}

static void test_rates(void)
{
    /* the weight port caps the load rate: 64 B/cycle asked, 128-bit port
       gives 16: QKV load = ceil(192/16) + 10 = 22; comp 395 */
    vk_cycles_hw hw = test_hw();
    vk_cycles_count c;
    hw.wt_load_bytes_per_cycle = 64;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &c);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_QKV], 2 * (22 + 395));
    /* and DDR caps it below the port: 0.8 GB/s at 100 MHz = 8 B/cycle:
       ceil(192/8) + 10 = 34 */
    hw.ddr_bandwidth_gbs = 0.8;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &c);
    CHECK_EQ_INT(c.stage_cycles[VK_STAGE_QKV], 2 * (34 + 395));
}

static void test_energy_and_measure(void)
{
    vk_cycles_hw hw = test_hw();
    vk_cycles_count lo, hi;
    vk_measure m;
    vk_path_req req = {.modes = FF};
    double ms, mj;
    vk_cycles_run(&hw, &tiny, FF, 0, 0, &lo);
    ms = lo.cycles / 1e5; /* 100 MHz: 1e5 cycles per ms */
    CHECK(fabs(vk_cycles_ms(&hw, (double)lo.cycles) - ms) < 1e-12);
    mj = 2.0 * ms + (1.0 * lo.macs + 10.0 * lo.ddr_bytes + 0.5 * lo.sram_bytes) * 1e-9;
    CHECK(fabs(vk_cycles_mj(&hw, &lo) - mj) < 1e-12);

    vk_cycles_measure(&hw, &tiny, &req, 7, 0, &m);
    CHECK_EQ_INT(m.latency_src, VK_SRC_MODELED);
    CHECK_EQ_INT(m.energy_src, VK_SRC_MODELED);
    CHECK_STR_CONTAINS(m.note, "modeled");
    CHECK_STR_CONTAINS(m.note, "100 MHz");
    CHECK_EQ_INT(m.n_images, 7);
    CHECK_EQ_INT(m.cycles, lo.cycles);
    CHECK_EQ_INT(m.macs_skipped, 0);
    CHECK(fabs(m.latency_ms - ms) < 1e-12 && m.latency_p10_ms == m.latency_ms);
    CHECK(fabs(m.suffix_ms[0] - ms) < 1e-12);
    CHECK(fabs(m.suffix_ms[1] - (50 + 6152 + 503) / 1e5) < 1e-12);
    CHECK(fabs(m.suffix_ms[2] - (50 + 503) / 1e5) < 1e-12);
    CHECK(m.suffix_ms[3] == 0);

    /* cascade: low FS saving act after 1 encoder, high FF resuming there;
       1 of 4 images escalates: mean = low + high suffix / 4 */
    vk_path_req cas = {.modes = FS, .modes_high = FF, .threshold_q16 = 0, .resume = 1};
    vk_cycles_run(&hw, &tiny, FS, 0, 1, &lo);
    vk_cycles_run(&hw, &tiny, FF, 1, 0, &hi);
    CHECK_EQ_INT(lo.cycles, 502 + 50 + 6152 + 2311 + 503);
    vk_cycles_measure(&hw, &tiny, &cas, 4, 1, &m);
    CHECK_EQ_INT(m.n_escalated, 1);
    CHECK(fabs(m.latency_ms - (lo.cycles + hi.cycles / 4.0) / 1e5) < 1e-12);
    CHECK(fabs(m.energy_mj - (vk_cycles_mj(&hw, &lo) + vk_cycles_mj(&hw, &hi) / 4)) < 1e-12);
    CHECK_EQ_INT(m.cycles, (uint64_t)llround(lo.cycles + hi.cycles / 4.0));
    CHECK(fabs(m.suffix_ms[1] - hi.cycles / 1e5) < 1e-12); /* the high path's suffix */
    /* versus all attention from scratch (128 + 2*2960 + 24 = 6072 MACs): the
       low path does 128 + 2960 + 1280 + 24 = 4392, the high suffix 2960 + 24
       = 2984 a quarter of the time: 6072 - (4392 + 746) = 934 */
    CHECK_EQ_INT(m.macs, 4392 + 746);
    CHECK_EQ_INT(m.macs_skipped, 934);
}

static void test_roofline(void)
{
    vk_cycles_hw hw = test_hw();
    /* 4096 MACs per cycle at 100 MHz: 4096e5 MACs per ms */
    CHECK(fabs(vk_cycles_roofline_ms(&hw, 4096ull * 100000) - 1.0) < 1e-12);
}

static void test_dims_check(void)
{
    vk_cycles_dims d = tiny;
    vk_err err = {{0}};
    d.tokens = 6;
    CHECK_EQ_INT(vk_cycles_dims_check(&d, "m", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "tokens");
    d = tiny;
    d.heads = 3;
    CHECK_EQ_INT(vk_cycles_dims_check(&d, "m", &err), VK_E_UNSUPPORTED);
    d = tiny;
    d.mlp = VK_MAX_MLP + 1;
    CHECK_EQ_INT(vk_cycles_dims_check(&d, "m", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "mlp");
}

int main(void)
{
    RUN(test_full_by_hand);
    RUN(test_skip_removes_attention);
    RUN(test_resume_and_save);
    RUN(test_double_buffer);
    RUN(test_rates);
    RUN(test_energy_and_measure);
    RUN(test_roofline);
    RUN(test_dims_check);
    return vk_test_summary("cycles");
}
