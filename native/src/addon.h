// Per-environment state of the loam_udev addon. Each Node environment (the main thread and every
// worker thread) loads its own instance, so nothing here is shared between threads.
#pragma once

#include <napi.h>

struct udev;

namespace loam {

class UdevAddon : public Napi::Addon<UdevAddon> {
 public:
  UdevAddon(Napi::Env env, Napi::Object exports);
  ~UdevAddon();

  // The libudev context of this environment; never null once the addon is loaded.
  struct udev* Context() const { return udev_; }

  // Returns the addon of env, or throws a JavaScript Error and returns null if loading failed.
  static UdevAddon* From(Napi::Env env);

 private:
  struct udev* udev_ = nullptr;
};

}  // namespace loam
