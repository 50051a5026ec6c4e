# Two addons: loam_udev (block device enumeration and uevent monitoring through libudev) and
# loam_loop_control (the /dev/loop-control ioctls, used only by tests and benchmarks to make the
# kernel add and remove loop nodes). Built by native/build.mjs against the Node headers on the machine;
# loam_loop_control only when build.mjs says so (LOAM_TEST_ADDONS=1: a development install), so a
# production install neither builds nor ships a test tool.
{
  'variables': {
    'loam_test_addons%': '<!(node -p "process.env.LOAM_TEST_ADDONS === \'1\' ? 1 : 0")',
  },
  'targets': [
    {
      'target_name': 'loam_udev',
      'sources': [
        'src/addon.cc',
        'src/args.cc',
        'src/device.cc',
        'src/enumerate.cc',
        'src/errors.cc',
        'src/monitor.cc',
      ],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      # A worker being terminated cannot run JavaScript; node-addon-api must then not turn a failed
      # call into a fatal error (the addon notices and stops delivering instead).
      'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'],
      'cflags_cc': ['-Wall', '-Wextra', '-Wno-unused-parameter'],
      'libraries': ['-ludev'],
    },
  ],
  'conditions': [
    ['loam_test_addons==1', {
      'targets': [
        {
          'target_name': 'loam_loop_control',
          'sources': ['src/loop_control.c'],
          'defines': ['NAPI_VERSION=8'],
          'cflags': ['-Wall', '-Wextra'],
        },
      ],
    }],
  ],
}
