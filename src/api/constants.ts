/** Names every part of Loam shares (design §2): API group, kinds, finalizer, labels. */

export const group = 'loam.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** URL plurals of the six kinds, e.g. `/apis/loam.io/v1alpha1/localdisks`. */
export const plurals = {
  localDisks: 'localdisks',
  localDiskClaims: 'localdiskclaims',
  localDiskNodes: 'localdisknodes',
  localStorageNodes: 'localstoragenodes',
  localVolumes: 'localvolumes',
  localVolumeReplicas: 'localvolumereplicas',
} as const;

/** Kept on objects whose teardown has work to do on a node (an LV to remove, a disk to release). */
export const finalizer = 'loam.io/protect';

export const labels = {
  /** The node an object belongs to, so node agents can watch only their own objects. */
  node: 'loam.io/node',
  /** The LocalVolume a replica belongs to. */
  volume: 'loam.io/volume',
  /** The media class of a pool or volume: HDD, SSD or NVMe. */
  poolClass: 'loam.io/pool-class',
} as const;

/** Owner a claim gets when it names none: Loam's own Local Storage pools. */
export const localStorageOwner = 'local-storage';

export const mediaClasses = ['HDD', 'SSD', 'NVMe'] as const;
/** Loam's LVM volume groups, one per media class (design §2): the only VGs Loam makes LVs in. */
export const volumeGroupNames = ['loam-hdd', 'loam-ssd', 'loam-nvme'] as const;
export const localDiskStates = ['Available', 'Claimed', 'InUse', 'Unavailable', 'Offline'] as const;
export const diskHealthValues = ['Healthy', 'Warning', 'Failing', 'Unknown'] as const;
export const claimPhases = ['Pending', 'Bound'] as const;
export const storageNodeStates = ['Ready', 'NotReady'] as const;
export const volumeStates = ['Pending', 'Creating', 'Ready', 'Degraded', 'Expanding', 'Deleting', 'Failed'] as const;
export const replicaStates = ['Creating', 'Ready', 'Expanding', 'Deleting', 'Failed'] as const;
