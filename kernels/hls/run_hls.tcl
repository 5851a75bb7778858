# Vitis HLS script: C simulation, synthesis and C/RTL co-simulation of the
# vitskip kernel for the ZCU102 (XCZU9EG-FFVB1156-2) at 200 MHz.
#
#   cd kernels/hls && vitis_hls -f run_hls.tcl            ;# csim + csynth
#   cd kernels/hls && VK_COSIM=1 vitis_hls -f run_hls.tcl ;# + cosim (slow)
#
# csim and cosim run kernels/tb/vk_tb.c on kernels/tb/golden (exit code is
# the verdict). Export: the .xo for v++ is made by `make -f vitis.mk xo`.
open_project -reset vk_hls
set_top vk_kernel_top
add_files ../vk_kernel.c -cflags "-I.."
add_files -tb ../tb/vk_tb.c -cflags "-I.."
add_files -tb ../tb/golden
open_solution -reset zcu102 -flow_target vitis
set_part xczu9eg-ffvb1156-2-e
create_clock -period 5.0 -name default
source directives.tcl
csim_design -argv "../../../../tb/golden"
csynth_design
if {[info exists ::env(VK_COSIM)]} {
    cosim_design -argv "../../../../tb/golden"
}
exit
