// A udev monitor: a netlink socket polled with uv_poll in the owning environment's own event loop
// (no thread, no lock). JavaScript drives it:
//   new Monitor(source: 'udev' | 'kernel', subsystem: string | null, sysattrs: string[],
//               receiveBufferBytes?: number)
//   start(onEvent: (error: Error | null, device: RawDevice | null) => void)  opens the socket
//   stop()                                                                  closes it; idempotent
//   ref() / unref()          whether an active monitor keeps the event loop (and process) alive
// While started, the JavaScript object and onEvent are held strongly; once stopped, nothing native
// keeps them, so a dropped monitor is garbage-collected.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct udev_monitor;

namespace loam {

class Monitor : public Napi::ObjectWrap<Monitor> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit Monitor(const Napi::CallbackInfo& info);
  ~Monitor() override;

 private:
  // The poll handle and the socket it watches. Lives on the heap until libuv's close callback,
  // which may come after the Monitor is gone.
  struct Poller {
    uv_poll_t handle;
    udev_monitor* socket = nullptr;
    Monitor* owner = nullptr;  // null once the monitor stopped: late readiness is ignored
  };

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value KeepAlive(const Napi::CallbackInfo& info);
  Napi::Value LetExit(const Napi::CallbackInfo& info);
  Napi::Value IsActive(const Napi::CallbackInfo& info);

  udev_monitor* OpenSocket(Napi::Env env);
  void ReadAvailable(Poller* poller);
  void RecoverFromSocketError(Poller* poller);
  // Calls onEvent(error, device); false when JavaScript can no longer run in this environment.
  bool Deliver(Napi::Value error, Napi::Value device);
  bool Call(Napi::Object receiver, Napi::Function listener, Napi::Value error, Napi::Value device);
  void ClosePoller();
  void StopPolling();

  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnClosed(uv_handle_t* handle);
  static void OnEnvironmentTeardown(void* arg);

  std::string source_;
  std::optional<std::string> subsystem_;
  std::vector<std::string> sysattrs_;
  // Asked of the kernel so that bursts (hundreds of devices at boot or on a storage shelf) do not
  // overflow the socket; the kernel doubles it for its bookkeeping.
  int receiveBufferBytes_ = 16 * 1024 * 1024;
  bool keepAlive_ = true;
  Poller* poller_ = nullptr;
  Napi::FunctionReference onEvent_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace loam
