# Vitis HLS script: C simulation, synthesis and C/RTL co-simulation of the
# vitskip kernel for the ZCU102 (XCZU9EG-FFVB1156-2) at 200 MHz.
#
#   cd kernels/hls && vitis_hls -f run_hls.tcl            ;# csim + csynth
#   cd kernels/hls && VK_COSIM=1 vitis_hls -f run_hls.tcl ;# + cosim (slow)
#
# csim and cosim run kernels/tb/vk_tb.c on the golden sets in
# kernels/tb/golden (tiny: every mode; tiles: several tiles and chunks); the
# testbench's exit code is the verdict. The paths are made absolute here,
# because csim runs from <project>/<solution>/csim/build. Compare the
# synthesis report with expected_resources.txt (the repository's resource
# model, boards/vk_resource.c); none of this has been run by the project yet.
set here [file dirname [file normalize [info script]]]
set kdir [file normalize $here/..]
set golden "$kdir/tb/golden/tiny $kdir/tb/golden/tiles"
open_project -reset vk_hls
set_top vk_kernel_top
add_files $kdir/vk_kernel.c -cflags "-I$kdir"
add_files -tb $kdir/tb/vk_tb.c -cflags "-I$kdir"
open_solution -reset zcu102 -flow_target vitis
set_part xczu9eg-ffvb1156-2-e
create_clock -period 5.0 -name default
source $here/directives.tcl
csim_design -argv $golden
csynth_design
if {[info exists ::env(VK_COSIM)]} {
    cosim_design -argv $golden
}
exit
