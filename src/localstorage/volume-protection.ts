/**
 * PersistentVolume protection for LocalVolumes, pure: a LocalVolume is not finalized (its replicas
 * and LVs are not removed) while a PersistentVolume of driver lvm.loam.io still needs it, as
 * `kubernetes.io/pv-protection` keeps a PV while a claim is bound to it. So `kubectl delete lv`
 * (or `--all`) leaves the volume Terminating and its data in place, with a status message and an
 * event saying why; it completes by itself once the PV lets go.
 *
 * A PV lets go when Kubernetes itself deletes the volume: reclaim policy Delete and phase Released
 * (the claim is gone; external-provisioner then calls DeleteVolume) or Failed (a failed reclaim).
 * Every other PV holds: Bound, Available or Pending are in use or usable, and a Released PV with
 * reclaim policy Retain is data an administrator asked to keep (deleting that PV lets go).
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';

/** The CSI driver whose PVs name LocalVolumes in spec.csi.volumeHandle. */
const driverName = 'lvm.loam.io';

/** The LocalVolume a PV names (spec.csi.volumeHandle), for PVs of Loam's driver only. */
export function persistentVolumeHandle(pv: V1PersistentVolume): string | undefined {
  const csi = pv.spec?.csi;
  return csi?.driver === driverName && csi.volumeHandle ? csi.volumeHandle : undefined;
}

function letsGo(pv: V1PersistentVolume): boolean {
  const phase = pv.status?.phase;
  return pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && (phase === 'Released' || phase === 'Failed');
}

/** Why the LocalVolume's deletion must wait for one of `pvs` (the PVs naming it), or undefined when none needs it. */
export function deletionHeldBy(pvs: readonly V1PersistentVolume[]): string | undefined {
  const holding = pvs.find((pv) => !letsGo(pv));
  if (!holding) return undefined;
  const phase = holding.status?.phase ?? 'no phase yet';
  const claim = holding.spec?.claimRef ? `, claim ${holding.spec.claimRef.namespace}/${holding.spec.claimRef.name}` : '';
  const retained = phase === 'Released' || phase === 'Failed';
  const todo = retained
    ? `its reclaim policy ${holding.spec?.persistentVolumeReclaimPolicy ?? 'Retain'}: delete the PersistentVolume when the data is no longer needed`
    : 'delete the PersistentVolumeClaim (and, with reclaim policy Retain, the PersistentVolume) when the data is no longer needed';
  return `PersistentVolume ${holding.metadata?.name} (${phase}${claim}) still uses this volume: Loam keeps the volume and its data until Kubernetes releases it. `
    + `The deletion completes by itself then; ${todo}`;
}
