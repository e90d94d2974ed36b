// @alloy-sysext/signing: OpenPGP keys and detached signatures that gpg 2.2, sqop and systemd-sysupdate accept.
export { SigningKey, loadPrivateKey, readPublicKey, type PublicKeyInfo } from './key.js';
export { signFile, signBytes, writeSignature } from './sign.js';
export { verifyDetached, signatureIssuedBy, type VerifyOptions } from './verify.js';
export { signCleartext, unverifiedCleartext, verifyCleartext } from './cleartext.js';
export { generateKey, parseIdentity, KEY_FILES, type GeneratedKey } from './generate.js';
export { SIGNATURE_HASH } from './policy.js';
export { readKeyring, armorPublicKeys, armoredBlocks, type KeyringKey } from './keyring.js';
