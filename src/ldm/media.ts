/** Media class of a disk (design §3): NVMe by transport, else HDD when rotational, else SSD. */
import type { MediaClass } from '../api/index.js';
import type { BlockDevice } from './udev-types.js';

export function mediaClass(dev: Pick<BlockDevice, 'sysname' | 'rotational' | 'properties'>, transport?: string): MediaClass {
  if (transport === 'nvme' || dev.properties.ID_BUS === 'nvme' || /^nvme\d/.test(dev.sysname)) return 'NVMe';
  return dev.rotational ? 'HDD' : 'SSD';
}
