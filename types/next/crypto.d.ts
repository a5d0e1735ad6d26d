/**
 * Branch wp-crypto ("Web platform, second wave"): crypto.subtle in full on the host's WebCrypto
 * (RSA, ECDSA, ECDH, Ed25519, X25519, AES, HKDF, PBKDF2, HMAC; jwk/spki/pkcs8/raw), CryptoKey as a
 * lazy global of its own (chunk "subtle"). Referenced from index.d.ts once that branch is merged;
 * the method signatures on main already take every algorithm, so this adds the parameter shapes.
 */

interface RsaHashedImportParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
}
interface RsaHashedKeyGenParams extends Algorithm {
  modulusLength: number;
  publicExponent: Uint8Array;
  hash: HashAlgorithmIdentifier;
}
interface RsaPssParams extends Algorithm {
  saltLength: number;
}
interface RsaOaepParams extends Algorithm {
  label?: BufferSource;
}
interface EcKeyImportParams extends Algorithm {
  namedCurve: string;
}
interface EcKeyGenParams extends Algorithm {
  namedCurve: string;
}
interface EcdsaParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
}
interface EcdhKeyDeriveParams extends Algorithm {
  public: CryptoKey;
}
interface AesKeyGenParams extends Algorithm {
  length: number;
}
interface AesGcmParams extends Algorithm {
  iv: BufferSource;
  additionalData?: BufferSource;
  tagLength?: number;
}
interface AesCbcParams extends Algorithm {
  iv: BufferSource;
}
interface AesCtrParams extends Algorithm {
  counter: BufferSource;
  length: number;
}
interface AesDerivedKeyParams extends Algorithm {
  length: number;
}
interface HkdfParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
  info: BufferSource;
  salt: BufferSource;
}
interface Pbkdf2Params extends Algorithm {
  hash: HashAlgorithmIdentifier;
  iterations: number;
  salt: BufferSource;
}
interface HmacKeyGenParams extends Algorithm {
  hash: HashAlgorithmIdentifier;
  length?: number;
}
