// Canonical definitions: lift, lower, resource.new/drop/rep and their
// options (CanonicalABI.md "Canonical Definitions"). The async built-ins and
// options of WASI 0.3 are refused as Unsupported.
#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

namespace {

const char* AsyncBuiltinName(uint8_t op) {
  switch (op) {
    case 0x05: return "task.cancel";
    case 0x06: return "subtask.cancel";
    case 0x09: return "task.return";
    case 0x0a: return "context.get";
    case 0x0b: return "context.set";
    case 0x0c: return "thread.yield";
    case 0x0d: return "subtask.drop";
    case 0x0e: return "stream.new";
    case 0x0f: return "stream.read";
    case 0x10: return "stream.write";
    case 0x11: return "stream.cancel-read";
    case 0x12: return "stream.cancel-write";
    case 0x13: return "stream.drop-readable";
    case 0x14: return "stream.drop-writable";
    case 0x15: return "future.new";
    case 0x16: return "future.read";
    case 0x17: return "future.write";
    case 0x18: return "future.cancel-read";
    case 0x19: return "future.cancel-write";
    case 0x1a: return "future.drop-readable";
    case 0x1b: return "future.drop-writable";
    case 0x1c: return "error-context.new";
    case 0x1d: return "error-context.debug-message";
    case 0x1e: return "error-context.drop";
    case 0x1f: return "waitable-set.new";
    case 0x20: return "waitable-set.wait";
    case 0x21: return "waitable-set.poll";
    case 0x22: return "waitable-set.drop";
    case 0x23: return "waitable.join";
    case 0x24: return "backpressure.inc";
    case 0x25: return "backpressure.dec";
    case 0x26: return "thread.index";
    case 0x27: return "thread.new-indirect";
    case 0x28: return "thread.resume-later";
    case 0x29: return "thread.suspend";
    case 0x2a: return "thread.suspend-then-resume";
    case 0x2b: return "thread.yield-then-resume";
    case 0x2c: return "thread.suspend-then-promote";
    case 0x2d: return "thread.yield-then-promote";
    case 0x40: return "thread.spawn-ref";
    case 0x41: return "thread.spawn-indirect";
    case 0x42: return "thread.available-parallelism";
    default: return nullptr;
  }
}

std::string Sig(const engine::FuncType& f) {
  auto list = [](const std::vector<engine::ValType>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) s += " ";
      s += engine::ValTypeName(v[i]);
    }
    return s + "]";
  };
  return list(f.params) + " -> " + list(f.results);
}

}  // namespace

Status Decoder::ReadCanonOpts(Reader& r, CanonOptions* out) {
  uint32_t n;
  ARCELLA_RETURN_IF_ERROR(r.Count(&n));
  bool have_encoding = false;
  static const char* const kEnc[] = {"utf8", "utf16", "latin1-utf16"};
  for (uint32_t i = 0; i < n; ++i) {
    size_t off = r.pos();
    uint8_t k;
    ARCELLA_RETURN_IF_ERROR(r.Byte(&k));
    switch (k) {
      case 0x00:
      case 0x01:
      case 0x02: {
        auto enc = static_cast<StringEncoding>(k);
        if (have_encoding) {
          return OffsetError(off, std::string("canonical encoding option `") +
                                      kEnc[static_cast<int>(out->string_encoding)] +
                                      "` conflicts with option `" + kEnc[k] + "`");
        }
        have_encoding = true;
        out->string_encoding = enc;
        break;
      }
      case 0x03:
      case 0x04:
      case 0x05: {
        uint32_t idx;
        size_t ioff = r.pos();
        ARCELLA_RETURN_IF_ERROR(r.U32(&idx));
        std::optional<uint32_t>* slot = k == 0x03   ? &out->memory
                                        : k == 0x04 ? &out->realloc
                                                    : &out->post_return;
        const char* name = k == 0x03 ? "memory" : k == 0x04 ? "realloc" : "post-return";
        if (slot->has_value()) {
          return OffsetError(off, std::string("canonical option `") + name +
                                      "` is specified more than once");
        }
        ARCELLA_RETURN_IF_ERROR(
            CheckIndex(ioff, k == 0x03 ? Sort::kCoreMemory : Sort::kCoreFunc, idx));
        *slot = idx;
        break;
      }
      case 0x06: return OffsetUnsupported(off, "the `async` canonical option (WASI 0.3) is");
      case 0x07: return OffsetUnsupported(off, "the `callback` canonical option (WASI 0.3) is");
      default:
        return OffsetError(off, "invalid leading byte (" + HexByte(k) + ") for canonical option");
    }
  }
  return Status::Ok();
}

