import ssh2 from 'ssh2';

export interface GeneratedKey {
  /** OpenSSH private key text. */
  private: string;
  /** `ssh-ed25519 AAAA... [comment]` */
  public: string;
}

/**
 * ssh2 1.17's `generateKeyPairSync('ed25519')` drops a leading zero byte of the public key
 * about once in 200 keys; OpenSSH then refuses the file ("error in libcrypto"). Such keys are
 * recognised by their 31-byte key field and generated again, so throwaway keys are always valid.
 */
export function generateEd25519Key(comment?: string): GeneratedKey {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    const blob = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64');
    const typeLength = blob.readUInt32BE(0);
    if (blob.readUInt32BE(4 + typeLength) === 32) return { private: pair.private, public: pair.public.trim() };
  }
}
