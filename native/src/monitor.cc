#include "monitor.h"

#include <libudev.h>

#include <sys/socket.h>

#include <cerrno>

#include "addon.h"
#include "args.h"
#include "device.h"
#include "errors.h"

namespace loam {

namespace {

// Devices read per readiness callback; the poll is level-triggered, so whatever is left is read on
// the next turn of the loop instead of starving timers and I/O during a burst.
constexpr int kMaxDevicesPerWakeup = 256;

// False while the environment is stopping (a worker being terminated): every call into JavaScript
// would fail then. Setting a property is a Node-API call that checks exactly that.
bool CanRunJavaScript(napi_env env) {
  napi_value object;
  napi_value value;
  if (napi_create_object(env, &object) != napi_ok || napi_get_undefined(env, &value) != napi_ok) return false;
  return napi_set_named_property(env, object, "probe", value) == napi_ok;
}

}  // namespace

Napi::Function Monitor::Define(Napi::Env env) {
  return DefineClass(env, "Monitor",
                     {
                         InstanceMethod<&Monitor::Start>("start"),
                         InstanceMethod<&Monitor::Stop>("stop"),
                         InstanceMethod<&Monitor::KeepAlive>("ref"),
                         InstanceMethod<&Monitor::LetExit>("unref"),
                         InstanceAccessor<&Monitor::IsActive>("active"),
                     });
}

Monitor::Monitor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Monitor>(info) {
  Napi::Env env = info.Env();
  if (!ReadString(info, 0, "source", &source_)) return;
  if (source_ != "udev" && source_ != "kernel") {
    ThrowTypeError(env, "argument 'source' must be 'udev' or 'kernel', got '" + source_ + "'");
    return;
  }
  if (!ReadOptionalString(info, 1, "subsystem", &subsystem_)) return;
  if (!ReadStringArray(info, 2, "sysattrs", &sysattrs_)) return;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    Napi::Value size = info[3];
    double bytes = size.IsNumber() ? size.As<Napi::Number>().DoubleValue() : 0;
    if (!size.IsNumber() || bytes < 1 || bytes > 0x7fffffff || bytes != static_cast<int>(bytes)) {
      ThrowTypeError(env, "argument 'receiveBufferBytes' must be an integer from 1 to 2^31-1");
      return;
    }
    receiveBufferBytes_ = static_cast<int>(bytes);
  }
  asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "LoamUdevMonitor", info.This().As<Napi::Object>());
}

Monitor::~Monitor() {
  // Normally stopped already (a started monitor is held strongly); this covers environment teardown.
  if (poller_ != nullptr) {
    ClosePoller();
    napi_remove_env_cleanup_hook(Env(), OnEnvironmentTeardown, this);
  }
}

udev_monitor* Monitor::OpenSocket(Napi::Env env) {
  UdevAddon* addon = UdevAddon::From(env);
  if (addon == nullptr) return nullptr;
  udev_monitor* socket = udev_monitor_new_from_netlink(addon->Context(), source_.c_str());
  if (socket == nullptr) {
    int err = errno;  // read before anything else can change it
    ThrowErrno(env, err, "cannot open the " + source_ + " uevent netlink socket");
    return nullptr;
  }
  int r = 0;
  if (subsystem_) r = udev_monitor_filter_add_match_subsystem_devtype(socket, subsystem_->c_str(), nullptr);
  if (r < 0) {
    udev_monitor_unref(socket);
    ThrowErrno(env, -r, "cannot filter the uevent socket by subsystem '" + *subsystem_ + "'");
    return nullptr;
  }
  // Best effort: beyond net.core.rmem_max only with CAP_NET_ADMIN.
  udev_monitor_set_receive_buffer_size(socket, receiveBufferBytes_);
  r = udev_monitor_enable_receiving(socket);
  if (r < 0) {
    udev_monitor_unref(socket);
    ThrowErrno(env, -r, "cannot bind the " + source_ + " uevent netlink socket");
    return nullptr;
  }
  return socket;
}

Napi::Value Monitor::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function onEvent;
  if (!ReadFunction(info, 0, "onEvent", &onEvent)) return env.Undefined();
  if (poller_ != nullptr) return env.Undefined();

  udev_monitor* socket = OpenSocket(env);
  if (socket == nullptr) return env.Undefined();

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    udev_monitor_unref(socket);
    Napi::Error::New(env, "cannot get the event loop of this environment").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* poller = new Poller();
  poller->socket = socket;
  poller->handle.data = poller;
  int r = uv_poll_init(loop, &poller->handle, udev_monitor_get_fd(socket));
  if (r < 0) {
    udev_monitor_unref(socket);
    delete poller;
    Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(r)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  r = uv_poll_start(&poller->handle, UV_READABLE, OnReadable);
  if (r < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&poller->handle), OnClosed);
    Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!keepAlive_) uv_unref(reinterpret_cast<uv_handle_t*>(&poller->handle));

  poller->owner = this;
  poller_ = poller;
  onEvent_ = Napi::Persistent(onEvent);
  napi_add_env_cleanup_hook(env, OnEnvironmentTeardown, this);
  Ref();  // keep this object alive while events can arrive
  return env.Undefined();
}

Napi::Value Monitor::Stop(const Napi::CallbackInfo& info) {
  StopPolling();
  return info.Env().Undefined();
}

