// Decoding, validation, description and encoding of core wasm modules.
#include "engine/loader.h"

#include "engine/loader_internal.h"

#include <cstdio>
#include <cstring>

#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/error.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"

namespace arcella::engine {

DecodedModule::DecodedModule() = default;
DecodedModule::DecodedModule(DecodedModule&&) noexcept = default;
DecodedModule& DecodedModule::operator=(DecodedModule&&) noexcept = default;
DecodedModule::~DecodedModule() = default;

namespace {

constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};  // "\0asm"

// The WebAssembly 2.0 feature set, and nothing beyond it.
wabt::Features CoreFeatures() {
  wabt::Features f;
  f.enable_mutable_globals();
  f.enable_multi_value();
  f.enable_bulk_memory();
  f.enable_reference_types();
  f.enable_sign_extension();
  f.enable_sat_float_to_int();
  f.enable_simd();
  f.disable_exceptions();
  f.disable_threads();
  f.disable_tail_call();
  f.disable_function_references();
  f.disable_gc();
  f.disable_memory64();
  f.disable_multi_memory();
  f.disable_extended_const();
  f.disable_relaxed_simd();
  f.disable_annotations();
  f.disable_code_metadata();
  return f;
}

// "invalid module at byte 0x1f: <first error>" (offset omitted if unknown).
Status FormatErrors(const wabt::Errors& errors, const char* fallback) {
  const wabt::Error* first = nullptr;
  for (const auto& e : errors) {
    if (e.error_level == wabt::ErrorLevel::Error) {
      first = &e;
      break;
    }
  }
  if (first == nullptr && !errors.empty()) first = &errors.front();
  std::string msg = "invalid module";
  if (first != nullptr && first->loc.offset != wabt::kInvalidOffset) {
    char buf[40];
    std::snprintf(buf, sizeof buf, " at byte 0x%zx", first->loc.offset);
    msg += buf;
  }
  msg += ": ";
  msg += first != nullptr ? first->message : fallback;
  if (errors.size() > 1) msg += " (+" + std::to_string(errors.size() - 1) + " more errors)";
  return Status::InvalidArgument(std::move(msg));
}

ValType ToValType(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32: return ValType::kI32;
    case wabt::Type::I64: return ValType::kI64;
    case wabt::Type::F32: return ValType::kF32;
    case wabt::Type::F64: return ValType::kF64;
    case wabt::Type::V128: return ValType::kV128;
    case wabt::Type::FuncRef: return ValType::kFuncRef;
    case wabt::Type::ExternRef: return ValType::kExternRef;
    default: return ValType::kI32;  // unreachable for validated 2.0 modules
  }
}

FuncType ToFuncType(const wabt::Module& m, const wabt::FuncDeclaration& decl) {
  const wabt::FuncSignature* sig = &decl.sig;
  if (decl.has_func_type) {
    if (const wabt::FuncType* ft = m.GetFuncType(decl.type_var)) sig = &ft->sig;
  }
  FuncType out;
  for (wabt::Type t : sig->param_types) out.params.push_back(ToValType(t));
  for (wabt::Type t : sig->result_types) out.results.push_back(ToValType(t));
  return out;
}

Limits ToLimits(const wabt::Limits& l) {
  Limits out;
  out.min = l.initial;
  out.has_max = l.has_max;
  out.max = l.max;
  return out;
}

ExternDesc FuncDesc(const wabt::Module& m, const wabt::Func& f) {
  ExternDesc d;
  d.kind = ExternKind::kFunc;
  d.func = ToFuncType(m, f.decl);
  return d;
}
ExternDesc TableDesc(const wabt::Table& t) {
  ExternDesc d;
  d.kind = ExternKind::kTable;
  d.limits = ToLimits(t.elem_limits);
  d.value_type = ToValType(t.elem_type);
  return d;
}
ExternDesc MemoryDesc(const wabt::Memory& mem) {
  ExternDesc d;
  d.kind = ExternKind::kMemory;
  d.limits = ToLimits(mem.page_limits);
  return d;
}
ExternDesc GlobalDesc(const wabt::Global& g) {
  ExternDesc d;
  d.kind = ExternKind::kGlobal;
  d.value_type = ToValType(g.type);
  d.mut = g.mutable_;
  return d;
}

