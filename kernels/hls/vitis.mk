# Builds vitskip.xclbin for a ZCU102 with AMD Vitis (not available in CI).
#   source /tools/Xilinx/Vitis/<ver>/settings64.sh
#   make -f kernels/hls/vitis.mk PLATFORM=xilinx_zcu102_base_202310_1 [TARGET=hw|hw_emu]
# Outputs build-vitis/vitskip.xclbin; copy it next to `vitskip` on the board
# (or set VITSKIP_XCLBIN) and use --board xrt:0.
PLATFORM ?= xilinx_zcu102_base_202310_1
TARGET ?= hw
OUTDIR ?= build-vitis
VPP ?= v++

.PHONY: xo xclbin
xclbin: $(OUTDIR)/vitskip.xclbin
xo: $(OUTDIR)/vk_kernel.xo

$(OUTDIR)/vk_kernel.xo: kernels/vk_kernel.c kernels/vk_kernel.h kernels/vk_int.h kernels/vk_config.h \
                       kernels/vk_loops.h kernels/hls/directives.tcl
	mkdir -p $(OUTDIR)
	$(VPP) -c -t $(TARGET) --platform $(PLATFORM) -k vk_kernel_top -I kernels \
	    --hls.pre_tcl kernels/hls/directives.tcl --kernel_frequency 200 \
	    -o $@ kernels/vk_kernel.c

$(OUTDIR)/vitskip.xclbin: $(OUTDIR)/vk_kernel.xo kernels/hls/link.cfg
	$(VPP) -l -t $(TARGET) --platform $(PLATFORM) --config kernels/hls/link.cfg -o $@ $<
