#pragma once

#include <napi.h>

namespace loam {

// enumerate(subsystem: string | null, sysattrs: string[]): RawDevice[] — every device of the
// subsystem known to sysfs (all devices when subsystem is null), each read as DeviceToObject does.
Napi::Value Enumerate(const Napi::CallbackInfo& info);

}  // namespace loam
