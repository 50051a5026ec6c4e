// Argument checks for the functions the addon exports. Each returns false after throwing a
// TypeError that names the argument, so callers simply return.
#pragma once

#include <napi.h>

#include <optional>
#include <string>
#include <vector>

namespace loam {

bool ReadString(const Napi::CallbackInfo& info, size_t index, const char* name, std::string* out);
// undefined and null read as "no value".
bool ReadOptionalString(const Napi::CallbackInfo& info, size_t index, const char* name,
                        std::optional<std::string>* out);
bool ReadStringArray(const Napi::CallbackInfo& info, size_t index, const char* name,
                     std::vector<std::string>* out);
bool ReadFunction(const Napi::CallbackInfo& info, size_t index, const char* name, Napi::Function* out);

}  // namespace loam
