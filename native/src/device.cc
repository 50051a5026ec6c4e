#include "device.h"

#include <libudev.h>
#include <sys/sysmacros.h>

#include <cstring>

namespace loam {

namespace {

Napi::Value StringOrNull(Napi::Env env, const char* value) {
  return value == nullptr ? env.Null() : Napi::String::New(env, value);
}

}  // namespace

Napi::Object DeviceToObject(Napi::Env env, udev_device* device, const std::vector<std::string>& sysattrs) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("syspath", StringOrNull(env, udev_device_get_syspath(device)));
  object.Set("sysname", StringOrNull(env, udev_device_get_sysname(device)));
  object.Set("devnode", StringOrNull(env, udev_device_get_devnode(device)));
  object.Set("devtype", StringOrNull(env, udev_device_get_devtype(device)));
  object.Set("subsystem", StringOrNull(env, udev_device_get_subsystem(device)));
  const char* action = udev_device_get_action(device);
  object.Set("action", StringOrNull(env, action));

  dev_t devnum = udev_device_get_devnum(device);
  bool hasDevnum = devnum != makedev(0, 0);
  object.Set("major", hasDevnum ? Napi::Value(Napi::Number::New(env, major(devnum))) : env.Null());
  object.Set("minor", hasDevnum ? Napi::Value(Napi::Number::New(env, minor(devnum))) : env.Null());

  // Sequence numbers are 64-bit but stay far below 2^53 in practice; 0 means "not from an event".
  unsigned long long seqnum = udev_device_get_seqnum(device);
  object.Set("seqnum", seqnum == 0 ? env.Null() : Napi::Value(Napi::Number::New(env, static_cast<double>(seqnum))));
  object.Set("initialized", Napi::Boolean::New(env, udev_device_get_is_initialized(device) > 0));

  Napi::Object properties = Napi::Object::New(env);
  udev_list_entry* entry;
  udev_list_entry_foreach(entry, udev_device_get_properties_list_entry(device)) {
    const char* value = udev_list_entry_get_value(entry);
    properties.Set(udev_list_entry_get_name(entry), Napi::String::New(env, value == nullptr ? "" : value));
  }
  object.Set("properties", properties);

  bool removed = action != nullptr && std::strcmp(action, "remove") == 0;
  Napi::Object attributes = Napi::Object::New(env);
  for (const std::string& name : sysattrs) {
    const char* value = removed ? nullptr : udev_device_get_sysattr_value(device, name.c_str());
    attributes.Set(name, StringOrNull(env, value));
  }
  object.Set("sysattrs", attributes);
  return object;
}

}  // namespace loam
