import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { THROWAWAY_EC_KEY, openssl } from '../openssl.js';

export interface SelfSignedCert {
  key: string;
  cert: string;
  /** SHA-256, colon-separated upper-case hex (the format `pvenode cert info` prints). */
  fingerprint: string;
}

/**
 * A throwaway certificate shaped like a PVE node certificate (leaf only, no chain), generated
 * with the openssl CLI because Node has no API to create X.509 certificates. Nothing is
 * cached: every simulator start gets a new key, so a stale pin fails like on a renewed node.
 */
export async function generateSelfSignedCert(nodeName: string): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'proxflare-pve-sim-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await openssl(
      [
        'req',
        '-x509',
        ...THROWAWAY_EC_KEY,
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-subj',
        `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${nodeName}.sim`,
        '-addext',
        `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:${nodeName}`,
      ],
      "the simulator's TLS certificate",
      'install openssl or start the simulator with http: true',
    );
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    return { key, cert, fingerprint: new X509Certificate(cert).fingerprint256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
