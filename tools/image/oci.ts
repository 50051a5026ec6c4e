/**
 * Writes an OCI image layout (image-spec v1.1) from gzip'd layer tars: the blobs named by their
 * sha256, the image config (entry points, environment, labels, diff ids), the manifest, index.json
 * and oci-layout. It is only JSON and hashes, so it is done here rather than with another tool; every
 * field is derived from the arguments, so the same layers and arguments give the same bytes.
 *
 * Usage: tsx tools/image/oci.ts <layout dir> <spec.json>, where spec.json is an {@link ImageSpec}.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export interface LayerSpec {
  /** A gzip'd tar (or a plain one when `gzip` is false). */
  file: string;
  /**
   * False for an uncompressed tar: containerd then unpacks it without gunzip, which is what costs
   * most when a TCG guest imports an image (the test images of tools/testenv/images.ts). Default true.
   */
  gzip?: boolean;
  /** What made it, for the config's history. */
  createdBy: string;
}

export interface ImageSpec {
  /** Full reference the image is imported under, e.g. `loam.io/loam:0.1.0`. */
  name: string;
  /** Image creation time, seconds since the epoch (SOURCE_DATE_EPOCH). */
  epoch: number;
  layers: LayerSpec[];
  /** The config's Entrypoint, for images whose users pass only arguments (CSI sidecars). */
  entrypoint?: string[];
  env: string[];
  cmd: string[];
  workingDir: string;
  labels: Record<string, string>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const layerMediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const plainLayerMediaType = 'application/vnd.oci.image.layer.v1.tar';
const configMediaType = 'application/vnd.oci.image.config.v1+json';
const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json';

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The digest and size of a gzip'd layer, and its diff id (the digest of the tar inside; for a plain tar, its digest). */
export async function hashLayer(file: string, gzip = true): Promise<{ digest: string; size: number; diffId: string }> {
  const compressed = createHash('sha256');
  const uncompressed = createHash('sha256');
  let size = 0;
  const source = createReadStream(file);
  source.on('data', (chunk: Buffer | string) => {
    compressed.update(chunk);
    size += chunk.length;
  });
  if (!gzip) {
    await finished(source);
    const digest = `sha256:${compressed.digest('hex')}`;
    return { digest, size, diffId: digest };
  }
  const gunzip = createGunzip();
  gunzip.on('data', (chunk: Buffer) => uncompressed.update(chunk));
  await pipeline(source, gunzip);
  return { digest: `sha256:${compressed.digest('hex')}`, size, diffId: `sha256:${uncompressed.digest('hex')}` };
}

async function writeBlob(layout: string, data: string): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  await writeFile(path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return { digest, size: Buffer.byteLength(data) };
}

/** Writes the layout of `spec` into `layout` (which should be empty) and returns the manifest's descriptor. */
export async function writeLayout(layout: string, spec: ImageSpec): Promise<Descriptor> {
  await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const created = new Date(spec.epoch * 1000).toISOString().replace('.000Z', 'Z');
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layer of spec.layers) {
    const { digest, size, diffId } = await hashLayer(layer.file, layer.gzip ?? true);
    await copyFile(layer.file, path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    layers.push({ mediaType: layer.gzip === false ? plainLayerMediaType : layerMediaType, digest, size });
    diffIds.push(diffId);
  }
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}), Env: spec.env, Cmd: spec.cmd, WorkingDir: spec.workingDir, Labels: spec.labels },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.layers.map((layer) => ({ created, created_by: layer.createdBy })),
  };
  const configBlob = await writeBlob(layout, `${JSON.stringify(config, null, 2)}\n`);
  const manifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: configMediaType, ...configBlob },
    layers,
    annotations: { 'org.opencontainers.image.created': created },
  };
  const manifestBlob = await writeBlob(layout, `${JSON.stringify(manifest, null, 2)}\n`);
  const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
  const descriptor: Descriptor = {
    mediaType: manifestMediaType,
    ...manifestBlob,
    // containerd (ctr import) and docker load name the image after io.containerd.image.name; skopeo
    // and other OCI tools read the tag from org.opencontainers.image.ref.name.
    annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
  };
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [descriptor] };
  await writeFile(path.join(layout, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  await writeFile(path.join(layout, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  return descriptor;
}

async function main(): Promise<void> {
  const [layout, specFile] = process.argv.slice(2);
  if (!layout || !specFile) throw new Error('usage: tsx tools/image/oci.ts <layout dir> <spec.json>');
  const spec = JSON.parse(await readFile(specFile, 'utf8')) as ImageSpec;
  const descriptor = await writeLayout(layout, spec);
  process.stdout.write(`${descriptor.digest}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
