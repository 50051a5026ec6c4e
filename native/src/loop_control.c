// loop_control(request: 'add' | 'remove' | 'get-free', index: number): number
// The /dev/loop-control ioctls, for tests and benchmarks: they make the kernel create and delete loop
// block devices, which is how the host produces real `add` and `remove` uevents without udevd.
// Not used by Loam itself.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static napi_value throw_type_error(napi_env env, const char* message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char* what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, text, error, number;
  const char* name = strerrorname_np(err);
  napi_create_string_utf8(env, name != NULL ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

static napi_value loop_control(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);

  char request_name[16] = "";
  size_t length = 0;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_string) return throw_type_error(env, "argument 'request' must be 'add', 'remove' or 'get-free'");
  napi_get_value_string_utf8(env, argv[0], request_name, sizeof request_name, &length);
  unsigned long request;
  if (strcmp(request_name, "add") == 0) request = LOOP_CTL_ADD;
  else if (strcmp(request_name, "remove") == 0) request = LOOP_CTL_REMOVE;
  else if (strcmp(request_name, "get-free") == 0) request = LOOP_CTL_GET_FREE;
  else return throw_type_error(env, "argument 'request' must be 'add', 'remove' or 'get-free'");

  int32_t index = 0;
  type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  if (request != LOOP_CTL_GET_FREE) {
    if (type != napi_number) return throw_type_error(env, "argument 'index' must be a number");
    napi_get_value_int32(env, argv[1], &index);
    if (index < 0) return throw_type_error(env, "argument 'index' must not be negative");
  }

  int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open /dev/loop-control");
  int result = ioctl(fd, request, index);
  int err = errno;
  close(fd);
  if (result < 0) return throw_errno(env, err, request_name);

  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "loopControl", NAPI_AUTO_LENGTH, loop_control, NULL, &fn);
  napi_set_named_property(env, exports, "loopControl", fn);
  return exports;
}
