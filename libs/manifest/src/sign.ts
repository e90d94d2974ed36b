// SHA256SUMS.gpg: an armored detached signature over exactly the serialized bytes. systemd-sysupdate 254 (via
// systemd-pull) hands the file to `gpg --verify`, which reads armored as well as binary; verified in
// libs/manifest/test/sysupdate-consumer.test.ts.
import { signBytes, type SigningKey } from '@alloy-sysext/signing';

export async function signManifest(text: string, key: SigningKey): Promise<string> {
  return signBytes(new TextEncoder().encode(text), key);
}