void Monitor::StopPolling() {
  if (poller_ == nullptr) return;
  ClosePoller();
  napi_remove_env_cleanup_hook(Env(), OnEnvironmentTeardown, this);
  onEvent_.Reset();
  Unref();
}

void Monitor::ClosePoller() {
  Poller* poller = poller_;
  poller_ = nullptr;
  poller->owner = nullptr;
  uv_poll_stop(&poller->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&poller->handle), OnClosed);
}

Napi::Value Monitor::KeepAlive(const Napi::CallbackInfo& info) {
  keepAlive_ = true;
  if (poller_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&poller_->handle));
  return info.This();
}

Napi::Value Monitor::LetExit(const Napi::CallbackInfo& info) {
  keepAlive_ = false;
  if (poller_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&poller_->handle));
  return info.This();
}

Napi::Value Monitor::IsActive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), poller_ != nullptr);
}

void Monitor::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* poller = static_cast<Poller*>(handle->data);
  Monitor* self = poller->owner;
  if (self == nullptr) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  if (!CanRunJavaScript(env)) {
    // Stop watching so a level-triggered poll cannot spin; the teardown hook closes the socket.
    uv_poll_stop(handle);
    return;
  }
  if (status < 0) {
    self->RecoverFromSocketError(poller);
    return;
  }
  self->ReadAvailable(poller);
}

void Monitor::RecoverFromSocketError(Poller* poller) {
  // libuv stops a poll handle when the socket signals POLLERR. On a uevent socket that means a
  // pending socket error, normally ENOBUFS: the receive buffer overflowed and the kernel dropped
  // events. Taking the error clears it; then JavaScript hears of the loss (to resync) and polling
  // resumes. Any other error ends the monitor, since polling again would only fail again.
  Napi::Env env = Env();
  int err = 0;
  socklen_t length = sizeof err;
  if (getsockopt(udev_monitor_get_fd(poller->socket), SOL_SOCKET, SO_ERROR, &err, &length) < 0) err = errno;
  if (err == ENOBUFS) {
    if (!Deliver(ErrnoError(env, err, "uevents lost: the " + source_ + " uevent socket overflowed").Value(), env.Null())) return;
    if (poller->owner != this) return;  // stopped by a listener
    uv_poll_start(&poller->handle, UV_READABLE, OnReadable);
    ReadAvailable(poller);
    return;
  }
  Napi::Error error = err != 0 ? ErrnoError(env, err, "the " + source_ + " uevent socket failed; monitor stopped")
                               : Napi::Error::New(env, "polling the " + source_ + " uevent socket failed; monitor stopped");
  if (err == 0) error.Set("code", Napi::String::New(env, "EIO"));
  // Stopped before JavaScript hears of it, so that the monitor already reads as inactive there.
  Napi::Object receiver = Value();
  Napi::Function listener = onEvent_.Value();
  StopPolling();
  Call(receiver, listener, error.Value(), env.Null());
}

void Monitor::ReadAvailable(Poller* poller) {
  Napi::Env env = Env();
  for (int i = 0; i < kMaxDevicesPerWakeup && poller->owner == this; ++i) {
    Napi::HandleScope scope(env);
    errno = 0;
    udev_device* device = udev_monitor_receive_device(poller->socket);
    if (device == nullptr) {
      int err = errno;
      if (err == 0 || err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return;
      // ENOBUFS: the kernel dropped uevents because the socket was full. Reported so that JavaScript
      // can resync; later events are still queued and reading goes on.
      std::string what = err == ENOBUFS ? "uevents lost: the " + source_ + " uevent socket overflowed"
                                        : "receiving from the " + source_ + " uevent socket";
      if (!Deliver(ErrnoError(env, err, what).Value(), env.Null()) || err != ENOBUFS) return;
      continue;
    }
    Napi::Object object = DeviceToObject(env, device, sysattrs_);
    udev_device_unref(device);
    if (!Deliver(env.Null(), object)) return;
  }
}

bool Monitor::Deliver(Napi::Value error, Napi::Value device) {
  return Call(Value(), onEvent_.Value(), error, device);
}

bool Monitor::Call(Napi::Object receiver, Napi::Function listener, Napi::Value error, Napi::Value device) {
  Napi::Env env = Env();
  napi_value argv[] = {error, device};
  napi_value result;
  // MakeCallback enters JavaScript with this monitor's async context and runs microtasks after it.
  // Called through the C API: node-addon-api's wrapper would turn a failure into a fatal error.
  napi_status status = napi_make_callback(env, *asyncContext_, receiver, listener, 2, argv, &result);
  if (status == napi_ok) return true;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    // A listener threw: report it like any uncaught exception instead of leaving it pending here.
    napi_value thrown;
    napi_get_and_clear_last_exception(env, &thrown);
    napi_fatal_exception(env, thrown);
    return true;
  }
  // No exception and no call: the environment can no longer run JavaScript (a worker being
  // terminated). Nothing to deliver to; the teardown hook closes the socket.
  return false;
}

void Monitor::OnClosed(uv_handle_t* handle) {
  auto* poller = static_cast<Poller*>(handle->data);
  udev_monitor_unref(poller->socket);
  delete poller;
}

void Monitor::OnEnvironmentTeardown(void* arg) {
  // The environment is going away (process exit or worker termination): release the poll handle so
  // its loop can close. JavaScript can no longer run, so the references are left to Node-API.
  auto* self = static_cast<Monitor*>(arg);
  if (self->poller_ != nullptr) self->ClosePoller();
}

}  // namespace loam
