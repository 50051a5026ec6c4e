// JavaScript errors built from errno values: message with the errno text, plus `code` (e.g. "EMFILE")
// and `errno` properties, like Node's own system errors.
#pragma once

#include <napi.h>

#include <string>

namespace loam {

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what);
void ThrowErrno(Napi::Env env, int err, const std::string& what);
void ThrowTypeError(Napi::Env env, const std::string& message);

}  // namespace loam
