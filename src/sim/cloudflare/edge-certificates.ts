import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { THROWAWAY_EC_KEY, openssl } from '../openssl.js';

/**
 * The certificates the simulated edge serves, as Universal SSL issues them: one per zone,
 * covering the apex and `*.<zone>`, so `a.example.com` is covered and `a.b.example.com` is not
 * ("Universal certificates only cover the apex and one level of subdomain", cloudflare-docs
 * ssl/edge-certificates/universal-ssl/limitations). They are signed by a CA of the simulator's own
 * (a visitor's browser trusts Cloudflare's CAs; the checks here trust `caPem`), each made when its
 * zone is first asked for.
 */
export class EdgeCertificates {
  readonly #zones = new Map<string, Promise<SecureContext>>();

  private constructor(
    private readonly dir: string,
    readonly caPem: string,
  ) {}

  static async create(): Promise<EdgeCertificates> {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-cf-edge-'));
    try {
      await make([
        'req',
        '-x509',
        ...THROWAWAY_EC_KEY,
        '-keyout',
        join(dir, 'ca.key'),
        '-out',
        join(dir, 'ca.pem'),
        '-subj',
        '/O=proxflare simulator/CN=simulated Cloudflare edge CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ]);
      return new EdgeCertificates(dir, await readFile(join(dir, 'ca.pem'), 'utf8'));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The TLS context of a zone's certificate: the apex and one level below it. */
  forZone(zone: string): Promise<SecureContext> {
    let context = this.#zones.get(zone);
    if (!context) {
      context = this.#issue(zone);
      this.#zones.set(zone, context);
    }
    return context;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async #issue(zone: string): Promise<SecureContext> {
    const key = join(this.dir, `${zone}.key`);
    const cert = join(this.dir, `${zone}.pem`);
    await make([
      'req',
      '-x509',
      '-CA',
      join(this.dir, 'ca.pem'),
      '-CAkey',
      join(this.dir, 'ca.key'),
      ...THROWAWAY_EC_KEY,
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${zone}`,
      '-addext',
      `subjectAltName=DNS:${zone},DNS:*.${zone}`,
    ]);
    const [keyPem, certPem] = await Promise.all([readFile(key, 'utf8'), readFile(cert, 'utf8')]);
    return createSecureContext({ key: keyPem, cert: certPem });
  }
}

function make(args: string[]): Promise<void> {
  return openssl(args, "the simulated edge's certificates", 'install openssl');
}