Status Decoder::CheckCanonOpts(size_t off, const Canon& c, const FuncType& ft, bool lift) {
  const CanonOptions& o = c.opts;
  auto& funcs = scope().space(Sort::kCoreFunc);
  if (o.realloc) {
    if (!o.memory) {
      return OffsetError(off, "canonical option `realloc` requires `memory` to also be specified");
    }
    engine::FuncType want{{engine::ValType::kI32, engine::ValType::kI32, engine::ValType::kI32,
                           engine::ValType::kI32},
                          {engine::ValType::kI32}};
    if (!(funcs[*o.realloc].core.func == want)) {
      return OffsetError(off, "canonical option `realloc` uses a core function with an incorrect "
                              "signature: expected [i32 i32 i32 i32] -> [i32], found " +
                                  Sig(funcs[*o.realloc].core.func));
    }
  }
  FlatSig sig = FlattenFuncType(ft, lift);
  if (o.post_return) {
    if (!lift) {
      return OffsetError(off, "canonical option `post-return` cannot be specified for lowerings");
    }
    engine::FuncType want{sig.type.results, {}};
    if (!(funcs[*o.post_return].core.func == want)) {
      return OffsetError(off, "canonical option `post-return` uses a core function with an "
                              "incorrect signature: expected " +
                                  Sig(want) + ", found " + Sig(funcs[*o.post_return].core.func));
    }
  }
  // lift: params are lifted (need realloc to copy in), the result lowered;
  // lower: params lowered (need memory), the result lifted (needs realloc).
  bool need_memory = sig.params_need_memory || sig.result_needs_memory || sig.params_spilled ||
                     sig.result_spilled;
  bool need_realloc = lift ? (sig.params_need_memory || sig.params_spilled)
                           : sig.result_needs_memory;
  if (need_memory && !o.memory) {
    return OffsetError(off, "canonical option `memory` is required");
  }
  if (need_realloc && !o.realloc) {
    return OffsetError(off, "canonical option `realloc` is required");
  }
  return Status::Ok();
}

