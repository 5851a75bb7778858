# HLS directives for the vitskip kernel on the ZCU102 that are kept out of
# the C source (the loop pipelining, the dependences and the interfaces are
# pragmas next to the code they shape). The numbers follow
# kernels/vk_config.h; boards/zcu102.json describes the same build and the
# resource model (boards/vk_resource.c) counts the same banks.
#
# The on-chip memories are the members of the local struct `m` (vk_k_mem)
# in vk_kernel_top. Each is banked for the accesses its busiest loop makes
# in one cycle:
#   activations: the engine reads 64 inputs per cycle (eng_x)
set_directive_array_partition -type cyclic -factor 64 -dim 1 vk_kernel_top m.abuf
#   residual stream: 16 words per cycle (epilogue, LayerNorm)
set_directive_array_partition -type cyclic -factor 16 -dim 1 vk_kernel_top m.h
#   scores: 64 raw scores per cycle in (epilogue), 32 out (softmax)
set_directive_array_partition -type cyclic -factor 64 -dim 3 vk_kernel_top m.sbuf
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.sbuf
#   probabilities: the engine streams 64 per cycle (AV)
set_directive_array_partition -type cyclic -factor 64 -dim 3 vk_kernel_top m.pbuf
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.pbuf
#   every head's class row: the pruning sums all heads in one cycle
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.clsp
#   weight groups: a block row (64 bytes) out, 4 x 16 bytes in per cycle
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.wbuf
set_directive_array_partition -type complete -dim 2 vk_kernel_top m.wbuf
set_directive_array_partition -type cyclic -factor 64 -dim 4 vk_kernel_top m.wbuf
#   the stationary block: registers
set_directive_array_partition -type complete -dim 0 vk_kernel_top m.reg
#   accumulators: a token's 64 outputs per cycle, two tiles in flight
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.acc
set_directive_array_partition -type complete -dim 3 vk_kernel_top m.acc
#   layer constants: bias, multiplier and shift of 16 outputs per cycle
set_directive_array_partition -type cyclic -factor 16 -dim 1 vk_kernel_top m.lp
#   the softmax's and LayerNorm's per-row scalars
set_directive_array_partition -type complete -dim 1 vk_kernel_top m.smax
set_directive_bind_storage -type ram_2p -impl bram vk_kernel_top m.h
set_directive_bind_storage -type ram_2p -impl bram vk_kernel_top m.abuf
