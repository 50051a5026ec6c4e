/**
 * The webhook's serving certificate, read from its files and read again when they change, so a
 * rotated certificate (cert-manager, a renewed Secret) is served without a restart.
 *
 * A cheap periodic stat, not fs.watch: a Secret volume swaps a `..data` symlink to a new folder,
 * which a watch on the file does not see, while stat (following links) sees a new inode at once.
 * A new pair is used only once it loads as a matching cert and key: a rotation caught half-way (the
 * cert written, the key not yet) keeps the old pair and is tried again at the next tick.
 */
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { componentLogger } from '../common/logger.js';

const log = componentLogger('scheduler-webhook');

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

/** Where the webhook's serving certificate comes from: files (ReloadingCertificate) or made in memory (SelfSignedCertificate). */
export interface CertificateSource {
  /** The pair to start serving with; throws when there is none. */
  load(): Promise<KeyPair>;
  /** Calls `use` with each new pair from now on. */
  watch(use: (pair: KeyPair) => void): void;
  stop(): Promise<void>;
}

export class ReloadingCertificate implements CertificateSource {
  private loaded = '';
  private refused = '';
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(private readonly files: CertificateFiles, private readonly intervalMs = 10_000) {}

  /** Reads the pair; throws when it cannot be read or is not a matching pair (a server must not start without one). */
  async load(): Promise<KeyPair> {
    const version = await this.version();
    const pair = await this.read();
    this.loaded = version;
    return pair;
  }

  /** Calls `use` with each new pair the files hold from now on. */
  watch(use: (pair: KeyPair) => void): void {
    this.timer = setInterval(() => {
      this.checking ??= this.check(use).finally(() => (this.checking = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private async check(use: (pair: KeyPair) => void): Promise<void> {
    let version: string | undefined;
    try {
      version = await this.version();
      if (version === this.loaded || version === this.refused) return;
      use(await this.read());
    } catch (err) {
      // Once per version of the files: the next change is tried again, an unchanged bad pair is not logged again.
      const failed = version ?? 'unreadable';
      if (failed !== this.refused) log.warn('the webhook certificate files changed but cannot be used yet; still serving the previous certificate', { ...this.files, error: (err as Error).message });
      this.refused = failed;
      return;
    }
    this.loaded = version;
    this.refused = '';
    log.info('webhook certificate reloaded', this.files);
  }

  private async read(): Promise<KeyPair> {
    const [cert, key] = await Promise.all([readFile(this.files.certFile), readFile(this.files.keyFile)]);
    // Throws on a cert and key that do not belong together, before any connection is served with them.
    createSecureContext({ cert, key });
    return { cert, key };
  }

  /** Identity and change time of both files, through symlinks. */
  private async version(): Promise<string> {
    const [c, k] = await Promise.all([stat(this.files.certFile), stat(this.files.keyFile)]);
    return `${c.dev}:${c.ino}:${c.size}:${c.mtimeMs}/${k.dev}:${k.ino}:${k.size}:${k.mtimeMs}`;
  }
}
