/** The six kinds, in the order they are generated and documented. */
import type { KindDefinition } from '../schema.js';
import { localDisk } from './local-disk.js';
import { localDiskClaim } from './local-disk-claim.js';
import { localDiskNode } from './local-disk-node.js';
import { localStorageNode } from './local-storage-node.js';
import { localVolume } from './local-volume.js';
import { localVolumeReplica } from './local-volume-replica.js';

export { localDisk, localDiskClaim, localDiskNode, localStorageNode, localVolume, localVolumeReplica };

export const allKinds: readonly KindDefinition[] = [localDisk, localDiskClaim, localDiskNode, localStorageNode, localVolume, localVolumeReplica];
