// One udev device as a plain JavaScript object. No interpretation: strings as libudev returns them,
// null where libudev has nothing; TypeScript (src/ldm/udev-device.ts) gives them types.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

struct udev_device;

namespace loam {

// { syspath, sysname, devnode, devtype, subsystem, action, major, minor, seqnum, initialized,
//   properties: { NAME: value }, sysattrs: { name: value | null } }. The sysattrs listed are read from
// sysfs now; for a `remove` event they are all null because the device's sysfs folder is gone (and a
// new device of the same name may already own it).
Napi::Object DeviceToObject(Napi::Env env, struct udev_device* device, const std::vector<std::string>& sysattrs);

}  // namespace loam
