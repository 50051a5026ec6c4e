#include "addon.h"

#include <libudev.h>

#include <cerrno>

#include "enumerate.h"
#include "errors.h"
#include "monitor.h"

namespace loam {

UdevAddon::UdevAddon(Napi::Env env, Napi::Object exports) {
  udev_ = udev_new();
  if (udev_ == nullptr) {
    int err = errno;  // read before anything else can change it
    // Loading fails with a JavaScript Error rather than leaving a half-usable module behind.
    ThrowErrno(env, err, "cannot create a libudev context");
    return;
  }
  exports.Set("enumerate", Napi::Function::New(env, Enumerate, "enumerate"));
  exports.Set("Monitor", Monitor::Define(env));
}

UdevAddon::~UdevAddon() {
  if (udev_ != nullptr) udev_unref(udev_);
}

UdevAddon* UdevAddon::From(Napi::Env env) {
  UdevAddon* addon = env.GetInstanceData<UdevAddon>();
  if (addon == nullptr || addon->udev_ == nullptr) {
    Napi::Error::New(env, "the loam_udev addon is not initialised").ThrowAsJavaScriptException();
    return nullptr;
  }
  return addon;
}

}  // namespace loam

// The macro pastes the class name into identifiers, so it needs an unqualified name.
using loam::UdevAddon;
NODE_API_ADDON(UdevAddon)