Status Decoder::ReadCanon(Reader& r, uint32_t def, Canon* out) {
  size_t off = r.pos();
  uint8_t op;
  ARCELLA_RETURN_IF_ERROR(r.Byte(&op));
  Scope& s = scope();
  switch (op) {
    case 0x00: {  // lift
      uint8_t sort;
      ARCELLA_RETURN_IF_ERROR(r.Byte(&sort));
      if (sort != 0x00) return OffsetError(off + 1, "invalid leading byte for canon lift");
      size_t foff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&out->func));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(foff, Sort::kCoreFunc, out->func));
      ARCELLA_RETURN_IF_ERROR(ReadCanonOpts(r, &out->opts));
      size_t toff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&out->type));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(toff, Sort::kType, out->type));
      const TypeDef& t = *s.space(Sort::kType)[out->type].type.type;
      if (t.kind != TypeDef::Kind::kFunc) {
        return OffsetError(toff,
                           "type index " + std::to_string(out->type) + " is not a function type");
      }
      out->kind = Canon::Kind::kLift;
      out->func_type = t.func;
      ARCELLA_RETURN_IF_ERROR(CheckCanonOpts(off, *out, *t.func, true));
      FlatSig sig = FlattenFuncType(*t.func, true);
      const engine::FuncType& core = s.space(Sort::kCoreFunc)[out->func].core.func;
      if (!(core.params == sig.type.params)) {
        return OffsetError(off, "lowered parameter types `" + Sig({sig.type.params, {}}) +
                                    "` do not match parameter types `" + Sig({core.params, {}}) +
                                    "` of core function " + std::to_string(out->func));
      }
      if (!(core.results == sig.type.results)) {
        return OffsetError(off, "lowered result types `" + Sig({{}, sig.type.results}) +
                                    "` do not match result types `" + Sig({{}, core.results}) +
                                    "` of core function " + std::to_string(out->func));
      }
      out->core_type = core;
      Item it;
      it.origin = DefKind::kCanon;
      it.def = def;
      it.type.sort = Sort::kFunc;
      it.type.func = t.func;
      s.space(Sort::kFunc).push_back(std::move(it));
      break;
    }
    case 0x01: {  // lower
      uint8_t sort;
      ARCELLA_RETURN_IF_ERROR(r.Byte(&sort));
      if (sort != 0x00) return OffsetError(off + 1, "invalid leading byte for canon lower");
      size_t foff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&out->func));
      ARCELLA_RETURN_IF_ERROR(CheckIndex(foff, Sort::kFunc, out->func));
      ARCELLA_RETURN_IF_ERROR(ReadCanonOpts(r, &out->opts));
      out->kind = Canon::Kind::kLower;
      out->func_type = s.space(Sort::kFunc)[out->func].type.func;
      ARCELLA_RETURN_IF_ERROR(CheckCanonOpts(off, *out, *out->func_type, false));
      out->core_type = FlattenFuncType(*out->func_type, false).type;
      Item it;
      it.origin = DefKind::kCanon;
      it.def = def;
      it.core.kind = engine::ExternKind::kFunc;
      it.core.func = out->core_type;
      s.space(Sort::kCoreFunc).push_back(std::move(it));
      break;
    }
    case 0x02:
    case 0x03:
    case 0x04: {  // resource.new / drop / rep
      size_t toff = r.pos();
      ARCELLA_RETURN_IF_ERROR(r.U32(&out->type));
      ARCELLA_RETURN_IF_ERROR(ResourceOf(toff, out->type, &out->resource));
      out->kind = op == 0x02   ? Canon::Kind::kResourceNew
                  : op == 0x03 ? Canon::Kind::kResourceDrop
                               : Canon::Kind::kResourceRep;
      if (op != 0x03 && s.local_resources.count(out->resource.get()) == 0) {
        return OffsetError(toff,
                           "type index " + std::to_string(out->type) + " is not a local resource");
      }
      using engine::ValType;
      if (op == 0x02) out->core_type = {{ValType::kI32}, {ValType::kI32}};
      if (op == 0x03) out->core_type = {{ValType::kI32}, {}};
      if (op == 0x04) out->core_type = {{ValType::kI32}, {ValType::kI32}};
      Item it;
      it.origin = DefKind::kCanon;
      it.def = def;
      it.core.kind = engine::ExternKind::kFunc;
      it.core.func = out->core_type;
      s.space(Sort::kCoreFunc).push_back(std::move(it));
      break;
    }
    default: {
      const char* name = AsyncBuiltinName(op);
      if (name != nullptr) {
        // Malformed immediates are reported as such before the refusal.
        bool leading_bool = op == 0x06 || op == 0x0c || op == 0x20 || op == 0x21 ||
                            (op >= 0x29 && op <= 0x2d) || (op >= 0x40 && op <= 0x42);
        bool typed_bool = op == 0x11 || op == 0x12 || op == 0x18 || op == 0x19;
        if (leading_bool || typed_bool) {
          uint32_t ignored;
          if (typed_bool) ARCELLA_RETURN_IF_ERROR(r.U32(&ignored));
          size_t boff = r.pos();
          uint8_t b;
          ARCELLA_RETURN_IF_ERROR(r.Byte(&b));
          if (b > 1) return OffsetError(boff, "invalid boolean value");
        }
        return OffsetUnsupported(off,
                                 std::string("the `") + name + "` built-in (async, WASI 0.3) is");
      }
      return OffsetError(off, "invalid leading byte (" + HexByte(op) + ") for canonical function");
    }
  }
  return Status::Ok();
}

}  // namespace arcella::component::decoding
