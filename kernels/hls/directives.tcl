# HLS directives for the vitskip kernel on the ZCU102, kept out of the C
# source so design variants need no #ifdef. The numbers here must match
# kernels/vk_config.h (VK_HLS_PE, VK_HLS_LANES, VK_HLS_SM_LANES) and
# boards/zcu102.json, which the sim board's cycle model reads.

# softmax: 16 exponentials per cycle (VK_HLS_SM_LANES); the exp/log tables
# become ROMs replicated per lane
set_directive_pipeline "vk_softmax_row_q8/sm_exp"
set_directive_unroll -factor 16 "vk_softmax_row_q8/sm_exp"
set_directive_pipeline "vk_softmax_row_q8/sm_max"
set_directive_pipeline "vk_softmax_row_q8/sm_norm"
set_directive_unroll -factor 16 "vk_softmax_row_q8/sm_norm"
# LayerNorm: one pass per loop, 8 channels per cycle
set_directive_pipeline "vk_layernorm_row/ln_sum"
set_directive_unroll -factor 8 "vk_layernorm_row/ln_sum"
set_directive_pipeline "vk_layernorm_row/ln_var"
set_directive_unroll -factor 8 "vk_layernorm_row/ln_var"
set_directive_pipeline "vk_layernorm_row/ln_out"
set_directive_unroll -factor 8 "vk_layernorm_row/ln_out"
# the residual stream and the activation buffers: banked so the MAC array
# reads VK_HLS_LANES int8 values per cycle
set_directive_array_partition -type cyclic -factor 64 -dim 1 "vk_kernel_top" xn
set_directive_array_partition -type cyclic -factor 64 -dim 1 "vk_kernel_top" ctx
set_directive_array_partition -type cyclic -factor 64 -dim 1 "vk_kernel_top" mid
set_directive_array_partition -type cyclic -factor 64 -dim 1 "vk_kernel_top" qkv
set_directive_bind_storage -type ram_2p -impl bram "vk_kernel_top" h
