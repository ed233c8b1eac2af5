// libFuzzer target for component values in MessagePack
// (src/alme/val_msgpack.cc). The first byte picks one of a fixed set of types
// covering every value kind; the rest is read as MessagePack (nlohmann's
// reader, no exceptions). DecodeVal must never throw or crash; it either
// refuses with a non-empty "value..." message or returns a value that matches
// the type, encodes (EncodeVal), survives MessagePack bytes and decodes to an
// equal value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "alme/val_msgpack.h"

using arcella::alme::DecodeVal;
using arcella::alme::EncodeVal;
using arcella::alme::Json;
using arcella::component::ResourceType;
using arcella::component::TypeRef;
using arcella::component::ValueType;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

std::vector<TypeRef> Types() {
  auto res = std::make_shared<ResourceType>(ResourceType{"file"});
  TypeRef point = ValueType::Record({{"x", ValueType::S32()}, {"y", ValueType::F64()}});
  TypeRef shape = ValueType::Variant(
      {{"none", nullptr}, {"circle", ValueType::F32()}, {"poly", ValueType::List(point)}});
  return {
      ValueType::Record({{"name", ValueType::String()},
                         {"tags", ValueType::List(ValueType::U8())},
                         {"c", ValueType::Char()},
                         {"b", ValueType::Bool()}}),
      ValueType::Tuple({ValueType::S8(), ValueType::U16(), ValueType::S64(), ValueType::U64()}),
      ValueType::List(shape),
      ValueType::Option(ValueType::Option(ValueType::Enum({"red", "green", "blue"}))),
      ValueType::Result(ValueType::Flags({"read", "write", "exec"}), ValueType::String()),
      ValueType::Result(nullptr, nullptr),
      ValueType::FixedList(ValueType::U8(), 4),
      ValueType::List(ValueType::List(ValueType::Option(ValueType::U32()))),
      ValueType::Own(res),
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<TypeRef> kTypes = Types();
  if (size == 0) return 0;
  const TypeRef& t = kTypes[data[0] % kTypes.size()];
  bool handles = (data[0] / kTypes.size()) % 2 == 1;
  Json j = Json::from_msgpack(data + 1, data + size, true, false);
  if (j.is_discarded()) return 0;
  auto v = DecodeVal(j, *t, "value", {.accept_handles = handles});
  if (!v.ok()) {
    Check(v.status().message().rfind("value", 0) == 0);
    return 0;
  }
  auto back = EncodeVal(*v, *t);
  Check(back.ok());
  std::vector<uint8_t> bytes = Json::to_msgpack(*back);
  auto again = DecodeVal(Json::from_msgpack(bytes), *t, "value", {.accept_handles = true});
  Check(again.ok());
  Check(arcella::component::ValEquals(*v, *again));
  return 0;
}
