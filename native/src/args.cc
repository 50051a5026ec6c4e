#include "args.h"

#include "errors.h"

namespace loam {

namespace {

const char* TypeName(const Napi::Value& value) {
  if (value.IsArray()) return "an array";
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "a bigint";
  }
  return "an unknown value";
}

Napi::Value Arg(const Napi::CallbackInfo& info, size_t index) {
  return index < info.Length() ? info[index] : info.Env().Undefined();
}

bool Fail(const Napi::CallbackInfo& info, const char* name, const char* expected, const Napi::Value& got) {
  ThrowTypeError(info.Env(), std::string("argument '") + name + "' must be " + expected + ", got " + TypeName(got));
  return false;
}

}  // namespace

bool ReadString(const Napi::CallbackInfo& info, size_t index, const char* name, std::string* out) {
  Napi::Value value = Arg(info, index);
  if (!value.IsString()) return Fail(info, name, "a string", value);
  *out = value.As<Napi::String>().Utf8Value();
  return true;
}

bool ReadOptionalString(const Napi::CallbackInfo& info, size_t index, const char* name,
                        std::optional<std::string>* out) {
  Napi::Value value = Arg(info, index);
  if (value.IsUndefined() || value.IsNull()) {
    out->reset();
    return true;
  }
  if (!value.IsString()) return Fail(info, name, "a string or null", value);
  *out = value.As<Napi::String>().Utf8Value();
  return true;
}

bool ReadStringArray(const Napi::CallbackInfo& info, size_t index, const char* name,
                     std::vector<std::string>* out) {
  Napi::Value value = Arg(info, index);
  if (!value.IsArray()) return Fail(info, name, "an array of strings", value);
  Napi::Array array = value.As<Napi::Array>();
  out->clear();
  out->reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) {
      std::string element = std::string(name) + "[" + std::to_string(i) + "]";
      return Fail(info, element.c_str(), "a string", item);
    }
    out->push_back(item.As<Napi::String>().Utf8Value());
  }
  return true;
}

bool ReadFunction(const Napi::CallbackInfo& info, size_t index, const char* name, Napi::Function* out) {
  Napi::Value value = Arg(info, index);
  if (!value.IsFunction()) return Fail(info, name, "a function", value);
  *out = value.As<Napi::Function>();
  return true;
}

}  // namespace loam
