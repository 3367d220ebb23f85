// instruction_sets() (symgrad/runtime/plan.hpp): what oneDNN and the chain compiler run on.

#include <utility>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "chain_jit.hpp"
#include "symgrad/runtime/plan.hpp"

namespace symgrad {

InstructionSets instruction_sets() {
  using dnnl::cpu_isa;
  const std::pair<cpu_isa, const char*> names[] = {
      {cpu_isa::sse41, "sse41"}, {cpu_isa::avx, "avx"}, {cpu_isa::avx2, "avx2"}, {cpu_isa::avx2_vnni, "avx2_vnni"},
      {cpu_isa::avx512_mic, "avx512_mic"}, {cpu_isa::avx512_mic_4ops, "avx512_mic_4ops"},
      {cpu_isa::avx512_core, "avx512_core"}, {cpu_isa::avx512_core_vnni, "avx512_core_vnni"},
      {cpu_isa::avx512_core_bf16, "avx512_core_bf16"}, {cpu_isa::avx512_core_amx, "avx512_core_amx"}};
  InstructionSets s;
  const cpu_isa effective = dnnl::get_effective_cpu_isa();
  s.onednn = fmt::format("isa {:#x}", static_cast<unsigned>(effective));  // one this table does not name
  for (const auto& [isa, name] : names) {
    if (isa == effective) s.onednn = name;
  }
  const fusion::ChainIsa chains = fusion::ChainJit::isa();
  s.chains = chains == fusion::ChainIsa::none ? "interpreted" : fusion::ChainJit::name(chains);
  return s;
}

}  // namespace symgrad
