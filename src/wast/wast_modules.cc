#include "wast/wast_modules.h"

#include <memory>

#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/resolve-names.h"
#include "wabt/stream.h"
#include "wabt/validator.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"

namespace arcella::wast {
namespace {

std::string FirstError(const wabt::Errors& errors, const char* fallback) {
  if (errors.empty()) return fallback;
  return errors.front().message;
}

// Parses module text; on success `*out` holds the (unresolved) IR.
std::string ParseText(std::string_view text, std::string_view filename, bool multi_memory,
                      std::unique_ptr<wabt::Module>* out) {
  wabt::Errors errors;
  auto lexer = wabt::WastLexer::CreateBufferLexer(filename, text.data(), text.size(), &errors);
  wabt::WastParseOptions options(TextFeatures(multi_memory));
  if (wabt::Failed(wabt::ParseWatModule(lexer.get(), out, &errors, &options)) || !*out) {
    return "text: " + FirstError(errors, "parse error");
  }
  return {};
}

}  // namespace

wabt::Features TextFeatures(bool multi_memory) {
  wabt::Features features;       // defaults: WebAssembly 2.0 (incl. SIMD)
  features.enable_exceptions();  // the proposals the interpreter tier runs
  features.enable_tail_call();
  if (multi_memory) features.enable_multi_memory();
  return features;
}

ModuleBytes EncodeTextModule(wabt::Module* module, bool multi_memory) {
  ModuleBytes out;
  wabt::Errors errors;
  if (wabt::Failed(wabt::ResolveNamesModule(module, &errors))) {
    out.rejected = "names: " + FirstError(errors, "unresolved name");
    return out;
  }
  const wabt::Features features = TextFeatures(multi_memory);
  wabt::ValidateOptions vopts(features);
  if (wabt::Failed(wabt::ValidateModule(module, &errors, vopts))) {
    out.rejected = "validation: " + FirstError(errors, "invalid module");
    return out;
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions wopts(features, /*canonicalize_lebs=*/true, /*relocatable=*/false,
                                 /*write_debug_names=*/false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, module, wopts))) {
    out.rejected = "encoding failed";
    return out;
  }
  out.wasm = std::move(stream.output_buffer().data);
  return out;
}

Result<std::vector<uint8_t>> WatToWasm(std::string_view wat, std::string_view filename,
                                       bool multi_memory) {
  std::unique_ptr<wabt::Module> module;
  std::string err = ParseText(wat, filename, multi_memory, &module);
  if (!err.empty()) return Status::InvalidArgument(std::string(filename) + ": " + err);
  ModuleBytes bytes = EncodeTextModule(module.get(), multi_memory);
  if (!bytes.ok()) return Status::InvalidArgument(std::string(filename) + ": " + bytes.rejected);
  return std::move(bytes.wasm);
}

ModuleBytes ScriptModuleBytes(wabt::ScriptModule* script_module, bool multi_memory) {
  ModuleBytes out;
  switch (script_module->type()) {
    case wabt::ScriptModuleType::Text:
      return EncodeTextModule(&wabt::cast<wabt::TextScriptModule>(script_module)->module,
                              multi_memory);
    case wabt::ScriptModuleType::Binary:
      out.wasm = wabt::cast<wabt::BinaryScriptModule>(script_module)->data;
      return out;
    case wabt::ScriptModuleType::Quoted: {
      const auto& data = wabt::cast<wabt::QuotedScriptModule>(script_module)->data;
      std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
      std::unique_ptr<wabt::Module> module;
      out.rejected = ParseText(text, "<quote>", multi_memory, &module);
      if (!out.ok()) return out;
      return EncodeTextModule(module.get(), multi_memory);
    }
  }
  out.rejected = "unknown script module kind";
  return out;
}

}  // namespace arcella::wast