bool IsSimdOpcode(wabt::Opcode op) { return op.GetPrefix() == 0xfd; }

bool SigUsesV128(const wabt::FuncSignature& sig) {
  for (wabt::Type t : sig.param_types)
    if (t == wabt::Type::V128) return true;
  for (wabt::Type t : sig.result_types)
    if (t == wabt::Type::V128) return true;
  return false;
}

bool ExprsUseSimd(const wabt::ExprList& exprs) {
  using namespace wabt;
  for (const Expr& e : exprs) {
    switch (e.type()) {
      case ExprType::SimdLaneOp:
      case ExprType::SimdLoadLane:
      case ExprType::SimdStoreLane:
      case ExprType::SimdShuffleOp:
      case ExprType::LoadSplat:
      case ExprType::LoadZero: return true;
      case ExprType::Const:
        if (cast<ConstExpr>(&e)->const_.type() == Type::V128) return true;
        break;
      case ExprType::Binary:
        if (IsSimdOpcode(cast<BinaryExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Compare:
        if (IsSimdOpcode(cast<CompareExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Convert:
        if (IsSimdOpcode(cast<ConvertExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Unary:
        if (IsSimdOpcode(cast<UnaryExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Ternary:
        if (IsSimdOpcode(cast<TernaryExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Load:
        if (IsSimdOpcode(cast<LoadExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Store:
        if (IsSimdOpcode(cast<StoreExpr>(&e)->opcode)) return true;
        break;
      case ExprType::Select:
        for (Type t : cast<SelectExpr>(&e)->result_type)
          if (t == Type::V128) return true;
        break;
      case ExprType::Block:
      case ExprType::Loop: {
        const Block& b = e.type() == ExprType::Block ? cast<BlockExpr>(&e)->block
                                                     : cast<LoopExpr>(&e)->block;
        if (SigUsesV128(b.decl.sig) || ExprsUseSimd(b.exprs)) return true;
        break;
      }
      case ExprType::If: {
        const IfExpr* ie = cast<IfExpr>(&e);
        if (SigUsesV128(ie->true_.decl.sig) || ExprsUseSimd(ie->true_.exprs) ||
            ExprsUseSimd(ie->false_))
          return true;
        break;
      }
      case ExprType::Try: {
        const TryExpr* te = cast<TryExpr>(&e);
        if (ExprsUseSimd(te->block.exprs)) return true;
        for (const Catch& c : te->catches)
          if (ExprsUseSimd(c.exprs)) return true;
        break;
      }
      default: break;
    }
  }
  return false;
}

bool ModuleUsesSimd(const wabt::Module& m) {
  using namespace wabt;
  for (const TypeEntry* t : m.types) {
    if (auto* ft = dyn_cast<wabt::FuncType>(t))
      if (SigUsesV128(ft->sig)) return true;
  }
  for (const Global* g : m.globals) {
    if (g->type == Type::V128 || ExprsUseSimd(g->init_expr)) return true;
  }
  for (const Func* f : m.funcs) {
    for (Type t : f->local_types)
      if (t == Type::V128) return true;
    if (ExprsUseSimd(f->exprs)) return true;
  }
  return false;
}

}  // namespace

bool IsComponentBinary(std::span<const uint8_t> bytes) {
  // Core: "\0asm" 01 00 00 00. Component: "\0asm" <version u16> 01 00 (layer 1).
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 4) == 0 && bytes[6] == 0x01 &&
         bytes[7] == 0x00;
}

void Describe(const wabt::Module& ir, DecodedModule* out) {
  using namespace wabt;
  out->imports.clear();
  out->exports.clear();
  out->func_names.clear();
  for (const Import* imp : ir.imports) {
    ImportDesc d;
    d.module = imp->module_name;
    d.name = imp->field_name;
    switch (imp->kind()) {
      case ExternalKind::Func: d.desc = FuncDesc(ir, cast<FuncImport>(imp)->func); break;
      case ExternalKind::Table: d.desc = TableDesc(cast<TableImport>(imp)->table); break;
      case ExternalKind::Memory: d.desc = MemoryDesc(cast<MemoryImport>(imp)->memory); break;
      case ExternalKind::Global: d.desc = GlobalDesc(cast<GlobalImport>(imp)->global); break;
      case ExternalKind::Tag: d.desc.kind = ExternKind::kTag; break;
    }
    out->imports.push_back(std::move(d));
  }
  for (const Export* exp : ir.exports) {
    ExportDesc d;
    d.name = exp->name;
    switch (exp->kind) {
      case ExternalKind::Func:
        if (const Func* f = ir.GetFunc(exp->var)) d.desc = FuncDesc(ir, *f);
        break;
      case ExternalKind::Table:
        if (const Table* t = ir.GetTable(exp->var)) d.desc = TableDesc(*t);
        break;
      case ExternalKind::Memory:
        if (const Memory* m = ir.GetMemory(exp->var)) d.desc = MemoryDesc(*m);
        break;
      case ExternalKind::Global:
        if (const Global* g = ir.GetGlobal(exp->var)) d.desc = GlobalDesc(*g);
        break;
      case ExternalKind::Tag: d.desc.kind = ExternKind::kTag; break;
    }
    out->exports.push_back(std::move(d));
  }
  out->func_names.resize(ir.funcs.size());
  for (size_t i = 0; i < ir.funcs.size(); ++i) {
    const std::string& n = ir.funcs[i]->name;
    if (!n.empty()) out->func_names[i] = n[0] == '$' ? n.substr(1) : n;
  }
  for (const Export* exp : ir.exports) {
    if (exp->kind != ExternalKind::Func || !exp->var.is_index()) continue;
    Index i = exp->var.index();
    if (i < out->func_names.size() && out->func_names[i].empty()) out->func_names[i] = exp->name;
  }
  for (size_t i = 0; i < out->func_names.size(); ++i) {
    if (out->func_names[i].empty()) out->func_names[i] = "func[" + std::to_string(i) + "]";
  }
  out->uses_simd = ModuleUsesSimd(ir);
}

namespace {

// WebAssembly 2.0 plus the proposals a tier runs: exceptions and tail calls
// (interpreter), several memories (both tiers). Multi-memory is not in the
// strict set because it also changes 2.0's binary format: the byte after
// memory.size/grow becomes a memory index, so a "long" zero (0x80 0x00),
// malformed in 2.0, would be read as memory 0.
wabt::Features InterpFeatures() {
  wabt::Features f = CoreFeatures();
  f.enable_exceptions();
  f.enable_tail_call();
  f.enable_multi_memory();
  return f;
}

// Everything wabt 1.0.32 can read: only used to name what a module uses.
wabt::Features AllFeatures() {
  wabt::Features f = InterpFeatures();
  f.enable_threads();
  f.enable_function_references();
  f.enable_memory64();
  f.enable_extended_const();
  f.enable_relaxed_simd();
  return f;
}

// Reads (and, if `validate`, validates) `wasm` with `features` into `ir`.
Status ReadIr(std::span<const uint8_t> wasm, const wabt::Features& features, bool validate,
              bool allow_tags, wabt::Module* ir) {
  wabt::ReadBinaryOptions options(features, /*log_stream=*/nullptr, /*read_debug_names=*/true,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  wabt::Errors errors;
  if (wabt::Failed(
          wabt::ReadBinaryIr("module.wasm", wasm.data(), wasm.size(), options, &errors, ir)))
    return FormatErrors(errors, "malformed binary");
  if (!validate) return Status::Ok();
  ARCELLA_RETURN_IF_ERROR(loader_internal::CheckCoreTypes(*ir, allow_tags));
  loader_internal::SanitizeNames(ir);
  errors.clear();
  wabt::ValidateOptions vopts(features);
  if (wabt::Failed(wabt::ValidateModule(ir, &errors, vopts)))
    return FormatErrors(errors, "validation failed");
  return Status::Ok();
}

// The strict 2.0 decode failed with `strict`: if the module uses a proposal
// a tier runs, decode it with that proposal; if it uses one no tier runs,
// name it; otherwise return `strict`.
Result<DecodedModule> DecodeExtended(std::span<const uint8_t> wasm, Status strict) {
  auto pf = PreflightModule(wasm);
  if (!pf.ok()) return strict;
  for (const FeatureUse& u : pf->features)
    if (!InterpreterSupports(u.feature))
      return Status::Unsupported(DescribeFeatureUse(u, "by this engine"));
  auto ir = std::make_unique<wabt::Module>();
  Status ext = ReadIr(wasm, InterpFeatures(), /*validate=*/true, /*allow_tags=*/true, ir.get());
  if (ext.ok()) {
    DecodedModule out;
    loader_internal::ScanFeatures(*ir, &out.extensions);
    // Accepted only because of a proposal: otherwise the strict error stands.
    if (out.extensions.empty()) return strict;
    out.ir = std::move(ir);
    Describe(*out.ir, &out);
    return out;
  }
  // Name a proposal in the code that no tier runs (atomics, relaxed SIMD, ...).
  auto all = std::make_unique<wabt::Module>();
  bool extended = !pf->features.empty();
  if (ReadIr(wasm, AllFeatures(), /*validate=*/false, true, all.get()).ok()) {
    std::vector<FeatureUse> uses;
    loader_internal::ScanFeatures(*all, &uses);
    for (const FeatureUse& u : uses) {
      if (!InterpreterSupports(u.feature))
        return Status::Unsupported(DescribeFeatureUse(u, "by this engine"));
      extended = extended || u.feature == Feature::kMultiMemory;
    }
  }
  // An invalid module that uses exceptions, tail calls or several memories:
  // the extended error.
  return extended ? ext : strict;
}

}  // namespace

Result<DecodedModule> Decode(std::span<const uint8_t> wasm) {
  if (wasm.empty()) return Status::InvalidArgument("not a wasm module: empty input");
  if (wasm.size() < 4 || std::memcmp(wasm.data(), kMagic, 4) != 0)
    return Status::InvalidArgument("not a wasm module: bad magic number");
  if (wasm.size() < 8)
    return Status::InvalidArgument("invalid module at byte 0x4: truncated header (" +
                                   std::to_string(wasm.size()) + " of 8 bytes)");
  if (IsComponentBinary(wasm))
    return Status::InvalidArgument("this is a WebAssembly component, not a core module");
  if (wasm[4] != 0x01 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "invalid module at byte 0x4: unsupported version %02x %02x %02x %02x "
                  "(expected 01 00 00 00)",
                  wasm[4], wasm[5], wasm[6], wasm[7]);
    return Status::InvalidArgument(buf);
  }

  ARCELLA_RETURN_IF_ERROR(loader_internal::PrescanConstExprs(wasm));

  auto ir = std::make_unique<wabt::Module>();
  Status strict = ReadIr(wasm, CoreFeatures(), /*validate=*/true, /*allow_tags=*/false, ir.get());
  if (!strict.ok()) return DecodeExtended(wasm, std::move(strict));
  DecodedModule out;
  out.ir = std::move(ir);
  Describe(*out.ir, &out);
  return out;
}

std::string AotBlocker(const DecodedModule& m) {
  if (m.uses_simd) return "SIMD (v128)";
  for (const FeatureUse& u : m.extensions)
    if (!AotSupports(u.feature)) return FeatureName(u.feature);
  return "";
}

Result<std::vector<uint8_t>> Encode(const wabt::Module& ir) {
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions options(InterpFeatures(), /*canonicalize_lebs=*/true,
                                   /*relocatable=*/false, /*write_debug_names=*/true);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, &ir, options)))
    return Status::Internal("encoding the module failed");
  return std::move(stream.output_buffer().data);
}

}  // namespace arcella::engine
