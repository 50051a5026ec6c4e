#include "enumerate.h"

#include <libudev.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "device.h"
#include "errors.h"

namespace loam {

namespace {

// Owns a udev_enumerate for the length of one call.
struct EnumerateHandle {
  udev_enumerate* value;
  ~EnumerateHandle() {
    if (value != nullptr) udev_enumerate_unref(value);
  }
};

}  // namespace

Napi::Value Enumerate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::optional<std::string> subsystem;
  std::vector<std::string> sysattrs;
  if (!ReadOptionalString(info, 0, "subsystem", &subsystem)) return env.Undefined();
  if (!ReadStringArray(info, 1, "sysattrs", &sysattrs)) return env.Undefined();
  UdevAddon* addon = UdevAddon::From(env);
  if (addon == nullptr) return env.Undefined();

  EnumerateHandle enumerate{udev_enumerate_new(addon->Context())};
  if (enumerate.value == nullptr) {
    int err = errno;  // read before anything else can change it
    ThrowErrno(env, err, "udev_enumerate_new");
    return env.Undefined();
  }
  if (subsystem) {
    int r = udev_enumerate_add_match_subsystem(enumerate.value, subsystem->c_str());
    if (r < 0) {
      ThrowErrno(env, -r, "udev_enumerate_add_match_subsystem(" + *subsystem + ")");
      return env.Undefined();
    }
  }
  int r = udev_enumerate_scan_devices(enumerate.value);
  if (r < 0) {
    ThrowErrno(env, -r, "udev_enumerate_scan_devices");
    return env.Undefined();
  }

  Napi::Array devices = Napi::Array::New(env);
  uint32_t count = 0;
  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate.value)) {
    udev_device* device = udev_device_new_from_syspath(addon->Context(), udev_list_entry_get_name(entry));
    // A device can vanish between the scan and this read; it is simply no longer there.
    if (device == nullptr) continue;
    devices.Set(count++, DeviceToObject(env, device, sysattrs));
    udev_device_unref(device);
  }
  return devices;
}

}  // namespace loam
